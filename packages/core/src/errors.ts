/**
 * Errors are data: a stable `code` callers branch on, a message for people, optional
 * structured `details`. Messages never carry key material.
 */
export class QledgerError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QledgerError';
    this.code = code;
    this.details = details === undefined ? undefined : Object.freeze({ ...details });
  }
}

/** True when `e` is a QledgerError with the given code. */
export function hasCode(e: unknown, code: string): e is QledgerError {
  return e instanceof QledgerError && e.code === code;
}
