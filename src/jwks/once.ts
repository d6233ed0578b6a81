/**
 * One fetch for `check-config --online`: what an operator needs to see to trust the configuration
 * (the URL discovery found, each key with its kid, algorithm and type, each ignored key with why), or
 * the one reason nothing was found. Nothing is cached or retried.
 */
import type { Algorithm } from '../algorithms.js';
import { createJsonFetcher, type FetchFailure, type FetchOptions } from './fetch.js';
import type { IgnoredKey } from './parse.js';
import { attempt } from './remote-key-set.js';

export interface FetchOnceOptions extends FetchOptions {
  readonly issuer: string;
  /** The JWK Set URL; absent: discovered from `issuer`. */
  readonly url?: string | undefined;
  readonly algorithms: readonly Algorithm[];
  /** For the reported cache lifetime; defaults 0 and Infinity (the server's own max-age). */
  readonly minCacheMs?: number | undefined;
  readonly maxCacheMs?: number | undefined;
}

export interface FoundKey {
  readonly kid: string;
  readonly alg: Algorithm;
  readonly kty: string;
}

export type FetchOnceReport =
  | {
      readonly ok: true;
      readonly issuer: string;
      readonly url: string;
      readonly keys: readonly FoundKey[];
      readonly ignored: readonly IgnoredKey[];
      /** How long the keys would be cached (Cache-Control bounded to [min, max]). */
      readonly cacheMs: number;
    }
  | {
      readonly ok: false;
      readonly issuer: string;
      /** Absent when discovery failed before naming one. */
      readonly url: string | undefined;
      readonly result: FetchFailure;
      readonly error: string;
      readonly ignored: readonly IgnoredKey[];
    };

/** Never throws: a failure is a report with `ok: false`. */
export async function fetchKeySetOnce(options: FetchOnceOptions): Promise<FetchOnceReport> {
  const fetcher = createJsonFetcher(options);
  try {
    const found = await attempt({
      issuer: options.issuer,
      jwksUrl: options.url,
      algorithms: options.algorithms,
      minCacheMs: options.minCacheMs ?? 0,
      maxCacheMs: options.maxCacheMs ?? Number.POSITIVE_INFINITY,
      fetchOptions: options,
      fetcher,
    });
    const { issuer } = options;
    const { jwksUrl, failure, ignored } = found;
    if (failure !== undefined || jwksUrl === undefined) {
      return { ok: false, issuer, url: jwksUrl, result: failure?.result ?? 'invalid', error: failure?.message ?? 'no JWK Set URL', ignored };
    }
    const keys = found.keys.map((key) => ({ kid: key.kid, alg: key.alg, kty: String(key.publicJwk?.kty) }));
    return { ok: true, issuer, url: jwksUrl, keys, ignored, cacheMs: found.lifetimeMs };
  } finally {
    fetcher.close();
  }
}
