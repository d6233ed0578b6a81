/** The signing and verification keys and the rules every token is held to. */
import { ALGORITHMS, factsOf, type Algorithm } from '../algorithms.js';
import { keyEncodingName } from '../key-encodings.js';
import type { EnvReader } from './env-reader.js';
import { namesRemoteKeys } from './issuers.js';

export { ALGORITHMS, type Algorithm };

export interface JwtConfig {
  readonly algorithm: Algorithm;
  /** HMAC secret bytes, when the algorithm is HS*. */
  readonly secret: Buffer | undefined;
  readonly privateKeyPem: string | undefined;
  readonly publicKeyPem: string | undefined;
  readonly verifyJwks: string | undefined;
  readonly keyId: string | undefined;
  readonly issuer: string | undefined;
  readonly audience: readonly string[];
  /** Lifetime of a token we sign, a whole number of seconds (exp is a NumericDate). */
  readonly ttlMs: number;
  readonly clockToleranceMs: number;
  readonly maxTokenLength: number;
  readonly requireExp: boolean;
  /** fast-jwt's in-process verification cache: entries (0 disables). */
  readonly verifyCacheSize: number;
}

type KeyMaterial = Pick<JwtConfig, 'secret' | 'privateKeyPem' | 'publicKeyPem' | 'verifyJwks'>;

const HOW_TO_MAKE = 'make one with `node dist/src/cli.js keygen`';

/** The problem with an HMAC secret, if any: a key someone else holds, or fewer bytes than the hash. */
function hmacSecretProblem(env: EnvReader, algorithm: Algorithm, secret: string): string | undefined {
  const encoding = keyEncodingName(secret);
  if (encoding !== undefined) {
    const name = env.string('JWT_SECRET_FILE') === undefined ? 'JWT_SECRET' : 'JWT_SECRET_FILE';
    return (
      `${name} holds ${encoding}, not a random secret, and whoever has a public key could sign ${algorithm} tokens with it: ` +
      `for a key pair set JWT_ALGORITHM=RS256 (or ES256, EdDSA) with JWT_PUBLIC_KEY_FILE (verify only) or JWT_PRIVATE_KEY_FILE; for HMAC ${HOW_TO_MAKE}`
    );
  }
  // RFC 7518 §3.2: a key of the same size as the hash output or larger.
  const minimum = factsOf(algorithm).minimumSecretBytes ?? 0;
  if (Buffer.byteLength(secret) < minimum) return `JWT_SECRET: ${algorithm} needs at least ${minimum} bytes, got ${Buffer.byteLength(secret)}: ${HOW_TO_MAKE}`;
  return undefined;
}

/**
 * Exactly the key material the algorithm uses: a secret for HS*, a PEM for the others, nothing
 * ignored. None at all is a verify-only service for identity providers (OIDC_ISSUER, JWT_JWKS_URL,
 * ISSUERS_FILE): it signs nothing and /login answers 404.
 */
function readKeys(env: EnvReader, algorithm: Algorithm): KeyMaterial {
  const secret = env.secret('JWT_SECRET');
  const privateKeyPem = env.file('JWT_PRIVATE_KEY_FILE');
  const publicKeyPem = env.file('JWT_PUBLIC_KEY_FILE');
  const verifyJwks = env.file('JWT_VERIFY_JWKS_FILE');
  const none = secret === undefined && privateKeyPem === undefined && publicKeyPem === undefined && verifyJwks === undefined;
  if (none && namesRemoteKeys(env)) return { secret, privateKeyPem, publicKeyPem, verifyJwks };

  if (algorithm.startsWith('HS')) {
    if (secret === undefined) env.problem(`JWT_SECRET or JWT_SECRET_FILE is required for ${algorithm}: ${HOW_TO_MAKE}`);
    else {
      const problem = hmacSecretProblem(env, algorithm, secret);
      if (problem !== undefined) env.problem(problem);
    }
    if (privateKeyPem !== undefined) env.problem(`JWT_PRIVATE_KEY_FILE is set but JWT_ALGORITHM is ${algorithm}`);
  } else {
    if (privateKeyPem === undefined && publicKeyPem === undefined) {
      env.problem(`JWT_PRIVATE_KEY_FILE (sign and verify) or JWT_PUBLIC_KEY_FILE (verify only) is required for ${algorithm}: ${HOW_TO_MAKE}`);
    }
    if (secret !== undefined) env.problem(`JWT_SECRET is set but JWT_ALGORITHM is ${algorithm}`);
  }
  return { secret: secret === undefined ? undefined : Buffer.from(secret), privateKeyPem, publicKeyPem, verifyJwks };
}

export function readJwt(env: EnvReader): JwtConfig {
  const algorithm = env.oneOf('JWT_ALGORITHM', ALGORITHMS, 'HS256');
  return {
    algorithm,
    ...readKeys(env, algorithm),
    keyId: env.string('JWT_KEY_ID'),
    issuer: env.string('JWT_ISSUER'),
    audience: env.list('JWT_AUDIENCE', ''),
    ttlMs: env.wholeSecondsMs('JWT_TTL', '1h', 1000),
    clockToleranceMs: env.durationMs('JWT_CLOCK_TOLERANCE', '30s'),
    maxTokenLength: env.integer('JWT_MAX_TOKEN_LENGTH', 8192, 64, 1_048_576),
    requireExp: env.boolean('JWT_REQUIRE_EXP', true),
    verifyCacheSize: env.integer('JWT_VERIFY_CACHE_SIZE', 1000, 0, 10_000_000),
  };
}
