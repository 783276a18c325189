/** A small progress bar on stderr: redrawn in place on a TTY, one line per phase step otherwise. */

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  readonly stream?: NodeJS.WriteStream;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly started = performance.now();
  private done = 0;
  private lastDraw = 0;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
  }

  /** Advances by `steps`; `fields` are shown after the bar (e.g. loss, frames/s). */
  tick(steps: number, fields: Record<string, string>): void {
    this.done += steps;
    const now = performance.now();
    if (!this.stream.isTTY || (now - this.lastDraw < 100 && this.done < this.options.total)) return;
    this.lastDraw = now;
    this.stream.write(`\r${this.line(fields)}\u001b[K`);
  }

  /** Ends the bar with a final line (always printed, TTY or not). */
  finish(fields: Record<string, string>): void {
    this.stream.write(`${this.stream.isTTY ? '\r' : ''}${this.line(fields)}${this.stream.isTTY ? '\u001b[K' : ''}\n`);
  }

  private line(fields: Record<string, string>): string {
    const { label, total } = this.options;
    const ratio = total > 0 ? Math.min(1, this.done / total) : 1;
    const width = 24;
    const filled = Math.round(ratio * width);
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = ratio > 0 ? elapsed * (1 / ratio - 1) : 0;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join('  ');
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%  ${extra}  ${elapsed.toFixed(0)}s${ratio < 1 ? ` eta ${eta.toFixed(0)}s` : ''}`;
  }
}
