/**
 * A progress bar on a terminal's status line: drawn only when the program's stderr is a terminal
 * (the caller passes `status` only then) and only once the work has taken more than a second, so
 * quick runs and pipes stay quiet. The clock is injected so tests need no timing.
 */

/** Where a progress bar draws: `status(text)` redraws one line in place ("" clears it). */
export interface StatusLine {
  status(text: string): void;
  now(): number;
}

/** Show the bar after this many milliseconds. */
export const PROGRESS_DELAY_MS = 1000;
const BAR = 24;

/** A running progress bar. */
export interface Progress {
  /** `done` of `total` steps finished; `what` is the step now running. */
  step(done: number, what: string): void;
  /** Clear the line (if it was drawn). */
  finish(): void;
}

/** The bar's text: `label [#########...............] 9/24 SoftPool`. */
export function progressText(label: string, done: number, total: number, what: string): string {
  const filled = total > 0 ? Math.round((BAR * done) / total) : BAR;
  return `${label} [${"#".repeat(filled)}${".".repeat(BAR - filled)}] ${done}/${total}${what ? ` ${what}` : ""}`;
}

/** A bar for `total` steps; a no-op when `line` is undefined (stderr is not a terminal). */
export function progressBar(line: StatusLine | undefined, label: string, total: number): Progress {
  if (!line) return { step: () => undefined, finish: () => undefined };
  const start = line.now();
  let shown = false;
  return {
    step(done, what) {
      if (!shown && line.now() - start <= PROGRESS_DELAY_MS) return;
      shown = true;
      line.status(progressText(label, done, total, what));
    },
    finish() {
      if (shown) line.status("");
    },
  };
}
