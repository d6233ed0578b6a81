/**
 * How long a login lasts: when a cookie session is renewed, the absolute bound no renewal or refresh
 * passes, and whether /login also hands out refresh tokens.
 */
import type { CookieConfig } from './cookie.js';
import type { EnvReader } from './env-reader.js';
import type { JwtConfig } from './jwt.js';

export interface SessionConfig {
  /**
   * A cookie token with this much life or less left is re-signed by /check (0: never). Whole seconds,
   * shorter than JWT_TTL, and only with LOGIN_SET_COOKIE (the service's own cookie is what it renews).
   */
  readonly renewBeforeMs: number;
  /** From the login (auth_time): no renewed or refreshed token lives past it. Whole seconds, at least JWT_TTL. */
  readonly maxLifetimeMs: number;
  /** Lifetime of a refresh token /login and /refresh return (0: none are issued, /refresh is 404). */
  readonly refreshTokenTtlMs: number;
}

export function readSession(env: EnvReader, jwt: Pick<JwtConfig, 'ttlMs'>, cookie: Pick<CookieConfig, 'setOnLogin'>): SessionConfig {
  const renewBeforeMs = env.wholeSecondsMs('SESSION_RENEW_BEFORE', '0');
  // Unset, 12h or JWT_TTL when that is longer: a long JWT_TTL alone is no reason to refuse the start.
  const maxLifetimeMs =
    env.string('SESSION_MAX_LIFETIME') === undefined ? Math.max(12 * 3_600_000, jwt.ttlMs) : env.wholeSecondsMs('SESSION_MAX_LIFETIME', '12h', 1000);
  const refreshTokenTtlMs = env.wholeSecondsMs('REFRESH_TOKEN_TTL', '0');
  if (renewBeforeMs > 0 && !cookie.setOnLogin)
    env.problem('SESSION_RENEW_BEFORE needs LOGIN_SET_COOKIE=true (and TOKEN_COOKIE): only the cookie the service sets is renewed');
  if (renewBeforeMs > 0 && renewBeforeMs >= jwt.ttlMs)
    env.problem(`SESSION_RENEW_BEFORE: must be shorter than JWT_TTL (${jwt.ttlMs / 1000}s), or every token would be renewed at once`);
  if (maxLifetimeMs > 0 && maxLifetimeMs < jwt.ttlMs) env.problem(`SESSION_MAX_LIFETIME: must be at least JWT_TTL (${jwt.ttlMs / 1000}s)`);
  if (refreshTokenTtlMs > maxLifetimeMs)
    env.problem(`REFRESH_TOKEN_TTL: must not exceed SESSION_MAX_LIFETIME (${maxLifetimeMs / 1000}s), which bounds every refresh`);
  return { renewBeforeMs, maxLifetimeMs, refreshTokenTtlMs };
}
