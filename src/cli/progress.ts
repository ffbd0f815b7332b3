/**
 * The progress bar of `beepbox measure`: drawn on stderr, and only when both stdout and stderr
 * are terminals, so a redirected summary (`> summary.json`), a pipe, a log file or CI output
 * never receives carriage returns or escape codes. The line itself is a pure function (unit-tested).
 */

/** Redraws at most this often; a CV streams ~2800 rows/s and a terminal does not need each one. */
const REDRAW_INTERVAL_MS = 100;
const MIN_BAR_WIDTH = 10;
const MAX_BAR_WIDTH = 40;
/** Erase the whole line and return to its start (ECMA-48 EL 2 after CR). */
const CLEAR_LINE = '\r\x1b[2K';

/** Seconds left at the rate seen so far; null before the first row (nothing to extrapolate from). */
export function estimateRemainingS(done: number, total: number, elapsedS: number): number | null {
  if (done <= 0 || elapsedS <= 0) return null;
  return (Math.max(0, total - done) * elapsedS) / done;
}

/** `0:07`, `12:30`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * One line, at most `columns - 1` characters (a line filling the last column wraps on some
 * terminals): `CV [########--------]  45%  5000/11107  ETA 0:12`.
 */
export function formatProgressLine(label: string, done: number, total: number, remaining: number | null, columns: number): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  const eta = remaining === null ? 'ETA --:--' : `ETA ${formatDuration(remaining)}`;
  const tail = ` ${pct}  ${done}/${total}  ${eta}`;
  const width = Math.min(MAX_BAR_WIDTH, columns - 1 - label.length - 3 - tail.length);
  if (width < MIN_BAR_WIDTH) return `${label}${tail}`.slice(0, Math.max(0, columns - 1));
  const filled = Math.round(fraction * width);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${tail}`;
}

/** What `measure` reports to; the quiet one does nothing. */
export interface ProgressReporter {
  update(done: number): void;
  /** Print a message (a warning) without tearing the bar. */
  note(text: string): void;
  /** Remove the bar, leaving the line empty for the summary. */
  finish(): void;
}

interface TerminalStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

/** A pty whose size was never set reports 0 columns; assume the classic 80 then. */
function terminalWidth(out: TerminalStream): number {
  return out.columns !== undefined && out.columns >= 20 ? out.columns : 80;
}

class TerminalProgress implements ProgressReporter {
  /**
   * The rate is measured from the first rows on: the time before them (thread start, port open,
   * device set-up) says nothing about how fast the rest will come.
   */
  private first: { atMs: number; done: number } | null = null;
  private lastDrawAt = -Infinity;
  private done = 0;
  private drawn = false;

  constructor(
    private readonly out: TerminalStream,
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    this.done = done;
    const now = performance.now();
    this.first ??= { atMs: now, done };
    if (now - this.lastDrawAt < REDRAW_INTERVAL_MS && done < this.total) return;
    this.lastDrawAt = now;
    this.draw(now);
  }

  note(text: string): void {
    this.out.write(`${this.drawn ? CLEAR_LINE : ''}${text}\n`);
    if (this.drawn) this.draw(performance.now());
  }

  finish(): void {
    if (this.drawn) this.out.write(CLEAR_LINE);
    this.drawn = false;
  }

  private draw(now: number): void {
    const remaining = this.first === null ? null : estimateRemainingS(this.done - this.first.done, this.total - this.first.done, (now - this.first.atMs) / 1000);
    const line = formatProgressLine(this.label, this.done, this.total, remaining, terminalWidth(this.out));
    this.out.write(`${CLEAR_LINE}${line}`);
    this.drawn = true;
  }
}

class QuietProgress implements ProgressReporter {
  constructor(private readonly out: TerminalStream) {}
  update(): void {}
  note(text: string): void {
    this.out.write(`${text}\n`);
  }
  finish(): void {}
}

/** The bar when stdout and stderr are both terminals and it was not turned off, else quiet. */
export function createProgressReporter(
  label: string,
  total: number,
  options: { enabled: boolean; stdout?: TerminalStream; stderr?: TerminalStream } = { enabled: true },
): ProgressReporter {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  if (options.enabled && stdout.isTTY === true && stderr.isTTY === true) return new TerminalProgress(stderr, label, total);
  return new QuietProgress(stderr);
}
