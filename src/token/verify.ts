/**
 * Token verification: structural checks, the issuer by the token's `iss`, key selection by kid / alg
 * from that issuer's current keys only, then fast-jwt with that one key, that one algorithm and that
 * issuer's rules. Synchronous, except when a kid is unknown to an issuer whose keys are fetched: then
 * the one refetch its cooldown allows is awaited, and the token verified against what it brought.
 */
import { createVerifier, TokenError, type VerifierOptions as FastJwtOptions } from 'fast-jwt';
import type { Config } from '../config/index.js';
import { AppError, type ErrorCode } from '../errors.js';
import type { KeySnapshot, KeySource } from '../key-source.js';
import type { VerificationKey } from '../keys.js';
import { issuerSelector, LOCAL_ISSUER_LABEL, type IssuerKeySource, type TrustedIssuer } from '../trusted-issuer.js';
import { inspectJws, type JwsHeader } from './jws.js';

export type Claims = Readonly<Record<string, unknown>>;

/** A denial because of the token's issuer: which one, for the log line and the metric. */
export class IssuerError extends AppError {
  constructor(
    code: 'token_issuer_unknown' | 'issuer_keys_unavailable',
    /** The configured issuer's label; for an unknown one, the iss the token claims (for the log only). */
    readonly issuer: string | undefined,
    /** Whether `issuer` is a configured one, and so may be a metric label. */
    readonly configured: boolean,
  ) {
    super(code, configured ? `${code}: ${issuer}` : code);
  }
}

export interface Verified {
  readonly claims: Claims;
  /** Whose rules the token met: the policy reads its claim mapping. */
  readonly issuer: TrustedIssuer;
}

/** A token's verdict: what it proved, or the AppError (a token_* or issuer_* code) that refuses it. */
export type TokenVerdict = Verified | AppError;

/**
 * Verifies a compact JWS: synchronously on every path but an unknown kid at an issuer whose keys are
 * fetched. @throws (or rejects with) AppError with a token_* or issuer_* code.
 */
export interface TokenVerifier {
  (token: string): Verified | Promise<Verified>;
  /**
   * The same verification with a refusal returned instead of thrown: /check's path. A thrown error
   * costs V8 more to catch than a cached verify costs (BENCHMARKS.md), and a flood of bad tokens is
   * all refusals. Throws only for a bug, never for a token.
   */
  readonly verdict: (token: string) => TokenVerdict | Promise<TokenVerdict>;
}

/** The issuers a verifier trusts: the named ones, and the service's own (its keys, JWT_ISSUER), if it has keys. */
export interface Trust {
  readonly issuers: readonly TrustedIssuer[];
  readonly own: TrustedIssuer | undefined;
}

/** The service's own issuer: JWT_ISSUER and JWT_AUDIENCE over the given key sources. */
export function ownIssuer(jwt: Config['jwt'], sources: readonly IssuerKeySource[]): TrustedIssuer {
  return { iss: jwt.issuer, label: jwt.issuer ?? LOCAL_ISSUER_LABEL, audiences: jwt.audience, claims: undefined, sources };
}

export interface VerifierOptions {
  /** A fixed clock in ms since the epoch, for tests; the wall clock otherwise. */
  readonly clockTimestamp?: number;
  /**
   * How long a token with a kid its issuer's fetched keys lack waits for their refetch; then it is
   * denied token_key_unknown and the fetch goes on. Below nginx's proxy_read_timeout for the auth
   * location, so a slow key server is a deny and never nginx's 500. 2 s by default.
   */
  readonly unknownKidWaitMs?: number;
}

/** Resolves when `promise` does, or after `ms`, whichever comes first; never rejects if `promise` does not. */
function boundedWait(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  // Not unref'd: a request is waiting on it, and it is cleared as soon as the refetch ends.
  const deadline = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
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

/** One key's verdict on a token: its claims, or why not. Never throws. */
type KeyVerifier = (token: string) => Claims | AppError;

/** The token itself as fast-jwt's cache key, instead of its default SHA-256 of the token. */
const tokenAsCacheKey = (token: string): string => token;

interface KeyEntry {
  readonly alg: string;
  readonly verify: KeyVerifier;
}

/**
 * The fast-jwt verifiers of one key snapshot, by kid and by algorithm. A kid may stand for one key
 * under several algorithms: a provider that publishes a key without `alg` (Entra ID does) lets it
 * verify each allowed algorithm its type fits, and the token's alg picks one.
 */
interface PreparedKeys {
  readonly snapshot: KeySnapshot;
  readonly byKid: ReadonlyMap<string, readonly KeyEntry[]>;
  readonly byAlg: ReadonlyMap<string, readonly KeyVerifier[]>;
}

/**
 * RFC 7519 §4.1.2: sub is a StringOrURI, so a number is refused, and with it the clash of 42 and
 * "42" in one identity header. An empty sub would become no identity header at all; a sub of spaces
 * is a distinct name and stays one (identity headers encode edge spaces). A token without sub is
 * allowed: it simply carries no subject.
 */
function checkSubject(claims: Claims): Claims | AppError {
  if (Object.hasOwn(claims, 'sub') && (typeof claims.sub !== 'string' || claims.sub === '')) {
    return new AppError('token_claims_invalid', 'sub must be a non-empty string');
  }
  return claims;
}

/**
 * fast-jwt's cache key is a SHA-256 of the token by default, computed on every request: the largest
 * single cost of a cached verify (BENCHMARKS.md). The token itself is a key no two tokens share, and
 * holds nothing this process does not already hold (the inspected-header memo is keyed on it too).
 * fast-jwt warns at start about any custom key builder, because one that collides lets one token
 * stand for another; the identity cannot collide, so that one warning, by its code, is not printed.
 */
function createFastJwtVerifier(options: Partial<FastJwtOptions & { key: string | Buffer }>): (token: string) => Claims {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const [first] = rest;
    const code = typeof first === 'object' && first !== null ? (first as { code?: unknown }).code : undefined;
    if (code !== 'FAST_JWT_CACHE_KEY_BUILDER_SECURITY_RISK') (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return createVerifier({ ...options, cacheKeyBuilder: tokenAsCacheKey }) as (token: string) => Claims;
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** Verifies a token whose header is already inspected, against one issuer's keys. */
type IssuerVerifier = (token: string, header: JwsHeader) => TokenVerdict | Promise<TokenVerdict>;

/**
 * One issuer's verifier. It prepares one fast-jwt verifier per key of each snapshot of each source,
 * when the source announces it, so the request path only picks one. Each verifier has its own verify
 * cache and goes with its snapshot: a token cached as valid under a key that a newer snapshot dropped
 * is not allowed again.
 */
function createIssuerVerifier(jwt: Config['jwt'], issuer: TrustedIssuer, options: VerifierOptions): IssuerVerifier {
  const build = (key: VerificationKey): KeyVerifier => {
    const verify = createFastJwtVerifier({
      key: key.material,
      algorithms: [key.alg as never],
      clockTolerance: jwt.clockToleranceMs,
      // allowedIss/allowedAud only judge a claim that is present: when we expect one, it must be there.
      requiredClaims: [...(jwt.requireExp ? ['exp'] : []), ...(issuer.iss === undefined ? [] : ['iss']), ...(issuer.audiences.length === 0 ? [] : ['aud'])],
      ...(issuer.iss === undefined ? {} : { allowedIss: issuer.iss }),
      ...(issuer.audiences.length === 0 ? {} : { allowedAud: [...issuer.audiences] }),
      ...(jwt.verifyCacheSize > 0 ? { cache: jwt.verifyCacheSize } : {}),
      ...(options.clockTimestamp === undefined ? {} : { clockTimestamp: options.clockTimestamp }),
    });
    // fast-jwt caches refusals too, but gives a cached one back by throwing it, which costs a deny
    // flood more than the cached verify. A refusal the clock cannot undo (every one but "not yet
    // valid": an expired token stays expired) is remembered here per key, so goes with its snapshot,
    // and bounded like the verify cache.
    const refused = jwt.verifyCacheSize > 0 ? new Map<string, AppError>() : undefined;
    return (token) => {
      const known = refused?.get(token);
      if (known !== undefined) return known;
      let verdict: Claims | AppError;
      // fast-jwt's errors only become a code here and are never logged with their stack, which costs
      // more to capture than a cached verify.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        verdict = checkSubject(verify(token));
      } catch (error) {
        verdict = fromFastJwt(error);
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
      if (refused !== undefined && verdict instanceof AppError && verdict.code !== 'token_not_yet_valid') {
        if (refused.size >= jwt.verifyCacheSize) refused.clear();
        refused.set(token, verdict);
      }
      return verdict;
    };
  };

  const prepare = (snapshot: KeySnapshot): PreparedKeys => {
    const byKid = new Map<string, KeyEntry[]>();
    const byAlg = new Map<string, KeyVerifier[]>();
    for (const key of snapshot.verification) {
      const verify = build(key);
      byKid.set(key.kid, [...(byKid.get(key.kid) ?? []), { alg: key.alg, verify }]);
      byAlg.set(key.alg, [...(byAlg.get(key.alg) ?? []), verify]);
    }
    return { snapshot, byKid, byAlg };
  };
  const sources = issuer.sources;
  const unknownKidWaitMs = options.unknownKidWaitMs ?? 2000;
  const prepared = sources.map((source) => prepare(source.current()));
  // Checked on every call too, so a source that swaps without telling is still never verified against stale keys.
  const preparedFor = (index: number): PreparedKeys => {
    const snapshot = (sources[index] as IssuerKeySource).current();
    const current = prepared[index] as PreparedKeys;
    return current.snapshot === snapshot ? current : (prepared[index] = prepare(snapshot));
  };
  sources.forEach((source, index) => source.onChange?.(() => preparedFor(index)));

  /** The verifiers a token may be tried with: a kid binds it to one key and that key's one algorithm. */
  const candidatesFor = (alg: string, kid: string | undefined): readonly KeyVerifier[] | 'unknown_kid' => {
    let unusable = false;
    let candidates: KeyVerifier[] | undefined;
    let kidWithOtherAlg = false;
    for (let index = 0; index < sources.length; index++) {
      if ((sources[index] as IssuerKeySource).usable === false) {
        unusable = true;
        continue;
      }
      const { byKid, byAlg } = preparedFor(index);
      if (kid !== undefined) {
        const entries = byKid.get(kid);
        if (entries === undefined) continue;
        const selected = entries.find((entry) => entry.alg === alg);
        if (selected === undefined) kidWithOtherAlg = true;
        else (candidates ??= []).push(selected.verify);
      } else {
        const ofAlg = byAlg.get(alg);
        if (ofAlg !== undefined) (candidates ??= []).push(...ofAlg);
      }
    }
    if (candidates !== undefined) return candidates;
    // A key we cannot use may be the one: "unavailable" rather than a verdict on the token.
    if (unusable) throw new IssuerError('issuer_keys_unavailable', issuer.label, true);
    if (kidWithOtherAlg || kid === undefined) throw new AppError('token_algorithm_not_allowed');
    return 'unknown_kid';
  };

  const verifyWith = (token: string, candidates: readonly KeyVerifier[]): TokenVerdict => {
    let firstRefusal: AppError | undefined;
    for (const verify of candidates) {
      const verdict = verify(token);
      if (!(verdict instanceof AppError)) return { claims: verdict, issuer };
      // Only a bad signature means "maybe another key": any other failure is the token's own.
      if (verdict.code !== 'token_signature_invalid') return verdict;
      firstRefusal ??= verdict;
    }
    return firstRefusal ?? new AppError('token_signature_invalid');
  };

  /** After the refetch an unknown kid allowed: what it brought decides, and no second refetch is asked for. */
  const afterRefresh = (token: string, { alg, kid }: JwsHeader): TokenVerdict => {
    const candidates = candidatesFor(alg, kid);
    if (candidates === 'unknown_kid') throw new AppError('token_key_unknown');
    return verifyWith(token, candidates);
  };

  return (token, header) => {
    const candidates = candidatesFor(header.alg, header.kid);
    if (candidates !== 'unknown_kid') return verifyWith(token, candidates);
    // A rotated key is known on the first request that needs it; a flood of random kids is answered
    // at once by the sources' cooldown and negative cache, and never waits on a fetch it cannot have.
    for (const source of sources) {
      const refreshed = source.refreshForKid?.(header.kid as string);
      if (refreshed !== undefined) return boundedWait(refreshed, unknownKidWaitMs).then(() => afterRefresh(token, header));
    }
    throw new AppError('token_key_unknown');
  };
}

/**
 * The verifier for a key source (the service's own issuer alone) or for every trusted issuer. Each
 * issuer's verifiers are built once, at start and when its keys change.
 */
export function createTokenVerifier(jwt: Config['jwt'], trust: KeySource | Trust, options: VerifierOptions = {}): TokenVerifier {
  const { issuers, own } = 'current' in trust ? { issuers: [], own: ownIssuer(jwt, [trust]) } : trust;
  const verifiers = new Map<TrustedIssuer, IssuerVerifier>();
  for (const issuer of own === undefined ? issuers : [own, ...issuers]) verifiers.set(issuer, createIssuerVerifier(jwt, issuer, options));
  const select = issuerSelector(issuers, own);

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

  const verdict = (token: string): TokenVerdict | Promise<TokenVerdict> => {
    // The structural refusals below are thrown where they are found and become verdicts here: a
    // malformed token is caught once, and the common refusals (a bad signature, an expired token)
    // are returned all the way.
    try {
      if (token.length > jwt.maxTokenLength) return new AppError('token_too_long');
      const header = inspect(token);
      const issuer = select(header.iss);
      if (issuer === undefined) return new IssuerError('token_issuer_unknown', header.iss, false);
      const verified = (verifiers.get(issuer) as IssuerVerifier)(token, header);
      return verified instanceof Promise ? verified.catch(refusalOrRethrow) : verified;
    } catch (error) {
      return refusalOrRethrow(error);
    }
  };
  const verify = (token: string): Verified | Promise<Verified> => {
    const settled = verdict(token);
    return settled instanceof Promise ? settled.then(verifiedOrThrow) : verifiedOrThrow(settled);
  };
  return Object.assign(verify, { verdict });
}

/** A refusal as a verdict; anything else is a bug and stays thrown. */
function refusalOrRethrow(error: unknown): AppError {
  if (error instanceof AppError) return error;
  throw error;
}

function verifiedOrThrow(verdict: TokenVerdict): Verified {
  if (verdict instanceof AppError) throw verdict;
  return verdict;
}
