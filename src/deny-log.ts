/**
 * The log of /check denials, bounded twice: every client-controlled field is cut to a few hundred
 * characters, and past LOG_DENY_RATE lines a second the rest are counted by code and reported in one
 * summary line per second. A flood of bad requests then costs a handful of log lines, not a line per
 * request; the metrics still count every deny.
 */
import { ownFieldsLogger, type Logger } from './logging.js';

/** Longest client-controlled string a deny line carries (URI, method, request id). */
export const LOGGED_FIELD_MAX = 256;

/** How often suppressed denials are summarised. */
const SUMMARY_INTERVAL_MS = 1000;

/** `text` as it is when short, else its first LOGGED_FIELD_MAX characters and how many were cut. */
export function clip(text: string): string {
  return text.length <= LOGGED_FIELD_MAX ? text : `${text.slice(0, LOGGED_FIELD_MAX)}…[+${text.length - LOGGED_FIELD_MAX} chars]`;
}

export interface DenyLog {
  /**
   * Logs one denial, or counts it into the next summary when the rate is spent. `describe` gives the
   * line's fields, each bounded with {@link clip}; it is called only for lines that are written, so a
   * suppressed denial reads nothing from its request. `cause`, an unexpected error, makes an error line.
   */
  deny(code: string, describe: () => Readonly<Record<string, unknown>>, cause?: unknown): void;
  /** Writes the pending summary, if any, and stops its timer. */
  close(): void;
}

/** `ratePerSecond` 0 logs every denial. */
export function createDenyLog(logger: Logger, ratePerSecond: number): DenyLog {
  // Plain deny lines carry only fields built here (codes, bounded strings), never a request's
  // headers. Error lines carry an unexpected error and keep the whole redaction.
  const plain = ownFieldsLogger(logger);
  // A token bucket that holds one second's worth of lines: a burst is logged whole up to the rate.
  let tokens = ratePerSecond;
  let refilledAt = performance.now();
  const suppressed = new Map<string, number>();
  let summaryTimer: NodeJS.Timeout | undefined;

  const take = (): boolean => {
    if (ratePerSecond === 0) return true;
    const now = performance.now();
    tokens = Math.min(ratePerSecond, tokens + ((now - refilledAt) * ratePerSecond) / 1000);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens--;
    return true;
  };

  const summarise = (): void => {
    summaryTimer = undefined;
    if (suppressed.size === 0) return;
    let total = 0;
    for (const count of suppressed.values()) total += count;
    logger.warn({ event: 'check', result: 'suppressed', suppressed: Object.fromEntries(suppressed), total, rate: ratePerSecond }, 'deny log lines suppressed');
    suppressed.clear();
  };

  return {
    deny(code, describe, cause) {
      if (cause === undefined && !logger.isLevelEnabled('info')) return;
      if (!take()) {
        suppressed.set(code, (suppressed.get(code) ?? 0) + 1);
        if (summaryTimer === undefined) {
          summaryTimer = setTimeout(summarise, SUMMARY_INTERVAL_MS);
          // A pending summary never keeps the process alive; close() writes it on shutdown.
          summaryTimer.unref();
        }
        return;
      }
      if (cause !== undefined) logger.error({ event: 'check', result: 'deny', code, ...describe(), err: cause }, 'check failed unexpectedly');
      else {
        const line = { event: 'check', result: 'deny', code, ...describe() };
        plain.info(line, line.result === 'deny' ? 'denied' : 'refused');
      }
    },
    close() {
      clearTimeout(summaryTimer);
      summarise();
    },
  };
}
