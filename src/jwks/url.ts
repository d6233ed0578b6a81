/**
 * Which URLs the service fetches keys or discovery documents from. The rules are the same for a
 * configured JWKS URL, an issuer's discovery URL and the jwks_uri a discovery document names, so a
 * document cannot lead the service somewhere configuration could not.
 */
import { isIP } from 'node:net';

/**
 * Loopback hosts, where plain http cannot be read or changed by anyone off the machine: a sidecar,
 * the tests. URL has already normalized numeric spellings (http://2130706433/ is 127.0.0.1).
 */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  if (hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/** Why `text` may not be fetched from, or undefined when it may. */
export function keySetUrlProblem(text: string, allowInsecureHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${JSON.stringify(text)} is not an absolute URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol} URLs are not fetched, only https: (or http: on loopback)`;
  // Credentials in a URL would reach logs and metric labels, which name the URL.
  if (url.username !== '' || url.password !== '') return 'a URL must not carry a user name or password';
  if (url.hash !== '') return 'a URL must not have a #fragment';
  if (url.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(url.hostname)) {
    return `plain http:// is only fetched from loopback hosts (127.0.0.0/8, ::1, localhost), not ${url.hostname}: use https://, or allow insecure http explicitly`;
  }
  return undefined;
}

/** @throws Error naming the problem */
export function checkedKeySetUrl(text: string, allowInsecureHttp: boolean): URL {
  const problem = keySetUrlProblem(text, allowInsecureHttp);
  if (problem !== undefined) throw new Error(problem);
  return new URL(text);
}
