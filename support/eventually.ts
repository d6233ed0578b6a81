/**
 * Waiting for something that happens in the background (a reload, a fetch, a propagation): polls
 * until `check` returns a value other than undefined, bounded by `timeoutMs`. A correctness bound,
 * never a speed measurement: a timeout fails the test with what was seen last.
 */
import { setTimeout as delay } from 'node:timers/promises';

export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${String(lastError)}`}`);
    await delay(intervalMs);
  }
}
