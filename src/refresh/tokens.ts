/**
 * Refresh tokens for API clients (REFRESH_TOKEN_TTL): opaque, `<sid>.<secret>` with 256 random bits of
 * secret, recorded only as their SHA-256 (src/refresh/store.ts), rotated on every use, never living
 * past their session's end. The sid in clear only says which family to look in: it opens nothing.
 *
 * Reuse of a rotated token means two parties hold the family's tokens (a stolen one, or a client
 * that lost an answer): the family is revoked and both must log in again (RFC 9700 §4.14.2).
 */
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Session } from '../token/sign.js';
import type { RefreshRecord, RefreshStore } from './store.js';

const FORMAT = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface IssuedRefreshToken {
  readonly refresh_token: string;
  /** Seconds. */
  readonly refresh_expires_in: number;
}

export interface RefreshTokens {
  /**
   * The first refresh token of a login's session.
   * @throws AppError refresh_store_unavailable when it cannot be recorded.
   */
  start(record: RefreshRecord): Promise<IssuedRefreshToken>;
  /**
   * Redeems a refresh token: its family's record and the token that replaces it.
   * @throws AppError refresh_token_invalid, refresh_token_reused, refresh_store_unavailable.
   */
  redeem(token: string): Promise<{ readonly record: RefreshRecord; readonly next: IssuedRefreshToken }>;
}

export interface RefreshTokenOptions {
  readonly ttlMs: number;
  readonly store: RefreshStore;
  /** Epoch ms; the wall clock by default. */
  readonly now?: () => number;
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function unavailable(error: unknown): AppError {
  return new AppError('refresh_store_unavailable', `refresh token store: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

export function createRefreshTokens({ ttlMs, store, now = Date.now }: RefreshTokenOptions): RefreshTokens {
  /** A new token of `session`'s family, expiring after the TTL or at the session's end, whichever is first. */
  const mint = (session: Required<Session>, at: number) => {
    const token = `${session.sid}.${randomBytes(32).toString('base64url')}`;
    const expiresAtMs = Math.min(at + ttlMs, session.endsAt * 1000);
    return {
      token,
      hash: hashOf(token),
      expiresAtMs,
      issued: { refresh_token: token, refresh_expires_in: Math.max(0, Math.floor((expiresAtMs - at) / 1000)) },
    };
  };
  return {
    async start(record) {
      const next = mint(record.session, now());
      try {
        await store.start(record.session.sid, next.hash, next.expiresAtMs, record);
      } catch (error) {
        throw unavailable(error);
      }
      return next.issued;
    },
    async redeem(token) {
      const match = FORMAT.exec(token);
      if (match === null) throw new AppError('refresh_token_invalid', 'not a refresh token of ours');
      const family = match[1] as string;
      const at = now();
      // The next token needs only the session id to be made; its expiry is bounded again below, once
      // the record (and its session end) is known, by the store's own end for the family.
      const session = { sid: family, authTime: 0, endsAt: Number.MAX_SAFE_INTEGER };
      const next = mint(session, at);
      let rotation;
      try {
        rotation = await store.rotate(family, hashOf(token), next.hash, next.expiresAtMs, at);
      } catch (error) {
        throw unavailable(error);
      }
      if (rotation.kind === 'reused') throw new AppError('refresh_token_reused', `family ${family} revoked`);
      if (rotation.kind === 'invalid') throw new AppError('refresh_token_invalid', 'unknown, expired or revoked');
      const endsAtMs = rotation.record.session.endsAt * 1000;
      return {
        record: rotation.record,
        next: { refresh_token: next.token, refresh_expires_in: Math.max(0, Math.floor((Math.min(next.expiresAtMs, endsAtMs) - at) / 1000)) },
      };
    },
  };
}
