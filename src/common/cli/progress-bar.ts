/** Where progress goes: a terminal is redrawn in place, anything else (a file, a CI log) gets lines. */
export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const REDRAW_MS = 100;
const LINE_EVERY_MS = 5_000;

/** `[=====>    ]  50% 5000/10000`: the bar fills `width` characters, the label says how far in figures. */
export function renderBar(done: number, total: number, width: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.floor(fraction * width);
  const bar = '='.repeat(filled) + (filled < width ? '>' : '') + ' '.repeat(Math.max(0, width - filled - 1));
  return `[${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${done}/${total}`;
}

/**
 * A self-drawn progress bar: on a terminal one line redrawn with `\r` (at most every 100 ms), otherwise
 * a plain line at the start, at each tenth of the way and at least every 5 s, so logs stay short.
 */
export class ProgressBar {
  private lastDraw = -Infinity;
  private lastTenth = 0;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly label: string,
    private readonly now: () => number = Date.now,
  ) {}

  update(done: number, total: number): void {
    const time = this.now();
    if (this.out.isTTY) {
      if (done < total && time - this.lastDraw < REDRAW_MS) return;
      const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - this.label.length - 30));
      this.out.write(`\r${this.label} ${renderBar(done, total, width)}`);
    } else {
      const tenth = total > 0 ? Math.floor(Math.min(1, done / total) * 10) : 10;
      if (tenth <= this.lastTenth && time - this.lastDraw < LINE_EVERY_MS) return;
      this.lastTenth = tenth;
      const percent = total > 0 ? Math.floor(Math.min(1, done / total) * 100) : 100;
      this.out.write(`${this.label}: ${done}/${total} (${percent}%)\n`);
    }
    this.lastDraw = time;
    this.drawn = true;
  }

  /** Ends the redrawn line so what follows starts on its own. */
  finish(): void {
    if (this.out.isTTY && this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
