/**
 * The token cookie: the name /check reads it from, whether /login sets it, and the attributes of the
 * Set-Cookie line. Everything here is written into a header, so every value is checked against its grammar.
 */
import { TOKEN, type EnvReader } from './env-reader.js';

const SAME_SITE = ['Strict', 'Lax', 'None'] as const;

export interface CookieConfig {
  /** The cookie /check reads a token from, and /login sets and clears; undefined: no cookie at all. */
  readonly name: string | undefined;
  /** /login answers with a Set-Cookie for the token (needs name). */
  readonly setOnLogin: boolean;
  readonly secure: boolean;
  readonly sameSite: (typeof SAME_SITE)[number];
  readonly domain: string | undefined;
  readonly path: string;
}

/**
 * RFC 6265 §4.1.1 path-value: any CHAR but CTLs and ";", so it cannot end the attribute and start another.
 * It must start with "/": browsers replace any other value with the request's directory (§5.2.4).
 */
function readPath(env: EnvReader): string {
  const path = env.string('COOKIE_PATH') ?? '/';
  if (!/^\/[\x20-\x3a\x3c-\x7e]*$/.test(path))
    env.problem(`COOKIE_PATH: expected a path such as / or /app, starting with / and without ";" or control characters, got "${path}"`);
  return path;
}

/** RFC 6265 §4.1.2.3 domain-value: a host name (letters, digits, hyphens in dot-separated labels), an optional leading dot. */
function readDomain(env: EnvReader): string | undefined {
  const domain = env.string('COOKIE_DOMAIN');
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
  const hostname = new RegExp(`^\\.?${label}(?:\\.${label})*$`);
  if (domain !== undefined && (domain.length > 253 || !hostname.test(domain)))
    env.problem(`COOKIE_DOMAIN: expected a host name such as app.example, got "${domain}"`);
  return domain;
}

export function readCookie(env: EnvReader): CookieConfig {
  const name = env.string('TOKEN_COOKIE');
  if (name !== undefined && !TOKEN.test(name)) env.problem(`TOKEN_COOKIE: "${name}" is not a valid cookie name`);
  const setOnLogin = env.boolean('LOGIN_SET_COOKIE', false);
  if (setOnLogin && name === undefined) env.problem('LOGIN_SET_COOKIE=true needs TOKEN_COOKIE (the cookie name)');
  const sameSite = env.oneOf('COOKIE_SAMESITE', SAME_SITE, 'Lax');
  const secure = env.boolean('COOKIE_SECURE', true);
  if (sameSite === 'None' && !secure) env.problem('COOKIE_SAMESITE=None needs COOKIE_SECURE=true (browsers refuse it otherwise)');
  return { name, setOnLogin, secure, sameSite, domain: readDomain(env), path: readPath(env) };
}
