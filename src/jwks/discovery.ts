/**
 * OpenID Connect Discovery 1.0: the issuer's metadata names its jwks_uri. The document must name the
 * issuer exactly (§4.3: otherwise a document served for one issuer could vouch keys for another), and
 * the jwks_uri must pass the same URL rules as a configured one.
 */
import { createJsonFetcher, KeySetFetchError, type FetchOptions, type JsonFetcher } from './fetch.js';
import { keySetUrlProblem } from './url.js';

/** Why `issuer` cannot be discovered (§2: a URL without query or fragment), or undefined. */
export function issuerUrlProblem(issuer: string, allowInsecureHttp: boolean): string | undefined {
  const problem = keySetUrlProblem(issuer, allowInsecureHttp);
  if (problem !== undefined) return problem;
  if (new URL(issuer).search !== '') return 'an issuer URL must not have a ?query (OpenID Connect Discovery §2)';
  return undefined;
}

/** §4: the issuer without its trailing slash, then /.well-known/openid-configuration. */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * @param fetcher a fetcher to reuse (a remote key set's own); one is made from `options` and closed otherwise.
 * @throws KeySetFetchError (`invalid` for a document that is not the issuer's or names no usable jwks_uri)
 */
export async function discoverJwksUri(issuer: string, options: FetchOptions, fetcher?: JsonFetcher): Promise<string> {
  const problem = issuerUrlProblem(issuer, options.allowInsecureHttp);
  if (problem !== undefined) throw new KeySetFetchError('invalid', `issuer ${issuer}: ${problem}`);
  const client = fetcher ?? createJsonFetcher(options);
  try {
    const url = discoveryUrlOf(issuer);
    const { body } = await client.get(url);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new KeySetFetchError('invalid', `${url} is not a JSON object`);
    const document = body as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== issuer) {
      throw new KeySetFetchError(
        'invalid',
        `${url} names the issuer ${JSON.stringify(document.issuer)}, not ${JSON.stringify(issuer)}: it must be the same exactly`,
      );
    }
    if (typeof document.jwks_uri !== 'string') throw new KeySetFetchError('invalid', `${url} names no jwks_uri`);
    const jwksProblem = keySetUrlProblem(document.jwks_uri, options.allowInsecureHttp);
    if (jwksProblem !== undefined) throw new KeySetFetchError('invalid', `${url}: its jwks_uri ${document.jwks_uri} is refused: ${jwksProblem}`);
    return document.jwks_uri;
  } finally {
    if (fetcher === undefined) client.close();
  }
}
