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
