/**
 * The address of the user behind a login, for rate limiting and the authenticator. Forwarding headers
 * are believed only when the peer itself is a trusted proxy (nginx), since anyone can send them.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Anything that can say whether an address is a trusted proxy (config's TRUSTED_PROXIES is one). */
export interface TrustedProxies {
  has(address: string): boolean;
}

/** Strips the IPv4-mapped IPv6 prefix so "::ffff:127.0.0.1" matches "127.0.0.1". */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function clientAddress(peer: string | undefined, headers: IncomingHttpHeaders, trustedProxies: TrustedProxies): string {
  let address = normalise(peer ?? 'unknown');
  if (!trustedProxies.has(address)) return address;
  // Walk X-Forwarded-For from the right: each trusted hop vouches for the one before it.
  const forwarded = String(headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((hop) => normalise(hop.trim()))
    .filter((hop) => hop !== '');
  while (forwarded.length > 0 && trustedProxies.has(address)) address = forwarded.pop() as string;
  if (trustedProxies.has(address)) {
    const realIp = headers['x-real-ip'];
    if (typeof realIp === 'string' && realIp.trim() !== '') address = normalise(realIp.trim());
  }
  return address;
}
