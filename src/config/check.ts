/** How /check answers: the deny status, the realm of its challenge, raw tokens, and how long nginx may cache an allow. */
import type { EnvReader } from './env-reader.js';

export interface CheckConfig {
  readonly unauthenticatedStatus: 401 | 403;
  /** Goes into WWW-Authenticate as a quoted-string. */
  readonly realm: string;
  readonly acceptRawToken: boolean;
  /** Upper bound for X-Accel-Expires on allows, a whole number of seconds (0: tell nginx not to cache). */
  readonly cacheMaxAgeMs: number;
}

/** The realm goes into WWW-Authenticate as a quoted-string: visible ASCII only (RFC 9110 §5.6.4). */
function readRealm(env: EnvReader): string {
  const realm = env.string('CHECK_REALM') ?? 'nginx-jwt-auth';
  if (!/^[\x20-\x7e]*$/.test(realm)) env.problem(`CHECK_REALM: use visible ASCII characters only, got "${realm}"`);
  return realm;
}

export function readCheck(env: EnvReader): CheckConfig {
  const unauthenticated = env.oneOf('CHECK_UNAUTHENTICATED_STATUS', ['403', '401'], '403');
  return {
    unauthenticatedStatus: unauthenticated === '401' ? 401 : 403,
    realm: readRealm(env),
    acceptRawToken: env.boolean('CHECK_ACCEPT_RAW_TOKEN', false),
    cacheMaxAgeMs: env.wholeSecondsMs('CHECK_CACHE_MAX_AGE', '0'),
  };
}
