/**
 * A clock a test moves by hand, for code that takes a Clock (src/jwks/clock.ts): timers run only when
 * the test advances past them, so staleness bounds, cooldowns and retries are tested by counts and
 * states, never by how long something took.
 */
import type { Clock } from '../src/jwks/clock.js';

interface Timer {
  readonly at: number;
  readonly run: () => void;
  readonly order: number;
}

export class ManualClock implements Clock {
  private time: number;
  private order = 0;
  private readonly timers = new Set<Timer>();

  constructor(start = 1_750_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): () => void {
    const timer = { at: this.time + Math.max(0, ms), run, order: this.order++ };
    this.timers.add(timer);
    return () => void this.timers.delete(timer);
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer runs, if any. */
  get nextAt(): number | undefined {
    return this.due(Number.POSITIVE_INFINITY)[0]?.at;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (let next = this.due(until)[0]; next !== undefined; next = this.due(until)[0]) {
      this.timers.delete(next);
      this.time = Math.max(this.time, next.at);
      next.run();
    }
    this.time = until;
  }

  /** Moves time to the next timer and runs it (and any due with it); false when none waits. */
  runNext(): boolean {
    const at = this.nextAt;
    if (at === undefined) return false;
    this.advance(at - this.time);
    return true;
  }

  private due(until: number): Timer[] {
    return [...this.timers].filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at || a.order - b.order);
  }
}
