/**
 * Set-Cookie for the token cookie. Written here rather than through Koa's `ctx.cookies`, which refuses
 * a Secure cookie on the plain-HTTP hop from nginx even when the browser's connection is HTTPS.
 */
import type { Config } from '../config/index.js';

export function tokenCookie(name: string, value: string, maxAgeSeconds: number, cookie: Config['cookie']): string {
  const attributes = [`${name}=${value}`, `Max-Age=${maxAgeSeconds}`, `Path=${cookie.path}`, 'HttpOnly', `SameSite=${cookie.sameSite}`];
  if (cookie.secure) attributes.push('Secure');
  if (cookie.domain !== undefined) attributes.push(`Domain=${cookie.domain}`);
  return attributes.join('; ');
}

/** The same cookie, expired: browsers drop it (RFC 6265 §5.3 step 11). */
export function clearedTokenCookie(name: string, cookie: Config['cookie']): string {
  return tokenCookie(name, '', 0, cookie);
}
