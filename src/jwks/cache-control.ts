/**
 * How long a fetched JWK Set is fresh: the server's Cache-Control max-age (RFC 9111 §5.2.2.1), less
 * the Age a cache in between already spent (§4.2.3), bounded to the configured [min, max]. Without a
 * usable max-age (none, no-cache, no-store, malformed, given twice) the minimum applies: the server
 * said nothing we can trust, and refetching often is the safe side for keys.
 */
import type { IncomingHttpHeaders } from 'node:http';

const DELTA_SECONDS = /^\d{1,10}$/;

/** max-age in seconds, or undefined when absent, contradicted or malformed. */
export function maxAgeSeconds(cacheControl: string | undefined): number | undefined {
  if (cacheControl === undefined) return undefined;
  let maxAge: number | undefined;
  let seen = false;
  for (const part of cacheControl.split(',')) {
    const [rawName = '', ...rest] = part.split('=');
    const name = rawName.trim().toLowerCase();
    if (name === 'no-cache' || name === 'no-store') return undefined;
    if (name !== 'max-age') continue;
    if (seen) return undefined;
    seen = true;
    const value = rest
      .join('=')
      .trim()
      .replace(/^"(.*)"$/, '$1');
    maxAge = DELTA_SECONDS.test(value) ? Number(value) : undefined;
  }
  return maxAge;
}

export function cacheLifetimeMs(headers: IncomingHttpHeaders, minMs: number, maxMs: number): number {
  const maxAge = maxAgeSeconds(headers['cache-control']);
  if (maxAge === undefined) return minMs;
  const ageHeader = headers.age?.trim();
  const age = ageHeader !== undefined && DELTA_SECONDS.test(ageHeader) ? Number(ageHeader) : 0;
  return Math.min(maxMs, Math.max(minMs, (maxAge - age) * 1000));
}
