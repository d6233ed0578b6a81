/** How /check answers: the deny status, the realm of its challenge, raw tokens, and how long nginx may cache an allow. */
import { ClaimPathError, parseClaimPath, splitOutsideQuotes, type ClaimPath } from '../claim-path.js';
import type { EnvReader } from './env-reader.js';

export interface CheckConfig {
  readonly unauthenticatedStatus: 401 | 403;
  /** Goes into WWW-Authenticate as a quoted-string. */
  readonly realm: string;
  readonly acceptRawToken: boolean;
  /** Upper bound for X-Accel-Expires on allows, a whole number of seconds (0: tell nginx not to cache). */
  readonly cacheMaxAgeMs: number;
  /** The claim `role=` policy terms read. */
  readonly rolesClaim: ClaimPath;
  /** The claims `scope=` terms read: the first one present. */
  readonly scopesClaims: readonly ClaimPath[];
}

/** Claim paths, comma-separated (a quoted name may hold a comma); one problem per bad one. */
function readClaimPaths(env: EnvReader, name: string, fallback: string, single: boolean): ClaimPath[] {
  const texts = splitOutsideQuotes(env.string(name) ?? fallback, ',');
  if (single && texts.length !== 1) {
    env.problem(`${name}: expected one claim name, got "${env.string(name) ?? ''}"`);
    return [parseClaimPath(fallback)];
  }
  const paths: ClaimPath[] = [];
  for (const text of texts) {
    try {
      paths.push(parseClaimPath(text));
    } catch (error) {
      if (!(error instanceof ClaimPathError)) throw error;
      env.problem(`${name}: ${error.message}`);
    }
  }
  if (paths.length === 0) {
    if (texts.length === 0) env.problem(`${name}: expected at least one claim name`);
    return splitOutsideQuotes(fallback, ',').map(parseClaimPath);
  }
  return paths;
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
    rolesClaim: readClaimPaths(env, 'ROLES_CLAIM', 'roles', true)[0] as ClaimPath,
    // RFC 8693 `scope` is a space-separated string; some issuers (Azure, Okta) use `scp`, sometimes an array.
    scopesClaims: readClaimPaths(env, 'SCOPES_CLAIM', 'scope,scp', false),
  };
}
