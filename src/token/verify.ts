/**
 * Token verification: structural checks, key selection by kid / alg from the key source's current
 * keys only, then fast-jwt with that one key and that one algorithm.
 */
import { createVerifier, TokenError } from 'fast-jwt';
import type { Config } from '../config/index.js';
import { AppError, type ErrorCode } from '../errors.js';
import type { KeySnapshot, KeySource } from '../key-source.js';
import type { VerificationKey } from '../keys.js';
import { inspectJws, type JwsHeader } from './jws.js';

export type Claims = Readonly<Record<string, unknown>>;

/** Verifies a compact JWS and returns its claims. @throws AppError with a token_* code. */
export type TokenVerifier = (token: string) => Claims;

export interface VerifierOptions {
  /** A fixed clock in ms since the epoch, for tests; the wall clock otherwise. */
  readonly clockTimestamp?: number;
}

const FAST_JWT_CODES: Readonly<Record<string, ErrorCode>> = {
  [TokenError.codes.expired]: 'token_expired',
  [TokenError.codes.inactive]: 'token_not_yet_valid',
  [TokenError.codes.invalidSignature]: 'token_signature_invalid',
  [TokenError.codes.missingSignature]: 'token_signature_invalid',
  [TokenError.codes.verifyError]: 'token_signature_invalid',
  [TokenError.codes.invalidAlgorithm]: 'token_algorithm_not_allowed',
  [TokenError.codes.missingRequiredClaim]: 'token_claims_invalid',
  [TokenError.codes.invalidClaimType]: 'token_claims_invalid',
  [TokenError.codes.invalidClaimValue]: 'token_claims_invalid',
  [TokenError.codes.invalidCritHeader]: 'token_header_invalid',
};

function fromFastJwt(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = error instanceof TokenError ? FAST_JWT_CODES[error.code] : undefined;
  return new AppError(code ?? 'token_malformed', error instanceof Error ? error.message : 'verification failed', { cause: error });
}

type KeyVerifier = (token: string) => Claims;

/** The fast-jwt verifiers of one key snapshot, by kid and by algorithm. */
interface PreparedKeys {
  readonly snapshot: KeySnapshot;
  readonly byKid: ReadonlyMap<string, { readonly alg: string; readonly verify: KeyVerifier }>;
  readonly byAlg: ReadonlyMap<string, readonly KeyVerifier[]>;
}

/**
 * RFC 7519 §4.1.2: sub is a StringOrURI, so a number is refused, and with it the clash of 42 and
 * "42" in one identity header. An empty sub would become no identity header at all; a sub of spaces
 * is a distinct name and stays one (identity headers encode edge spaces). A token without sub is
 * allowed: it simply carries no subject.
 */
function checkSubject(claims: Claims): Claims {
  if (Object.hasOwn(claims, 'sub') && (typeof claims.sub !== 'string' || claims.sub === '')) {
    throw new AppError('token_claims_invalid', 'sub must be a non-empty string');
  }
  return claims;
}

/**
 * Prepares one fast-jwt verifier per key of each snapshot, when the source announces it, so the
 * request path only picks one. Each verifier has its own verify cache and goes with its snapshot: a
 * token cached as valid under a key that a newer snapshot dropped is not allowed again.
 */
export function createTokenVerifier(jwt: Config['jwt'], keys: KeySource, options: VerifierOptions = {}): TokenVerifier {
  const build = (key: VerificationKey): KeyVerifier =>
    createVerifier({
      key: key.material,
      algorithms: [key.alg as never],
      clockTolerance: jwt.clockToleranceMs,
      // allowedIss/allowedAud only judge a claim that is present: when we expect one, it must be there.
      requiredClaims: [...(jwt.requireExp ? ['exp'] : []), ...(jwt.issuer === undefined ? [] : ['iss']), ...(jwt.audience.length === 0 ? [] : ['aud'])],
      ...(jwt.issuer === undefined ? {} : { allowedIss: jwt.issuer }),
      ...(jwt.audience.length === 0 ? {} : { allowedAud: [...jwt.audience] }),
      ...(jwt.verifyCacheSize > 0 ? { cache: jwt.verifyCacheSize } : {}),
      ...(options.clockTimestamp === undefined ? {} : { clockTimestamp: options.clockTimestamp }),
    }) as KeyVerifier;

  const prepare = (snapshot: KeySnapshot): PreparedKeys => {
    const byKid = new Map<string, { alg: string; verify: KeyVerifier }>();
    const byAlg = new Map<string, KeyVerifier[]>();
    for (const key of snapshot.verification) {
      const verify = build(key);
      byKid.set(key.kid, { alg: key.alg, verify });
      byAlg.set(key.alg, [...(byAlg.get(key.alg) ?? []), verify]);
    }
    return { snapshot, byKid, byAlg };
  };
  let prepared = prepare(keys.current());
  // Checked on every call too, so a source that swaps without telling is still never verified against stale keys.
  const preparedFor = (snapshot: KeySnapshot): PreparedKeys => (prepared.snapshot === snapshot ? prepared : (prepared = prepare(snapshot)));
  keys.onChange?.(preparedFor);

  // The structural checks are a pure function of the token string and cost more than a cached
  // verify (BENCHMARKS.md), so a token that passed them once is not checked again. Only passes are
  // remembered, and as many as the verify cache holds: garbage from a flood costs no memory.
  const inspected = jwt.verifyCacheSize > 0 ? new Map<string, JwsHeader>() : undefined;
  const inspect = (token: string): JwsHeader => {
    let header = inspected?.get(token);
    if (header === undefined) {
      header = inspectJws(token);
      if (inspected !== undefined) {
        if (inspected.size >= jwt.verifyCacheSize) inspected.clear();
        inspected.set(token, header);
      }
    }
    return header;
  };

  return (token) => {
    if (token.length > jwt.maxTokenLength) throw new AppError('token_too_long');
    const { alg, kid } = inspect(token);
    const { byKid, byAlg } = preparedFor(keys.current());
    // A kid binds the token to one key and its one algorithm; without one, only keys of the token's
    // algorithm are tried. Either way the allow-list is ours, so "none" or HS256-with-an-RSA-key fail.
    let candidates: readonly KeyVerifier[];
    if (kid !== undefined) {
      const selected = byKid.get(kid);
      if (selected === undefined) throw new AppError('token_key_unknown');
      if (selected.alg !== alg) throw new AppError('token_algorithm_not_allowed');
      candidates = [selected.verify];
    } else {
      candidates = byAlg.get(alg) ?? [];
      if (candidates.length === 0) throw new AppError('token_algorithm_not_allowed');
    }
    let firstError: AppError | undefined;
    // fast-jwt's errors only become a code here and are never logged with their stack, which costs
    // more to capture than a cached verify: a flood of bad tokens should not pay for one per request.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (const verify of candidates) {
        try {
          return checkSubject(verify(token));
        } catch (error) {
          const mapped = fromFastJwt(error);
          // Only a bad signature means "maybe another key": any other failure is the token's own.
          if (mapped.code !== 'token_signature_invalid') throw mapped;
          firstError ??= mapped;
        }
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    throw firstError ?? new AppError('token_signature_invalid');
  };
}
