/**
 * Every error code the REST API answers with, its HTTP status and what it means. The
 * server maps codes to statuses with this table, `docs/api.md` lists it, and a test checks
 * that every code a route declares is here. Ledger admission codes (TX_*, IDENTITY_*, …)
 * are 400s, as is any other code a handler raises (ledger/errors.ts).
 */
export const API_ERRORS = {
  REQUEST_INVALID: {
    status: 400,
    text: 'A body, path parameter or query failed validation; `details.field` names it',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    text: 'The body is not application/json (nor application/cbor, where the route takes it)',
  },
  BODY_TOO_LARGE: { status: 413, text: 'The body is larger than the limit (8 MiB)' },
  UNAUTHORIZED: { status: 401, text: 'A devnet control without a valid admin bearer token' },
  NOT_FOUND: { status: 404, text: 'No such route' },
  TX_NOT_FOUND: {
    status: 404,
    text: 'No transaction with this id is committed, pending or recently rejected',
  },
  BLOCK_NOT_FOUND: { status: 404, text: 'No block at this height or with this hash' },
  IDENTITY_NOT_FOUND: { status: 404, text: 'No identity with this name' },
  DATASET_NOT_FOUND: { status: 404, text: 'No dataset with this id' },
  LINK_NOT_FOUND: { status: 404, text: 'No QKD link with this id (devnet controls)' },
  RATE_LIMITED: {
    status: 429,
    text: 'Too many requests from this client; retry after `retry-after` seconds',
  },
  MEMPOOL_FULL: { status: 503, text: 'The mempool is full; retry later' },
  VERIFY_BUSY: { status: 503, text: 'A chain verification is already running; retry later' },
  UNAVAILABLE: { status: 503, text: 'The validator is not reachable (devnet proxy)' },
  INTERNAL: { status: 500, text: 'An unexpected error; the node logged it' },
} as const satisfies Record<string, { status: number; text: string }>;
export type ApiErrorCode = keyof typeof API_ERRORS;

/** The HTTP status of a coded error: the table above, else 400 (a refused request). */
export function statusOfCode(code: string): number {
  const e = (API_ERRORS as Record<string, { status: number }>)[code];
  if (e) return e.status;
  return 400;
}
