/** Revocation: how long entries that do not know their token's exp are kept. */
import type { EnvReader } from './env-reader.js';

export interface RevocationConfig {
  /**
   * The longest a token /check accepts can live. A subject revocation (`revoke --sub`) covers every token
   * issued up to its moment, so it is kept this long; so is `revoke --jti` without `--exp`.
   */
  readonly maxTokenLifetimeMs: number;
}

const DEFAULT_MS = 86_400_000;

/** Unset: 24h, or JWT_TTL when that is longer (a long JWT_TTL alone must not stop the start). */
export function readRevocation(env: EnvReader, jwtTtlMs: number): RevocationConfig {
  if (env.string('REVOCATION_MAX_TOKEN_LIFETIME') === undefined) return { maxTokenLifetimeMs: Math.max(DEFAULT_MS, jwtTtlMs) };
  const maxTokenLifetimeMs = env.wholeSecondsMs('REVOCATION_MAX_TOKEN_LIFETIME', '24h', 1000);
  if (maxTokenLifetimeMs > 0 && maxTokenLifetimeMs < jwtTtlMs)
    env.problem(`REVOCATION_MAX_TOKEN_LIFETIME: must be at least JWT_TTL (${jwtTtlMs / 1000}s), got "${env.string('REVOCATION_MAX_TOKEN_LIFETIME')}"`);
  return { maxTokenLifetimeMs };
}
