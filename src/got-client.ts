/**
 * got.extend for the service's two clients (the authenticator's, the key-set fetcher's), with one
 * workaround for a V8 defect. got builds each request's node:http options as one object literal that
 * spreads `cacheOptions` (four keys, all undefined unless a cache is set) and then adds some thirty
 * more properties; on Node 20's V8, a literal that spreads an object with keys and then adds that
 * many costs ~40 µs (crbug.com/v8/11536), a tenth of a login's service CPU. The service never gives
 * got a cache, so got never reads cacheOptions: emptied, the same literal costs ~2 µs.
 */
import got, { type ExtendOptions, type Got } from 'got';

export function extendGot(options: ExtendOptions): Got {
  // Mutable only until frozen again below: the one way to replace, rather than merge into, a default.
  const client = got.extend({ ...options, mutableDefaults: true });
  client.defaults.options.cacheOptions = {};
  client.defaults.options.freeze();
  return client;
}
