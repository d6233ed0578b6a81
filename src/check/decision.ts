/**
 * Whether a /check request may pass, and nothing about how that is said over HTTP: raw headers and
 * the auth URI's query in, an allow (claims, identity headers, how long nginx may cache it) or a
 * deny code out. src/check/answer.ts turns a decision into bytes.
 *
 * A policy term is added in src/policy.ts (parsePolicy and checkPolicy); this module only asks
 * whether the claims satisfy the parsed policy.
 */
import type { Config } from '../config/index.js';
import { readCheckInputs, readRequestSite } from '../credentials.js';
import { createCrossSiteCheck, isSafeMethod } from '../cross-site.js';
import { AppError, ERROR_CODES, statusFor, toAppError, type ErrorCode } from '../errors.js';
import { createIdentityHeaders, type IdentityHeaderBuilder } from '../identity-headers.js';
import { checkPolicy, createPolicyCache, type Policy } from '../policy.js';
import type { RevocationList } from '../revocation/list.js';
import type { RenewSession } from '../session/renew.js';
import { IssuerError, type Claims, type TokenVerdict, type TokenVerifier } from '../token/verify.js';
import type { TrustedIssuer } from '../trusted-issuer.js';

export interface AccessRequest {
  /** node's `req.rawHeaders`: name/value pairs with repeated headers kept. */
  readonly rawHeaders: readonly string[];
  /** The auth URI's query string without `?`: policy terms as query arguments. */
  readonly query: string;
  /**
   * The request's own method, when X-Original-Method does not name the client's; GET when absent,
   * which is what nginx's auth subrequests use.
   */
  readonly method?: string;
}

export interface AccessAllowed {
  readonly code: undefined;
  readonly claims: Claims;
  /** The identity headers as flat name/value pairs. Shared between requests: never modify it. */
  readonly identityHeaders: readonly string[];
  /** How long nginx may cache the allow (X-Accel-Expires); 0 for not at all. */
  readonly cacheSeconds: number;
  /**
   * A renewed session's Set-Cookie: this allow is for one token only, so it is never cached by
   * nginx nor reused for another request (src/session/renew.ts).
   */
  readonly setCookie?: string;
}

export interface AccessDenied {
  /** Why: a code whose status in the error table is a deny (401 or 403). */
  readonly code: ErrorCode;
  readonly claims: undefined;
  /** The unexpected error behind a check_failed denial, for the log. */
  readonly cause?: unknown;
  /** Whose token it was, when the issuer is the reason: named in the log line and the metric. */
  readonly issuer?: { readonly name: string | undefined; readonly configured: boolean };
}

export type AccessDecision = AccessAllowed | AccessDenied;

/**
 * Never throws, and a promise never rejects: every failure, a bug included, is a deny. A promise
 * only when the token's kid is unknown to an issuer whose keys are fetched and a refetch is allowed.
 */
export type DecideAccess = (request: AccessRequest) => AccessDecision | Promise<AccessDecision>;

export interface AccessDeciderDeps {
  readonly config: Config;
  readonly verify: TokenVerifier;
  readonly identityHeaders: IdentityHeaderBuilder;
  /** Re-signs cookie tokens near their exp; undefined when sessions do not renew. */
  readonly renew?: RenewSession;
  /** The revocations known to this process: read in memory, never a round trip. */
  readonly revocations: Pick<RevocationList, 'isRevoked'>;
  /** Seconds since the epoch, for the allow's cache lifetime. */
  readonly now?: () => number;
}

/**
 * The codes a decision can deny with: those whose status is a deny (401 or 403) in the error table,
 * so a code added there is answered as itself.
 */
export function denyCodes(check: Config['check']): ErrorCode[] {
  return ERROR_CODES.filter((code) => [401, 403].includes(statusFor(code, check.unauthenticatedStatus)));
}

/**
 * Whether an allow is decided once per token and then handed out again: fast-jwt's verify cache
 * gives back the same claims object for the same token, and without a cache lifetime (which depends
 * on the clock) nothing else in the allow changes. Without the verify cache every token gives a new
 * object, and a memo of allows (here or of their answers) would only add work.
 */
export function reusesAllowDecisions(config: Pick<Config, 'check' | 'jwt'>): boolean {
  return config.check.cacheMaxAgeMs === 0 && config.jwt.verifyCacheSize > 0;
}

export function createAccessDecider({ config, verify, identityHeaders, revocations, renew, now = () => Date.now() / 1000 }: AccessDeciderDeps): DecideAccess {
  // One frozen denial per code: a deny allocates nothing.
  const denials = new Map(denyCodes(config.check).map((code): [ErrorCode, AccessDenied] => [code, Object.freeze({ code, claims: undefined })]));
  const tokenMissing = denials.get('token_missing') as AccessDenied;
  const tokenRevoked = denials.get('token_revoked') as AccessDenied;
  const insufficientScope = denials.get('insufficient_scope') as AccessDenied;
  const policyFor = createPolicyCache();
  const cacheMaxAge = config.check.cacheMaxAgeMs / 1000;
  const crossSite = config.csrf.protection && config.cookie.name !== undefined ? createCrossSiteCheck(config.csrf) : undefined;
  /**
   * An unsafe request from another site must not ride on the cookie the browser attaches by itself.
   * A token in the Authorization header was put there by a script of the token's own site.
   */
  const refuseCrossSite = (rawHeaders: readonly string[], method: string | undefined): void => {
    if (crossSite === undefined) return;
    const site = readRequestSite(rawHeaders);
    if (!isSafeMethod(site.originalMethod ?? method ?? 'GET') && crossSite(site)) throw new AppError('cross_site_request');
  };
  // Reused as long as its claims object lives (a WeakMap never keeps it alive).
  const allows = reusesAllowDecisions(config) ? new WeakMap<Claims, AccessAllowed>() : undefined;
  // A cached allow of a renewable cookie token ends where its renewal window starts: nginx would
  // otherwise answer the whole window from its cache, and the session would end instead of renewing.
  const renewBefore = renew === undefined ? 0 : config.session.renewBeforeMs / 1000;
  // An issuer with identity_headers of its own fills the same header names from its own claims.
  const issuerHeaders = new Map<TrustedIssuer, IdentityHeaderBuilder>();
  const identityHeadersOf = (issuer: TrustedIssuer): IdentityHeaderBuilder => {
    if (issuer.identityHeaders === undefined) return identityHeaders;
    let builder = issuerHeaders.get(issuer);
    if (builder === undefined) issuerHeaders.set(issuer, (builder = createIdentityHeaders({ ...config.identityHeaders, headers: issuer.identityHeaders })));
    return builder;
  };
  const allow = (claims: Claims, fromCookie: boolean, issuer: TrustedIssuer): AccessAllowed => {
    let decision = allows?.get(claims);
    if (decision !== undefined) return decision;
    const cacheSeconds = cacheMaxAge > 0 ? cacheLifetime(claims.exp, cacheMaxAge, now() + (fromCookie ? renewBefore : 0)) : 0;
    decision = { code: undefined, claims, identityHeaders: identityHeadersOf(issuer)(claims), cacheSeconds };
    allows?.set(claims, decision);
    return decision;
  };
  const deny = (error: unknown): AccessDenied => {
    if (error instanceof IssuerError) return { code: error.code, claims: undefined, issuer: { name: error.issuer, configured: error.configured } };
    const denial = denials.get(toAppError(error).code);
    if (denial !== undefined) return denial;
    // A bug is still a deny, and a 403/401 rather than a 5xx that nginx would turn into its own 500.
    return { code: 'check_failed', claims: undefined, cause: error };
  };

  const decideOn = (verdict: TokenVerdict, policy: Policy, token: string, fromCookie: boolean): AccessDecision => {
    if (verdict instanceof AppError) return deny(verdict);
    const { claims, issuer } = verdict;
    // Before the policy and before any reused allow: a cached verification never outlives a revocation.
    if (revocations.isRevoked(claims)) return tokenRevoked;
    if (!checkPolicy(policy, claims, issuer.claims ?? config.check)) return insufficientScope;
    const allowed = allow(claims, fromCookie, issuer);
    // Renewal only ever follows an allow (a token denied for any reason is never re-signed), and only
    // of the service's own tokens: an identity provider's session is the provider's to renew.
    const setCookie = fromCookie && issuer.iss === config.jwt.issuer ? renew?.(token, claims) : undefined;
    return setCookie === undefined ? allowed : { ...allowed, cacheSeconds: 0, setCookie };
  };

  return ({ rawHeaders, query, method }) => {
    try {
      const { token, requirement, fromCookie } = readCheckInputs(rawHeaders, config);
      if (token === undefined) return tokenMissing;
      if (fromCookie) refuseCrossSite(rawHeaders, method);
      // The policy is parsed before the token is verified, so a broken policy denies every request alike.
      const policy = policyFor(requirement, query);
      const verdict = verify.verdict(token);
      if (verdict instanceof Promise) return verdict.then((settled) => decideOn(settled, policy, token, fromCookie)).catch(deny);
      return decideOn(verdict, policy, token, fromCookie);
    } catch (error) {
      return deny(error);
    }
  };
}

/** How long nginx may cache an allow: never past the token's own exp, never past the configured bound. */
function cacheLifetime(exp: unknown, maxAge: number, nowSeconds: number): number {
  if (typeof exp !== 'number') return maxAge;
  return Math.max(0, Math.min(maxAge, Math.floor(exp - nowSeconds)));
}
