/** A one-line progress bar on stderr (plain lines when stderr is not a terminal). */
export class Progress {
  readonly #label: string;
  readonly #total: number;
  readonly #started = performance.now();
  #done = 0;
  #lastDraw = 0;
  #lastLoggedPercent = -1;

  constructor(label: string, total: number) {
    this.#label = label;
    this.#total = total;
  }

  tick(count = 1, note = ''): void {
    this.#done += count;
    const now = performance.now();
    if (now - this.#lastDraw < 200 && this.#done < this.#total) return;
    this.#lastDraw = now;
    const fraction = this.#total === 0 ? 1 : this.#done / this.#total;
    const elapsed = (now - this.#started) / 1000;
    const eta = fraction > 0 ? elapsed / fraction - elapsed : 0;
    const text = `${this.#label} ${this.#done}/${this.#total} ${(fraction * 100).toFixed(1)}% ${elapsed.toFixed(0)}s elapsed, ~${eta.toFixed(0)}s left${note ? ` ${note}` : ''}`;
    if (process.stderr.isTTY) {
      const width = 24;
      const filled = Math.round(fraction * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      if (this.#done >= this.#total) process.stderr.write('\n');
    } else {
      const percent = Math.floor(fraction * 10) * 10;
      if (percent !== this.#lastLoggedPercent) {
        this.#lastLoggedPercent = percent;
        process.stderr.write(`${text}\n`);
      }
    }
  }
}
