/**
 * Waiting for a condition without timing anything: poll until it holds, fail with what was awaited
 * after a generous bound (machines running other suites at once are slow, never wrong).
 */
export async function waitUntil(condition: () => boolean, what: string, { timeoutMs = 15_000, intervalMs = 5 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The asynchronous form: polls `probe` (a request, say) until `done` holds for what it returned, and
 * returns that; on timeout fails with the last value seen.
 */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  { timeoutMs = 15_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
