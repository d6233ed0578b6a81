/** Time for the remote key set: the wall clock and unref'd timers, or a test's manual clock (support/clock.ts). */
export interface Clock {
  now(): number;
  /** Runs `run` after `ms`; returns the way to cancel it. Must not keep the process alive. */
  setTimeout(run: () => void, ms: number): () => void;
}

/** setTimeout's largest delay; a longer one would fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(run, ms) {
    const timer = setTimeout(run, Math.min(Math.max(0, ms), MAX_DELAY_MS));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
