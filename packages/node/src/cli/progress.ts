/**
 * A progress bar on stderr, shown only when stderr is a terminal (never in --json mode or
 * when piped), redrawn at most ten times a second.
 */
export class Progress {
  private last = 0;
  private readonly on: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    quiet = false,
  ) {
    this.on = !quiet && process.stderr.isTTY === true && total > 0;
  }

  update(done: number): void {
    if (!this.on) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = Math.min(1, done / this.total);
    const width = 30;
    const fill = Math.round(frac * width);
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${this.total}`,
    );
  }

  done(): void {
    if (this.on) process.stderr.write('\n');
  }
}
