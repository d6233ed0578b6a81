/** Remote keys of an identity provider: a JWK Set URL or OpenID discovery, kept current off the request path. */
export { remoteKeySet, type KeySetHealth, type KeySetState, type RemoteKeySet, type RemoteKeySetOptions } from './remote-key-set.js';
export { discoverJwksUri, discoveryUrlOf, issuerUrlProblem } from './discovery.js';
export { fetchKeySetOnce, type FetchOnceOptions, type FetchOnceReport, type FoundKey } from './once.js';
export { FETCH_RESULTS, KeySetFetchError, MAX_REDIRECTS, type FetchFailure, type FetchOptions, type FetchResult } from './fetch.js';
export { MAX_KEYS, parseKeySet, type IgnoredKey, type ParsedKeySet } from './parse.js';
export { cacheLifetimeMs, maxAgeSeconds } from './cache-control.js';
export { isLoopbackHost, keySetUrlProblem } from './url.js';
export { systemClock, type Clock } from './clock.js';
