/**
 * The one table of error codes and the HTTP status each maps to. Every deny, every failed login and
 * every internal failure is an {@link AppError} with one of these codes; routes never pick statuses.
 */

/** Marks codes answered with the operator's unauthenticated status (403, or 401 per RFC 6750). */
const UNAUTHENTICATED = 'unauthenticated';

const STATUS = {
  /** No token in the Authorization header nor in the configured cookie. */
  token_missing: UNAUTHENTICATED,
  /** Two Authorization lines, two credentials on one line, or a header and a cookie that disagree. */
  token_ambiguous: UNAUTHENTICATED,
  /** Longer than JWT_MAX_TOKEN_LENGTH: refused before any decoding. */
  token_too_long: UNAUTHENTICATED,
  /** Not three base64url segments of a JSON header and payload, or an unsupported scheme. */
  token_malformed: UNAUTHENTICATED,
  /** The header's alg is not one of the configured keys' algorithms (covers `none` in any case). */
  token_algorithm_not_allowed: UNAUTHENTICATED,
  /** The header names a kid that no key of the token's issuer has (a fetched JWK Set is asked again first, within its cooldown). */
  token_key_unknown: UNAUTHENTICATED,
  /** The token's `iss` is none of the trusted issuers, and the service's own issuer (JWT_ISSUER) is a different one or absent. */
  token_issuer_unknown: UNAUTHENTICATED,
  /**
   * The token's issuer has no keys that may be used: its key server has not answered yet, or not for
   * longer than JWKS_MAX_STALE past the keys' cache lifetime. The token may be fine; we cannot tell.
   */
  issuer_keys_unavailable: UNAUTHENTICATED,
  /** The signature does not verify with the key the header selects. */
  token_signature_invalid: UNAUTHENTICATED,
  /** exp is in the past (beyond the clock tolerance). */
  token_expired: UNAUTHENTICATED,
  /**
   * A valid token that was revoked: its jti by a logout or `revoke --jti`, or every token of its subject
   * issued up to a moment by `revoke --sub`. Tokens of that subject without iat count as issued before.
   */
  token_revoked: UNAUTHENTICATED,
  /** nbf is in the future (beyond the clock tolerance). */
  token_not_yet_valid: UNAUTHENTICATED,
  /** A required claim is missing, iss / aud / exp / nbf has the wrong value or type, or sub is not a non-empty string. */
  token_claims_invalid: UNAUTHENTICATED,
  /** A header parameter we refuse: unsupported `crit` (RFC 7515 §4.1.11), `b64: false` (RFC 7797). */
  token_header_invalid: UNAUTHENTICATED,
  /**
   * node's HTTP parser refused a /check request (a control byte in a header, a header block over the
   * size bound): answered as a deny, since nginx turns any other status into its own 500.
   */
  request_malformed: UNAUTHENTICATED,

  /** A valid token that fails the location's policy (RFC 6750 §3.1). */
  insufficient_scope: 403,
  /** The location's policy could not be parsed: an operator error, and still a deny. */
  policy_invalid: 403,
  /** A claim that would become an identity header is too long to pass on safely. */
  identity_too_large: 403,
  /**
   * A cookie-authenticated request from another site: an unsafe method at /check, or any /login or
   * /logout while the token lives in a cookie (Origin or Sec-Fetch-Site says so; CSRF_ALLOWED_ORIGINS).
   */
  cross_site_request: 403,
  /** /check failed unexpectedly (a bug, logged with its cause): still a deny, never a 5xx nginx would mask. */
  check_failed: 403,

  /** An HTTP method the route does not serve. */
  method_not_allowed: 405,
  /** The login body is larger than LOGIN_BODY_LIMIT. */
  body_too_large: 413,
  /** The login body could not be read (client aborted, bad encoding). */
  body_invalid: 400,
  /**
   * The login body is not one unambiguous JSON object or form: a BOM, invalid UTF-8 or
   * percent-encoding, a duplicate JSON member name, the username field twice or not a string.
   */
  body_malformed: 400,
  /** The per-username limit is on and the login body names no username (absent or blank). */
  username_missing: 400,
  /** A login body that is neither application/json nor application/x-www-form-urlencoded (charset=utf-8 at most). */
  unsupported_media_type: 415,
  /** node's HTTP parser refused a request to any route but /check (bad syntax, a control byte). */
  request_invalid: 400,
  /** The same, for a header block over the size bound (RFC 6585 §5). */
  request_headers_too_large: 431,
  /** Too many failed logins for this client address or username. */
  rate_limited: 429,
  /** The authenticator could not be reached (refused, reset, DNS). */
  authenticator_unavailable: 502,
  /** The authenticator answered something that is not a usable user object (5xx, garbage, too big, redirect). */
  authenticator_bad_response: 502,
  /**
   * The token /login would issue is longer than JWT_MAX_TOKEN_LENGTH (so /check would refuse it), or
   * its Set-Cookie is longer than browsers keep: the authenticator's user object is too big.
   */
  issued_token_too_long: 502,
  /** The authenticator did not answer within AUTHENTICATOR_TIMEOUT. */
  authenticator_timeout: 504,
  /** A /refresh body without a refresh_token (a JSON object or a form, RFC 6749 §6). */
  refresh_token_missing: 400,
  /** A refresh token that is not ours, expired, or of a revoked or ended session. */
  refresh_token_invalid: 401,
  /** A refresh token already rotated was presented again: its whole family is revoked (RFC 9700 §4.14.2). */
  refresh_token_reused: 401,
  /** The refresh token's session was revoked: logged out, or its subject revoked after the login. */
  refresh_token_revoked: 401,
  /** The refresh-token store (Redis) cannot answer: no token is issued that it could not record. */
  refresh_store_unavailable: 503,
  /**
   * /logout was given a valid token with neither jti nor sid, which cannot be revoked by itself (the
   * cookie is still cleared; `revoke --sub` revokes every token of the subject). Tokens this service
   * signs always carry both.
   */
  token_not_revocable: 422,
  /**
   * A revocation could not be stored where every instance sees it (Redis down or slow, or the cluster
   * primary silent): nothing was revoked and the token still passes. Try again.
   */
  revocation_unavailable: 503,
  /** No route here. */
  not_found: 404,
  /** A bug: never expected, logged with its cause. */
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof STATUS;

/** Every code, in the order of the table above. */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(STATUS) as ErrorCode[]);

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  /** Extra response headers the answer needs, such as Retry-After on a 429. */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * `message` is for logs only: responses carry the code, never this text. No stack trace is
   * captured: an AppError is thrown on purpose and its code says where (an unexpected error keeps
   * its own stack as the cause), while capturing one is a large part of what a deny costs, and
   * denies are what a flood is made of.
   */
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message ?? code, options);
    Error.stackTraceLimit = stackTraceLimit;
    this.code = code;
    this.headers = options?.headers ?? {};
  }
}

/**
 * The status for a code. Unauthenticated codes take the operator's choice: 403 like the original
 * OpenResty recipe, or 401 for RFC 6750 semantics.
 */
export function statusFor(code: ErrorCode, unauthenticatedStatus: 401 | 403): number {
  const status = STATUS[code];
  return status === UNAUTHENTICATED ? unauthenticatedStatus : status;
}

/** Wraps anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError(error: unknown): AppError {
  return error instanceof AppError ? error : new AppError('internal_error', 'unexpected error', { cause: error });
}
