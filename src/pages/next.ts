/**
 * Where a browser may be sent after signing in or out: the `next` it carried, when it names a page
 * of this site, else the configured default. Security-critical, so written out here: an open
 * redirect would turn this site's sign-in page into a phishing relay.
 *
 * nginx's 401/403 hand-over sends `?next=` followed by the raw request URI (it cannot percent-encode
 * a variable), so when the query starts with `next=` everything after it is the destination, `&`s
 * included; a hand-written link may percent-encode it instead (`?next=%2Fadmin%2F`), and a value
 * that does not start with "/" is decoded once.
 *
 * The WHATWG URL parser decides (node's is the browsers'), never the text: it drops tabs and
 * newlines and reads "\" as "/" before it looks for a host, exactly as the browser will. The answer
 * is always a path on this site (path and query, never scheme or host), so even a forged
 * X-Forwarded-Host cannot make it leave the site the browser is on.
 */

/** The destination text a query carries, or undefined. */
export function nextFromQuery(rawQuery: string): string | undefined {
  const marker = 'next=';
  if (rawQuery.startsWith(marker)) {
    const raw = rawQuery.slice(marker.length);
    return raw.startsWith('/') ? raw : (new URLSearchParams(`next=${raw}`).get('next') ?? undefined);
  }
  return new URLSearchParams(rawQuery).get('next') ?? undefined;
}

/** nginx matches locations on the decoded path with repeated slashes merged: "/%6Cogin" is /login too. */
function servedPath(pathname: string): string {
  return pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))).replace(/\/+/g, '/');
}

export interface DestinationRules {
  /** This site's origin as the browser sees it (scheme://host[:port]), when known. */
  readonly origin: string | undefined;
  /** Pages a browser is never sent back to (the sign-in page itself: it would loop). */
  readonly refusedPaths: readonly string[];
  /** Where to go otherwise. */
  readonly fallback: string;
}

/** Stands in for an unknown origin: only relative destinations can then match it. */
const UNKNOWN_ORIGIN = 'http://origin.invalid';

/** A path (with query) on this site to send the browser to; `fallback` unless `candidate` is one. */
export function safeDestination(candidate: string | undefined, { origin, refusedPaths, fallback }: DestinationRules): string {
  if (candidate === undefined || candidate === '') return fallback;
  let base: URL;
  try {
    base = new URL(origin ?? UNKNOWN_ORIGIN);
  } catch {
    base = new URL(UNKNOWN_ORIGIN);
  }
  let url: URL;
  try {
    url = new URL(candidate, base);
  } catch {
    return fallback;
  }
  if (url.origin === 'null' || url.origin !== base.origin || (url.protocol !== 'http:' && url.protocol !== 'https:')) return fallback;
  const path = servedPath(url.pathname);
  if (refusedPaths.some((refused) => path === servedPath(refused))) return fallback;
  const local = `${url.pathname}${url.search}`;
  // "//host/…" as a Location would be another host; the parser can produce such a path ("/.//host").
  if (!local.startsWith('/') || local.startsWith('//')) return fallback;
  return local;
}
