/**
 * The revocations this process knows, in memory, consulted by /check on every allow and by /refresh:
 * Map lookups and no I/O (hand-written because it is the hot path and three Maps are all it is).
 * Entries name the tokens they revoke and leave with them: a token id until that token's exp, a
 * session until it ends, a subject until the last token or session begun before its revocation has
 * ended. So the list is bounded by the tokens alive, not by history.
 */

import type { Config } from '../config/index.js';

/**
 * One revocation: of one token by its `jti`; of a login's session by its `sid` (every token renewed or
 * refreshed from it, and its refresh tokens: a logout); or of every token and session of a subject
 * begun before a moment (a password change, a stolen laptop).
 */
export type Revocation = TokenRevocation | SessionRevocation | SubjectRevocation;
type TokenRevocation = Extract<RevocationKinds, { kind: 'jti' }>;
type SessionRevocation = Extract<RevocationKinds, { kind: 'sid' }>;
type SubjectRevocation = Extract<RevocationKinds, { kind: 'sub' }>;
type RevocationKinds =
  | {
      readonly kind: 'jti';
      readonly jti: string;
      /** When the entry may go (epoch ms): the token's exp plus the clock tolerance. */
      readonly untilMs: number;
    }
  | {
      readonly kind: 'sid';
      readonly sid: string;
      /** When the session has ended for sure: its end, or its last token's exp, plus the clock tolerance. */
      readonly untilMs: number;
    }
  | {
      readonly kind: 'sub';
      readonly sub: string;
      /** Tokens of this subject with `iat` at or before this second are revoked (the same second counts: nothing guessed). */
      readonly issuedUpToSec: number;
      readonly untilMs: number;
    };

/** The claims revocation reads. /refresh passes a session's: its sid, and its login time as `iat`. */
export interface RevocableClaims {
  readonly jti?: unknown;
  readonly sid?: unknown;
  readonly sub?: unknown;
  readonly iat?: unknown;
}

interface SubjectEntry {
  issuedUpToSec: number;
  untilMs: number;
}

/** Keeps `key` until `untilMs` unless it is already kept as long; whether that changed anything. */
function keepLonger(entries: Map<string, number>, key: string, untilMs: number): boolean {
  const known = entries.get(key);
  if (known !== undefined && known >= untilMs) return false;
  entries.set(key, untilMs);
  return true;
}

export class RevocationList {
  readonly #tokens = new Map<string, number>();
  readonly #sessions = new Map<string, number>();
  readonly #subjects = new Map<string, SubjectEntry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The hot path: whether these (verified) claims name a revoked token. */
  isRevoked(claims: RevocableClaims): boolean {
    if (typeof claims.jti === 'string' && this.#tokens.size > 0 && this.#tokens.has(claims.jti)) return true;
    if (typeof claims.sid === 'string' && this.#sessions.size > 0 && this.#sessions.has(claims.sid)) return true;
    if (this.#subjects.size === 0 || typeof claims.sub !== 'string') return false;
    const subject = this.#subjects.get(claims.sub);
    if (subject === undefined) return false;
    // A token without iat could have been issued at any time, so it counts as issued before.
    return typeof claims.iat !== 'number' || claims.iat <= subject.issuedUpToSec;
  }

  /**
   * Adds a revocation (a later subject cut-off or a longer life replaces the earlier one); false when it
   * changed nothing or has already expired.
   */
  add(revocation: Revocation): boolean {
    if (revocation.untilMs <= this.now()) return false;
    if (revocation.kind === 'jti') return keepLonger(this.#tokens, revocation.jti, revocation.untilMs);
    if (revocation.kind === 'sid') return keepLonger(this.#sessions, revocation.sid, revocation.untilMs);
    const known = this.#subjects.get(revocation.sub);
    if (known !== undefined && known.issuedUpToSec >= revocation.issuedUpToSec && known.untilMs >= revocation.untilMs) return false;
    this.#subjects.set(revocation.sub, {
      issuedUpToSec: Math.max(known?.issuedUpToSec ?? 0, revocation.issuedUpToSec),
      untilMs: Math.max(known?.untilMs ?? 0, revocation.untilMs),
    });
    return true;
  }

  /** Removes the entries whose tokens have all expired; returns how many went. */
  sweep(): number {
    const now = this.now();
    let removed = 0;
    for (const [jti, untilMs] of this.#tokens) if (untilMs <= now && this.#tokens.delete(jti)) removed++;
    for (const [sid, untilMs] of this.#sessions) if (untilMs <= now && this.#sessions.delete(sid)) removed++;
    for (const [sub, entry] of this.#subjects) if (entry.untilMs <= now && this.#subjects.delete(sub)) removed++;
    return removed;
  }

  get size(): { readonly jti: number; readonly sid: number; readonly sub: number } {
    return { jti: this.#tokens.size, sid: this.#sessions.size, sub: this.#subjects.size };
  }

  /** Every live entry, for a resync (to write back what a restarted Redis forgot) and a new worker. */
  *entries(): Generator<Revocation> {
    const now = this.now();
    for (const [jti, untilMs] of this.#tokens) if (untilMs > now) yield { kind: 'jti', jti, untilMs };
    for (const [sid, untilMs] of this.#sessions) if (untilMs > now) yield { kind: 'sid', sid, untilMs };
    for (const [sub, { issuedUpToSec, untilMs }] of this.#subjects) if (untilMs > now) yield { kind: 'sub', sub, issuedUpToSec, untilMs };
  }
}

/** A revocation as one string (a Redis sorted-set member, a cluster message); its expiry travels beside it. */
export function encodeRevocation(revocation: Revocation): string {
  switch (revocation.kind) {
    case 'jti':
      return `j:${revocation.jti}`;
    case 'sid':
      return `x:${revocation.sid}`;
    case 'sub':
      return `s:${revocation.issuedUpToSec}:${revocation.sub}`;
  }
}

/** The revocation a member and its expiry name; undefined for anything else (never trusted blindly, even from our own Redis). */
export function decodeRevocation(member: string, untilMs: number): Revocation | undefined {
  if (!Number.isSafeInteger(untilMs) || untilMs <= 0) return undefined;
  if (member.startsWith('j:') && member.length > 2) return { kind: 'jti', jti: member.slice(2), untilMs };
  if (member.startsWith('x:') && member.length > 2) return { kind: 'sid', sid: member.slice(2), untilMs };
  const match = /^s:(\d{1,12}):(.+)$/s.exec(member);
  if (match === null) return undefined;
  return { kind: 'sub', sub: match[2] as string, issuedUpToSec: Number(match[1]), untilMs };
}

/** Whether a value is a Revocation (cluster messages arrive as plain objects). */
export function isRevocation(value: unknown): value is Revocation {
  if (value === null || typeof value !== 'object') return false;
  const entry = value as Record<string, unknown>;
  if (!Number.isSafeInteger(entry.untilMs)) return false;
  if (entry.kind === 'jti') return typeof entry.jti === 'string' && entry.jti !== '';
  if (entry.kind === 'sid') return typeof entry.sid === 'string' && entry.sid !== '';
  return entry.kind === 'sub' && typeof entry.sub === 'string' && entry.sub !== '' && Number.isSafeInteger(entry.issuedUpToSec);
}

/** What entries need to know of the configuration: how long a token and a session can last. */
export interface RevocationLifetimes {
  readonly clockToleranceMs: number;
  readonly maxTokenLifetimeMs: number;
  /** SESSION_MAX_LIFETIME: no renewed token, refreshed token or refresh token outlives its login by more. */
  readonly maxSessionLifetimeMs: number;
}

/**
 * The revocation of one token by its jti, kept until /check would refuse the token anyway (exp plus
 * the clock tolerance); without `expSec`, as long as any token can live. Undefined without a jti.
 */
export function revocationOfToken(jti: unknown, expSec: unknown, lifetimes: RevocationLifetimes, nowMs = Date.now()): TokenRevocation | undefined {
  if (typeof jti !== 'string' || jti === '') return undefined;
  const untilMs = typeof expSec === 'number' && Number.isFinite(expSec) ? Math.ceil(expSec * 1000) : nowMs + lifetimes.maxTokenLifetimeMs;
  return { kind: 'jti', jti, untilMs: untilMs + lifetimes.clockToleranceMs };
}

/** The lifetimes of the service's configuration (/logout and the `revoke` command). */
export function revocationLifetimes(config: {
  readonly jwt: Pick<Config['jwt'], 'clockToleranceMs'>;
  readonly revocation: Config['revocation'];
  readonly session: Pick<Config['session'], 'maxLifetimeMs'>;
}): RevocationLifetimes {
  return {
    clockToleranceMs: config.jwt.clockToleranceMs,
    maxTokenLifetimeMs: config.revocation.maxTokenLifetimeMs,
    maxSessionLifetimeMs: config.session.maxLifetimeMs,
  };
}

/**
 * The revocation of the session a token belongs to (its `sid`), kept until the session has ended: its
 * login (`auth_time`) plus SESSION_MAX_LIFETIME, or the token's own exp if later; without auth_time,
 * as long as any session or token can last. Undefined without a sid.
 */
export function revocationOfSession(
  sid: unknown,
  authTimeSec: unknown,
  expSec: unknown,
  lifetimes: RevocationLifetimes,
  nowMs = Date.now(),
): SessionRevocation | undefined {
  if (typeof sid !== 'string' || sid === '') return undefined;
  const sessionEndMs =
    typeof authTimeSec === 'number' && Number.isFinite(authTimeSec)
      ? Math.ceil(authTimeSec * 1000) + lifetimes.maxSessionLifetimeMs
      : nowMs + Math.max(lifetimes.maxSessionLifetimeMs, lifetimes.maxTokenLifetimeMs);
  const expMs = typeof expSec === 'number' && Number.isFinite(expSec) ? Math.ceil(expSec * 1000) : 0;
  return { kind: 'sid', sid, untilMs: Math.max(sessionEndMs, expMs) + lifetimes.clockToleranceMs };
}

/**
 * The revocation of every token of `sub` issued up to now, and of every session (refresh tokens
 * included) begun up to now, kept until the last of them has ended.
 */
export function revocationOfSubject(sub: string, lifetimes: RevocationLifetimes, nowMs = Date.now()): SubjectRevocation {
  const longest = Math.max(lifetimes.maxTokenLifetimeMs, lifetimes.maxSessionLifetimeMs);
  return { kind: 'sub', sub, issuedUpToSec: Math.floor(nowMs / 1000), untilMs: nowMs + longest + lifetimes.clockToleranceMs };
}
