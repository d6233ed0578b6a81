/**
 * Finds the one credential of a /check request. Node's `req.headers` merges or drops repeated
 * headers, so this reads `req.rawHeaders`, where a second Authorization line is still visible.
 */
import type { Config } from './config/index.js';
import type { SiteSignals } from './cross-site.js';
import { AppError } from './errors.js';

export interface CheckInputs {
  /** The token, or undefined when the request carries none. */
  readonly token: string | undefined;
  /** X-Auth-Require lines joined with `;` (terms are ANDed, so joining keeps every line's meaning). */
  readonly requirement: string;
  /** The token came from the cookie alone: a browser may have sent it without the page asking. */
  readonly fromCookie: boolean;
}

const BEARER = /^bearer[ \t]+/i;

function tokenFromAuthorization(value: string, acceptRawToken: boolean): string {
  const trimmed = value.trim();
  const bearer = BEARER.exec(trimmed);
  // "Basic …", "Digest …": another scheme (RFC 9110 §11.4), not two credentials, whatever the raw-token setting.
  if (!bearer && /[ \t]/.test(trimmed)) throw new AppError('token_malformed', 'Authorization scheme is not Bearer');
  const credential = bearer ? trimmed.slice(bearer[0].length) : trimmed;
  // "Bearer a, Bearer b" or "Bearer a b": more than one credential on one line.
  if (/[\s,]/.test(credential)) throw new AppError('token_ambiguous', 'two credentials in Authorization');
  if (credential === '') throw new AppError('token_malformed', 'empty bearer token');
  // The original OpenResty recipe sent the bare token; accept it only when the operator asks.
  if (!bearer && !acceptRawToken) throw new AppError('token_malformed', 'Authorization scheme is not Bearer');
  return credential;
}

/** Values of cookie `name` across every Cookie line (RFC 6265 §5.4 lets HTTP/2 split them). */
function cookieValues(cookieLines: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (const line of cookieLines) {
    for (const pair of line.split(';')) {
      const equals = pair.indexOf('=');
      if (equals < 0 || pair.slice(0, equals).trim() !== name) continue;
      let value = pair.slice(equals + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      values.push(value);
    }
  }
  return values;
}

/**
 * Reads the credential and the policy requirement from raw header pairs.
 * @throws AppError token_ambiguous / token_malformed.
 */
export function readCheckInputs(rawHeaders: readonly string[], { check, cookie }: Pick<Config, 'check' | 'cookie'>): CheckInputs {
  const tokenCookie = cookie.name;
  let authorization: string | undefined;
  let authorizationLines = 0;
  let requirement = '';
  let cookieLines: string[] | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    // Header names are compared by length first: most headers are skipped without lower-casing.
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      authorizationLines++;
      authorization = rawHeaders[i + 1] as string;
    } else if (name.length === 14 && name.toLowerCase() === 'x-auth-require') {
      requirement = requirement === '' ? (rawHeaders[i + 1] as string) : `${requirement};${rawHeaders[i + 1]}`;
    } else if (tokenCookie !== undefined && name.length === 6 && name.toLowerCase() === 'cookie') {
      (cookieLines ??= []).push(rawHeaders[i + 1] as string);
    }
  }
  if (authorizationLines > 1) throw new AppError('token_ambiguous', 'more than one Authorization header');

  const headerToken = authorization === undefined ? undefined : tokenFromAuthorization(authorization, check.acceptRawToken);
  let cookieToken: string | undefined;
  if (cookieLines !== undefined && tokenCookie !== undefined) {
    const values = cookieValues(cookieLines, tokenCookie);
    if (new Set(values).size > 1) throw new AppError('token_ambiguous', 'the token cookie is set twice');
    cookieToken = values[0] === '' ? undefined : values[0];
  }
  if (headerToken !== undefined && cookieToken !== undefined && headerToken !== cookieToken) {
    throw new AppError('token_ambiguous', 'Authorization header and cookie carry different tokens');
  }
  return { token: headerToken ?? cookieToken, requirement, fromCookie: headerToken === undefined && cookieToken !== undefined };
}

export interface RequestSite extends SiteSignals {
  /** X-Original-Method: the client's method behind nginx's auth subrequest (always GET itself). */
  readonly originalMethod: string | undefined;
}

const SITE_HEADERS: ReadonlyMap<string, keyof RequestSite> = new Map([
  ['origin', 'origin'],
  ['sec-fetch-site', 'secFetchSite'],
  ['host', 'host'],
  ['x-forwarded-host', 'forwardedHost'],
  ['x-forwarded-proto', 'forwardedProto'],
  ['x-original-method', 'originalMethod'],
]);

/**
 * The headers that tell whether a request is cross-site, read only for requests that carry their
 * token in a cookie (a second pass, so Bearer requests never pay for it). Repeated lines are joined
 * with ", " as node does, which no origin, host or method matches.
 */
export function readRequestSite(rawHeaders: readonly string[]): RequestSite {
  const site: Partial<Record<keyof RequestSite, string>> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const field = SITE_HEADERS.get((rawHeaders[i] as string).toLowerCase());
    if (field === undefined) continue;
    const value = rawHeaders[i + 1] as string;
    const previous = site[field];
    site[field] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return site as RequestSite;
}
