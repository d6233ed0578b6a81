/**
 * Where refresh tokens are recorded: in memory by default, in Redis with REDIS_URL (shared by every
 * instance and worker). A refresh token is never stored, only its SHA-256; its family is the login's
 * session (sid), and a family is one record: the session's claims and every token hash it issued,
 * each marked used or not. A family lives until its session's end and is then forgotten.
 *
 * `rotate` is the one operation that matters and it is atomic in both stores: of two redemptions of
 * one token, exactly one finds it unused and rotates; the other finds it used, which is reuse, and
 * revokes the whole family (the next token the first one got included).
 */
import type { Session } from '../token/sign.js';

/** What a family records: whom its tokens are for and what they carry. */
export interface RefreshRecord {
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly session: Required<Session>;
}

export type Rotation =
  /** The token was unused: it is now used, the next one is recorded, and this is the family's record. */
  | { readonly kind: 'rotated'; readonly record: RefreshRecord }
  /** The token was used already: the family is revoked. */
  | { readonly kind: 'reused' }
  /** Unknown, expired, or of a revoked or ended family. */
  | { readonly kind: 'invalid' };

export interface RefreshStore {
  /**
   * Records a family's first token. @throws an error when it cannot be recorded (the caller
   * then issues no refresh token).
   */
  start(family: string, hash: string, expiresAtMs: number, record: RefreshRecord): Promise<void>;
  /** Redeems `hash` and records `nextHash` in its place, atomically. @throws when the store cannot answer. */
  rotate(family: string, hash: string, nextHash: string, nextExpiresAtMs: number, nowMs: number): Promise<Rotation>;
  close(): void;
}

interface MemoryFamily {
  readonly record: RefreshRecord;
  readonly endsAtMs: number;
  /** hash → used, and when the token expires. */
  readonly tokens: Map<string, { used: boolean; readonly expiresAtMs: number }>;
}

/** How often ended families are swept out of memory. */
const SWEEP_MS = 60_000;

/** One process's store: atomic because a rotation runs to its end without yielding. */
export function createMemoryRefreshStore(now: () => number = Date.now): RefreshStore {
  const families = new Map<string, MemoryFamily>();
  const sweep = setInterval(() => {
    const at = now();
    for (const [family, entry] of families) if (entry.endsAtMs <= at) families.delete(family);
  }, SWEEP_MS);
  sweep.unref();
  return {
    async start(family, hash, expiresAtMs, record) {
      families.set(family, { record, endsAtMs: record.session.endsAt * 1000, tokens: new Map([[hash, { used: false, expiresAtMs }]]) });
    },
    async rotate(family, hash, nextHash, nextExpiresAtMs, nowMs) {
      const entry = families.get(family);
      if (entry === undefined || entry.endsAtMs <= nowMs) return { kind: 'invalid' };
      const token = entry.tokens.get(hash);
      if (token === undefined) return { kind: 'invalid' };
      if (token.used) {
        families.delete(family);
        return { kind: 'reused' };
      }
      if (token.expiresAtMs <= nowMs) return { kind: 'invalid' };
      token.used = true;
      entry.tokens.set(nextHash, { used: false, expiresAtMs: nextExpiresAtMs });
      return { kind: 'rotated', record: entry.record };
    },
    close: () => clearInterval(sweep),
  };
}
