/**
 * Configuration from environment variables, parsed and validated once at start into one frozen object.
 * Each section reads its own variables, checks its own rules (cross-field ones too) and parses them to
 * the types its consumers use; every problem is collected and reported together in one ConfigError.
 * Durations are milliseconds throughout (`*Ms`).
 */
import { readAuthenticator, type AuthenticatorConfig } from './authenticator.js';
import { readCheck, type CheckConfig } from './check.js';
import { readCookie, type CookieConfig } from './cookie.js';
import { readCsrf, type CsrfConfig } from './csrf.js';
import { EnvReader, type Env } from './env-reader.js';
import { readIdentityHeaders, type IdentityHeadersConfig } from './identity-headers.js';
import { readIssuers, type IssuersConfig } from './issuers.js';
import { readJwt, type JwtConfig } from './jwt.js';
import { readLogging, type LoggingConfig } from './logging.js';
import { readLogin, type LoginConfig } from './login.js';
import { readPages, type PagesConfig } from './pages.js';
import { readRedis, type RedisConfig } from './redis.js';
import { readRevocation, type RevocationConfig } from './revocation.js';
import { readServer, type ServerConfig } from './server.js';
import { readSession, type SessionConfig } from './session.js';

export { ALGORITHMS, type Algorithm } from './jwt.js';
export type { IdentityHeader } from './identity-headers.js';
export { redisTarget, type RedisConfig, type RedisTopology } from './redis.js';
export { TrustedProxyList } from './login.js';

export interface Config {
  readonly server: ServerConfig;
  readonly logging: LoggingConfig;
  readonly jwt: JwtConfig;
  readonly issuers: IssuersConfig;
  readonly check: CheckConfig;
  readonly identityHeaders: IdentityHeadersConfig;
  readonly cookie: CookieConfig;
  readonly login: LoginConfig;
  readonly session: SessionConfig;
  readonly csrf: CsrfConfig;
  readonly authenticator: AuthenticatorConfig;
  readonly pages: PagesConfig;
  readonly redis: RedisConfig;
  readonly revocation: RevocationConfig;
}

/** Thrown with every configuration problem at once; `problems` name the variables. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Parses the environment into a frozen Config.
 * @throws ConfigError naming every bad or missing variable.
 */
export function loadConfig(env: Env): Config {
  const reader = new EnvReader(env);
  // In the order of the Config; jwt first bound because the revocation section checks against JWT_TTL.
  const server = readServer(reader);
  const logging = readLogging(reader);
  const jwt = readJwt(reader);
  const cookie = readCookie(reader);
  const config: Config = {
    server,
    logging,
    jwt,
    issuers: readIssuers(reader),
    check: readCheck(reader),
    identityHeaders: readIdentityHeaders(reader),
    cookie,
    login: readLogin(reader),
    session: readSession(reader, jwt, cookie),
    csrf: readCsrf(reader),
    authenticator: readAuthenticator(reader),
    pages: readPages(reader),
    redis: readRedis(reader),
    revocation: readRevocation(reader, jwt.ttlMs),
  };
  checkIssuerIdentityHeaders(reader, config);
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * An issuer's identity_headers fill IDENTITY_HEADERS' header names only: those are the ones nginx
 * forwards to the app (jwt-auth-protect.conf) and refuses from clients (the guard's map). A name of
 * its own would reach nobody, or reach the app forged.
 */
function checkIssuerIdentityHeaders(reader: EnvReader, config: Config): void {
  const known = new Set(config.identityHeaders.headers.map(({ header }) => header));
  for (const issuer of config.issuers.trusted) {
    for (const { header } of issuer.identityHeaders ?? []) {
      if (!known.has(header))
        reader.problem(
          `${issuer.origin}.identity_headers: ${header} is not one of IDENTITY_HEADERS' headers (${[...known].join(', ')}): nginx passes and guards only those`,
        );
    }
  }
}
