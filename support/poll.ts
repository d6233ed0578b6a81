/**
 * Waiting for a condition instead of for a time: polls until it holds, within a bound that only
 * decides when to give up. Returns how long it took, for the few requirements that are a bound
 * themselves (a revocation reaches every instance within 1 s).
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface PollOptions {
  /** Give up after this long (a failure naming `what`). */
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** What was awaited, for the failure message. */
  readonly what: string;
}

/** Milliseconds from the call until `condition` first resolved true. */
export async function pollUntil(condition: () => Promise<boolean> | boolean, { timeoutMs, intervalMs = 10, what }: PollOptions): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await condition()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(intervalMs);
  }
}
