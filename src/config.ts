/**
 * Configuration from environment variables, parsed and validated once at start into one frozen object.
 * Every problem is collected and reported together, so an operator fixes a bad deployment in one go.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ALGORITHMS, factsOf, type Algorithm } from './algorithms.js';
import { keyEncodingName } from './key-encodings.js';

export interface IdentityHeader {
  /** Claim name in the token payload. */
  readonly claim: string;
  /** Header name as sent to nginx, lower case. */
  readonly header: string;
}

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly workers: number;
  readonly logLevel: string;
  /** Deny log lines per second before they are summarised (0: every deny is logged). */
  readonly logDenyRate: number;
  readonly shutdownTimeoutMs: number;
  /** How long a client may take to send the request headers (node's server.headersTimeout). */
  readonly headersTimeoutMs: number;
  /** How long a client may take to send the whole request, body included (node's server.requestTimeout). */
  readonly requestTimeoutMs: number;

  readonly jwt: {
    readonly algorithm: Algorithm;
    /** HMAC secret bytes, when the algorithm is HS*. */
    readonly secret: Buffer | undefined;
    readonly privateKeyPem: string | undefined;
    readonly publicKeyPem: string | undefined;
    readonly verifyJwks: string | undefined;
    readonly keyId: string | undefined;
    readonly issuer: string | undefined;
    readonly audience: readonly string[];
    readonly ttlSeconds: number;
    readonly clockToleranceMs: number;
    readonly maxTokenLength: number;
    readonly requireExp: boolean;
    /** fast-jwt's in-process verification cache: entries (0 disables). */
    readonly verifyCacheSize: number;
  };

  readonly check: {
    readonly unauthenticatedStatus: 401 | 403;
    readonly realm: string;
    readonly tokenCookie: string | undefined;
    readonly acceptRawToken: boolean;
    readonly identityHeaders: readonly IdentityHeader[];
    readonly identityHeaderMaxLength: number;
    /** Bytes of every identity header line together (name, value, separators): more denies. */
    readonly identityHeadersMaxTotal: number;
    /** Upper bound for X-Accel-Expires on allows (0: tell nginx not to cache). */
    readonly cacheMaxAgeSeconds: number;
  };

  readonly login: {
    readonly bodyLimitBytes: number;
    readonly subjectFields: readonly string[];
    readonly usernameField: string;
    readonly setCookie: boolean;
    readonly cookie: {
      readonly secure: boolean;
      readonly sameSite: 'Strict' | 'Lax' | 'None';
      readonly domain: string | undefined;
      readonly path: string;
    };
    readonly maxFailuresPerIp: number;
    readonly maxFailuresPerUser: number;
    readonly failureWindowSeconds: number;
    readonly trustedProxies: readonly string[];
  };

  /** Cross-site request protection, in force only when the token may come from a cookie (TOKEN_COOKIE). */
  readonly csrf: {
    readonly protection: boolean;
    /** Serialized origins (`scheme://host[:port]`, lower case, default port left out) treated as our own. */
    readonly allowedOrigins: readonly string[];
  };

  readonly authenticator: {
    readonly url: string;
    readonly timeoutMs: number;
    readonly maxResponseBytes: number;
    readonly passCookies: boolean;
  };
}

/** Thrown with every configuration problem at once; `problems` name the variables. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 * 1024 };
const SAME_SITE = ['Strict', 'Lax', 'None'] as const;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Reads values and records problems instead of throwing, so all of them are reported together. */
class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** A plain variable; empty counts as unset. */
  string(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  /** A secret: NAME or NAME_FILE (Docker/Kubernetes secrets), never both. Trailing newlines are dropped. */
  secret(name: string): string | undefined {
    const direct = this.string(name);
    const file = this.string(`${name}_FILE`);
    if (direct !== undefined && file !== undefined) {
      this.problems.push(`${name} and ${name}_FILE are both set: choose one`);
      return undefined;
    }
    return file === undefined ? direct : this.file(`${name}_FILE`, file)?.replace(/\r?\n$/, '');
  }

  /** The contents of the file a variable names. */
  file(name: string, path: string | undefined = this.string(name)): string | undefined {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      this.problems.push(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${name}: expected true or false, got "${raw}"`);
    return fallback;
  }

  /** "1h", "30s", "500ms", "2d", or a bare number of seconds. */
  durationMs(name: string, fallback: string, min = 0): number {
    const raw = this.string(name) ?? fallback;
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw.trim());
    const value = match ? Math.round(Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] ?? 1000)) : Number.NaN;
    if (!Number.isFinite(value) || value < min) {
      this.problems.push(`${name}: expected a duration such as 30s, 5m or 1h${min > 0 ? ` of at least ${min} ms` : ''}, got "${raw}"`);
      return 0;
    }
    return value;
  }

  /** "16kb", "1mb", or a bare number of bytes. */
  bytes(name: string, fallback: string): number {
    const raw = this.string(name) ?? fallback;
    const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(raw.trim());
    const value = match ? Number(match[1]) * (SIZE_UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1) : Number.NaN;
    if (!Number.isSafeInteger(value) || value <= 0) {
      this.problems.push(`${name}: expected a size such as 16kb or 1mb, got "${raw}"`);
      return 1;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const found = allowed.find((candidate) => candidate.toLowerCase() === raw.toLowerCase());
    if (found === undefined) {
      this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return found;
  }

  list(name: string, fallback: string): string[] {
    return (this.string(name) ?? fallback)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
}

function parseIdentityHeaders(reader: EnvReader): IdentityHeader[] {
  const pairs = reader.list('IDENTITY_HEADERS', 'sub:X-Auth-User');
  const headers: IdentityHeader[] = [];
  for (const pair of pairs) {
    const [claim, header, extra] = pair.split(':').map((part) => part.trim());
    if (!claim || !header || extra !== undefined || !HEADER_NAME.test(header)) {
      reader.problems.push(`IDENTITY_HEADERS: "${pair}" is not claim:Header-Name`);
      continue;
    }
    headers.push({ claim, header: header.toLowerCase() });
  }
  return headers;
}

/** The realm goes into WWW-Authenticate as a quoted-string: visible ASCII only (RFC 9110 §5.6.4). */
function parseRealm(reader: EnvReader): string {
  const realm = reader.string('CHECK_REALM') ?? 'nginx-jwt-auth';
  if (!/^[\x20-\x7e]*$/.test(realm)) reader.problems.push(`CHECK_REALM: use visible ASCII characters only, got "${realm}"`);
  return realm;
}

function parseTrustedProxies(reader: EnvReader): string[] {
  const entries = reader.list('TRUSTED_PROXIES', '127.0.0.1,::1');
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const bits = isIP(address) === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= bits);
    if (!isIP(address) || !prefixOk || extra !== undefined) reader.problems.push(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range`);
  }
  return entries;
}

/**
 * CSRF_ALLOWED_ORIGINS, each written as a browser writes the Origin header (RFC 6454 §6.2):
 * scheme://host[:port], nothing after it. Stored in that serialization, so a comparison is exact.
 */
function parseAllowedOrigins(reader: EnvReader): string[] {
  const origins: string[] = [];
  for (const entry of reader.list('CSRF_ALLOWED_ORIGINS', '')) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    // href is origin + "/" exactly when there is no user, path, query or fragment.
    if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.href !== `${url.origin}/` || entry.endsWith('/')) {
      reader.problems.push(`CSRF_ALLOWED_ORIGINS: "${entry}" is not an origin such as https://app.example or http://localhost:8080`);
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}

function parseKeys(reader: EnvReader, algorithm: Algorithm): Pick<Config['jwt'], 'secret' | 'privateKeyPem' | 'publicKeyPem' | 'verifyJwks'> {
  const secret = reader.secret('JWT_SECRET');
  const privateKeyPem = reader.file('JWT_PRIVATE_KEY_FILE');
  const publicKeyPem = reader.file('JWT_PUBLIC_KEY_FILE');
  const verifyJwks = reader.file('JWT_VERIFY_JWKS_FILE');
  const howToMake = 'make one with `nginx-jwt-auth keygen`';

  if (algorithm.startsWith('HS')) {
    if (secret === undefined) {
      reader.problems.push(`JWT_SECRET or JWT_SECRET_FILE is required for ${algorithm}: ${howToMake}`);
    } else {
      const minimum = factsOf(algorithm).minimumSecretBytes ?? 0;
      const encoding = keyEncodingName(secret);
      if (encoding !== undefined) {
        const name = reader.string('JWT_SECRET_FILE') === undefined ? 'JWT_SECRET' : 'JWT_SECRET_FILE';
        reader.problems.push(
          `${name} holds ${encoding}, not a random secret, and whoever has a public key could sign ${algorithm} tokens with it: ` +
            `for a key pair set JWT_ALGORITHM=RS256 (or ES256, EdDSA) with JWT_PUBLIC_KEY_FILE (verify only) or JWT_PRIVATE_KEY_FILE; for HMAC ${howToMake}`,
        );
      } else if (Buffer.byteLength(secret) < minimum) {
        // RFC 7518 §3.2: a key of the same size as the hash output or larger.
        reader.problems.push(`JWT_SECRET: ${algorithm} needs at least ${minimum} bytes, got ${Buffer.byteLength(secret)}: ${howToMake}`);
      }
    }
    if (privateKeyPem !== undefined) reader.problems.push(`JWT_PRIVATE_KEY_FILE is set but JWT_ALGORITHM is ${algorithm}`);
  } else {
    if (privateKeyPem === undefined && publicKeyPem === undefined) {
      reader.problems.push(`JWT_PRIVATE_KEY_FILE (sign and verify) or JWT_PUBLIC_KEY_FILE (verify only) is required for ${algorithm}: ${howToMake}`);
    }
    if (secret !== undefined) reader.problems.push(`JWT_SECRET is set but JWT_ALGORITHM is ${algorithm}`);
  }
  return { secret: secret === undefined ? undefined : Buffer.from(secret), privateKeyPem, publicKeyPem, verifyJwks };
}

/**
 * Parses the environment into a frozen Config.
 * @throws ConfigError naming every bad or missing variable.
 */
export function loadConfig(env: Env): Config {
  const reader = new EnvReader(env);
  const algorithm = reader.oneOf('JWT_ALGORITHM', ALGORITHMS, 'HS256');
  const unauthenticated = reader.oneOf('CHECK_UNAUTHENTICATED_STATUS', ['403', '401'], '403');
  const authenticatorUrl = reader.string('AUTHENTICATOR_URL') ?? 'http://127.0.0.1:5000/login';
  if (!/^https?:\/\/[^/]/.test(authenticatorUrl) || !URL.canParse(authenticatorUrl)) {
    reader.problems.push(`AUTHENTICATOR_URL: expected an http(s) URL, got "${authenticatorUrl}"`);
  }
  const tokenCookie = reader.string('TOKEN_COOKIE');
  if (tokenCookie !== undefined && !HEADER_NAME.test(tokenCookie)) {
    reader.problems.push(`TOKEN_COOKIE: "${tokenCookie}" is not a valid cookie name`);
  }
  const setCookie = reader.boolean('LOGIN_SET_COOKIE', false);
  if (setCookie && tokenCookie === undefined) reader.problems.push('LOGIN_SET_COOKIE=true needs TOKEN_COOKIE (the cookie name)');
  const sameSite = reader.oneOf('COOKIE_SAMESITE', SAME_SITE, 'Lax');
  const secure = reader.boolean('COOKIE_SECURE', true);
  if (sameSite === 'None' && !secure) reader.problems.push('COOKIE_SAMESITE=None needs COOKIE_SECURE=true (browsers refuse it otherwise)');

  // Slow clients: both bounds are needed, and node refuses a header bound longer than the request bound.
  const headersTimeoutMs = reader.durationMs('SERVER_HEADERS_TIMEOUT', '10s', 100);
  const requestTimeoutMs = reader.durationMs('SERVER_REQUEST_TIMEOUT', '30s', 100);
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) reader.problems.push('SERVER_HEADERS_TIMEOUT must not be longer than SERVER_REQUEST_TIMEOUT');

  const config: Config = {
    host: reader.string('HOST') ?? '127.0.0.1',
    port: reader.integer('PORT', 8000, 0, 65_535),
    workers: reader.integer('WORKERS', 1, 1, 256),
    logLevel: reader.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    logDenyRate: reader.integer('LOG_DENY_RATE', 20, 0, 1_000_000),
    shutdownTimeoutMs: reader.durationMs('SHUTDOWN_TIMEOUT', '10s'),
    headersTimeoutMs,
    requestTimeoutMs,
    jwt: {
      algorithm,
      ...parseKeys(reader, algorithm),
      keyId: reader.string('JWT_KEY_ID'),
      issuer: reader.string('JWT_ISSUER'),
      audience: reader.list('JWT_AUDIENCE', ''),
      ttlSeconds: Math.floor(reader.durationMs('JWT_TTL', '1h', 1000) / 1000),
      clockToleranceMs: reader.durationMs('JWT_CLOCK_TOLERANCE', '30s'),
      maxTokenLength: reader.integer('JWT_MAX_TOKEN_LENGTH', 8192, 64, 1_048_576),
      requireExp: reader.boolean('JWT_REQUIRE_EXP', true),
      verifyCacheSize: reader.integer('JWT_VERIFY_CACHE_SIZE', 1000, 0, 10_000_000),
    },
    check: {
      unauthenticatedStatus: unauthenticated === '401' ? 401 : 403,
      realm: parseRealm(reader),
      tokenCookie,
      acceptRawToken: reader.boolean('CHECK_ACCEPT_RAW_TOKEN', false),
      identityHeaders: parseIdentityHeaders(reader),
      identityHeaderMaxLength: reader.integer('IDENTITY_HEADER_MAX_LENGTH', 2048, 16, 65_536),
      identityHeadersMaxTotal: reader.bytes('IDENTITY_HEADERS_MAX_TOTAL', '8kb'),
      cacheMaxAgeSeconds: Math.floor(reader.durationMs('CHECK_CACHE_MAX_AGE', '0') / 1000),
    },
    login: {
      bodyLimitBytes: reader.bytes('LOGIN_BODY_LIMIT', '16kb'),
      subjectFields: reader.list('LOGIN_SUBJECT_FIELDS', 'sub,id,username'),
      usernameField: reader.string('LOGIN_USERNAME_FIELD') ?? 'username',
      setCookie,
      cookie: { secure, sameSite, domain: reader.string('COOKIE_DOMAIN'), path: reader.string('COOKIE_PATH') ?? '/' },
      maxFailuresPerIp: reader.integer('LOGIN_MAX_FAILURES_PER_IP', 50, 0, 1_000_000),
      maxFailuresPerUser: reader.integer('LOGIN_MAX_FAILURES_PER_USER', 10, 0, 1_000_000),
      failureWindowSeconds: Math.max(1, Math.floor(reader.durationMs('LOGIN_FAILURE_WINDOW', '15m', 1000) / 1000)),
      trustedProxies: parseTrustedProxies(reader),
    },
    csrf: {
      protection: reader.boolean('CSRF_PROTECTION', true),
      allowedOrigins: parseAllowedOrigins(reader),
    },
    authenticator: {
      url: authenticatorUrl,
      timeoutMs: reader.durationMs('AUTHENTICATOR_TIMEOUT', '5s', 1),
      maxResponseBytes: reader.bytes('AUTHENTICATOR_MAX_RESPONSE', '64kb'),
      passCookies: reader.boolean('AUTHENTICATOR_PASS_COOKIES', false),
    },
  };

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
