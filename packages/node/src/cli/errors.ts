/** A CLI failure: printed as one line on stderr, with the exit code (2: usage, 1: anything else). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}
