/**
 * Whether a request was sent by a page of another site, from what browsers say about it: Origin
 * (RFC 6454, sent on every cross-origin request and on every POST) and Sec-Fetch-Site (Fetch
 * Metadata). A cookie rides along on such requests on its own, so in cookie mode they must not log
 * in, log out or do anything unsafe. Requests with neither header (curl, server-to-server) are not
 * from a browser page and pass.
 */
import type { Config } from './config/index.js';

/** The request's headers that decide it; a repeated header arrives joined with ", " and never matches. */
export interface SiteSignals {
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly host: string | undefined;
  /** nginx's `$http_host`: the client's Host, port included (`$host` drops it). */
  readonly forwardedHost: string | undefined;
  readonly forwardedProto: string | undefined;
}

export type CrossSiteCheck = (signals: SiteSignals) => boolean;

/** `<X-Forwarded-Proto or http>://<X-Forwarded-Host or Host>` serialized as an Origin header is, or undefined. */
function ownOrigin({ host, forwardedHost, forwardedProto }: SiteSignals): string | undefined {
  const scheme = forwardedProto ?? 'http';
  const authority = forwardedHost ?? host;
  if ((scheme !== 'http' && scheme !== 'https') || authority === undefined) return undefined;
  try {
    const url = new URL(`${scheme}://${authority}`);
    // Anything after the authority (a path, userinfo, a joined second header) is not one host.
    return url.href === `${url.origin}/` ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A check for cross-site requests: Origin is `null` (opaque: sandboxed frames, cross-site
 * redirects) or another origin than the request's own that the operator did not allow, or
 * Sec-Fetch-Site is anything but `same-origin` / `none` (typed into the address bar). An allowed
 * origin passes whatever Sec-Fetch-Site says: for it, `same-site` and `cross-site` are expected.
 */
export function createCrossSiteCheck(csrf: Config['csrf']): CrossSiteCheck {
  const allowed: ReadonlySet<string> = new Set(csrf.allowedOrigins);
  return (signals) => {
    const { origin, secFetchSite } = signals;
    if (origin !== undefined) {
      if (allowed.has(origin)) return false;
      // Compared exactly: browsers send the serialized origin, lower case, without a default port.
      if (origin !== ownOrigin(signals)) return true;
    }
    return secFetchSite !== undefined && secFetchSite !== 'same-origin' && secFetchSite !== 'none';
  };
}

/** Methods that must not change anything (RFC 9110 §9.2.1); every other method is unsafe. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
