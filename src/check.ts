/**
 * The /check decision, independent of any HTTP framework: raw headers and the auth URI's query in,
 * a status with every response header and a body out. Deny answers are built once per code at
 * start; with fast-jwt's verify cache on, an allow is built once per cached claims object.
 */
import type { Config } from './config/index.js';
import { readCheckInputs, readRequestSite } from './credentials.js';
import { createCrossSiteCheck, isSafeMethod } from './cross-site.js';
import { AppError, ERROR_CODES, statusFor, toAppError, type ErrorCode } from './errors.js';
import type { HeaderList, IdentityHeaderBuilder } from './identity-headers.js';
import { checkPolicy, createPolicyCache } from './policy.js';
import type { Claims, TokenVerifier } from './token/verify.js';

export interface CheckRequest {
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

export interface Decision {
  readonly status: number;
  /**
   * Every response header as flat name/value pairs, framing included (Content-Type, Content-Length),
   * ready for node's `res.writeHead(status, headers)`. Shared between requests: never modify it.
   */
  readonly headers: readonly string[];
  readonly body: string;
  /** Why it was denied; undefined on allow. */
  readonly code: ErrorCode | undefined;
  readonly claims: Claims | undefined;
  /** The unexpected error behind a check_failed denial, for the log. */
  readonly cause?: unknown;
}

export type Check = (request: CheckRequest) => Decision;

export interface CheckDeps {
  readonly config: Config;
  readonly verify: TokenVerifier;
  readonly identityHeaders: IdentityHeaderBuilder;
  /** Seconds since the epoch, for X-Accel-Expires. */
  readonly now?: () => number;
}

/** The deny answer for one code: status, headers and body never vary per request. */
export function buildDenial(code: ErrorCode, check: Config['check']): Decision {
  const status = statusFor(code, check.unauthenticatedStatus);
  const realm = `Bearer realm="${check.realm.replace(/["\\]/g, '')}"`;
  // X-Accel-Expires: 0 keeps a denial out of nginx's cache whatever the cache settings say.
  const headers: HeaderList = ['x-auth-error', code, 'cache-control', 'no-store', 'x-accel-expires', '0', 'content-type', 'application/json'];
  // RFC 6750 §3: no error attribute when the request had no credentials at all; a request the HTTP
  // parser refused is an invalid_request, whatever token it carried.
  if (status === 401) headers.push('www-authenticate', code === 'token_missing' ? realm : `${realm}, error="${code === 'request_malformed' ? 'invalid_request' : 'invalid_token'}"`);
  if (code === 'insufficient_scope') headers.push('www-authenticate', `${realm}, error="insufficient_scope"`);
  const body = JSON.stringify({ error: code });
  headers.push('Content-Length', String(Buffer.byteLength(body)));
  return { status, headers, body, code, claims: undefined };
}

/**
 * A denial for every code that /check can answer with, built once: the codes whose status is a
 * deny (401 or 403) in the error table, so a code added there is answered as itself here.
 */
function buildDenials(check: Config['check']): ReadonlyMap<ErrorCode, Decision> {
  const isDeny = (code: ErrorCode): boolean => [401, 403].includes(statusFor(code, check.unauthenticatedStatus));
  return new Map(ERROR_CODES.filter(isDeny).map((code) => [code, buildDenial(code, check)]));
}

/**
 * Closes an allow's header list the way Koa framed it when /check was a Koa route (an empty string
 * body: text/plain, length 0), so nginx and tests see the same framing as before.
 */
const ALLOW_FRAMING = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '0'] as const;

export function createCheck({ config, verify, identityHeaders, now = () => Date.now() / 1000 }: CheckDeps): Check {
  const denials = buildDenials(config.check);
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
  // fast-jwt's verify cache hands back the same claims object for the same token, so the allow
  // built for it can be reused as long as that object lives (a WeakMap never keeps it alive).
  // Without the cache every token gives a new object and a memo would only add work.
  const allows = cacheMaxAge === 0 && config.jwt.verifyCacheSize > 0 ? new WeakMap<Claims, Decision>() : undefined;
  const allow = (claims: Claims): Decision => {
    let decision = allows?.get(claims);
    if (decision !== undefined) return decision;
    const headers = identityHeaders(claims);
    // Always said, 0 included: X-Accel-Expires overrides any proxy_cache_valid in the auth location,
    // so with CHECK_CACHE_MAX_AGE=0 no nginx setting can keep an allow, let alone past exp.
    headers.push('x-accel-expires', cacheMaxAge > 0 ? String(cacheSeconds(claims.exp, cacheMaxAge, now())) : '0', ...ALLOW_FRAMING);
    decision = { status: 200, headers, body: '', code: undefined, claims };
    allows?.set(claims, decision);
    return decision;
  };
  const deny = (error: unknown): Decision => {
    const denial = denials.get(toAppError(error).code);
    if (denial !== undefined) return denial;
    // A bug is still a deny, and a 403/401 rather than a 5xx that nginx would turn into its own 500.
    return { ...(denials.get('check_failed') as Decision), cause: error };
  };

  return ({ rawHeaders, query, method }) => {
    try {
      const { token, requirement, fromCookie } = readCheckInputs(rawHeaders, config);
      if (token === undefined) return denials.get('token_missing') as Decision;
      if (fromCookie) refuseCrossSite(rawHeaders, method);
      // The policy is parsed before the token is verified, so a broken policy denies every request alike.
      const policy = policyFor(requirement, query);
      const claims = verify(token);
      if (!checkPolicy(policy, claims)) throw new AppError('insufficient_scope');
      return allow(claims);
    } catch (error) {
      return deny(error);
    }
  };
}

/** How long nginx may cache an allow: never past the token's own exp, never past the configured bound. */
function cacheSeconds(exp: unknown, maxAge: number, nowSeconds: number): number {
  if (typeof exp !== 'number') return maxAge;
  return Math.max(0, Math.min(maxAge, Math.floor(exp - nowSeconds)));
}
