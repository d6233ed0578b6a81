/**
 * An identity provider's keys, fetched from its JWK Set URL (or the jwks_uri its discovery document
 * names) and kept current off the request path: the verifier only ever reads the snapshot in memory.
 *
 * - Fresh for the server's Cache-Control max-age, bounded to [minCacheMs, maxCacheMs]; refreshed in
 *   the background before that ends.
 * - A failed fetch keeps the last good keys and is retried with capped exponential backoff; the keys
 *   serve for maxStaleMs past their lifetime, then `usable` turns false (the verifier denies the
 *   issuer's tokens) until a fetch succeeds again.
 * - A set with no usable key (empty, or every key ignored) is a failed fetch, never a reason to drop
 *   good keys: an IdP answering `{"keys": []}` by mistake must not lock everyone out, nor silently in.
 * - An unknown kid may trigger a refetch (refreshForKid): one fetch in flight at a time for every
 *   reason, at most one started by unknown kids per cooldown, and a kid that was still unknown after
 *   a fetch is not fetched for again for a while (negative cache), so a flood of made-up kids costs at
 *   most one fetch per cooldown.
 * - An ignored key is logged once per kid and reason, not on every refresh.
 */
import type { Algorithm } from '../algorithms.js';
import { replaceableKeySource, type KeySnapshot, type KeySource } from '../key-source.js';
import type { VerificationKey } from '../keys.js';
import type { Logger } from '../logging.js';
import type { JwksMetrics } from '../metrics.js';
import { cacheLifetimeMs } from './cache-control.js';
import { systemClock, type Clock } from './clock.js';
import { discoverJwksUri, issuerUrlProblem } from './discovery.js';
import { createJsonFetcher, KeySetFetchError, type FetchOptions, type FetchResult, type JsonFetcher } from './fetch.js';
import { KeySetFormatError, parseKeySet, type IgnoredKey } from './parse.js';
import { checkedKeySetUrl } from './url.js';

export interface RemoteKeySetOptions extends FetchOptions {
  /** The issuer (the tokens' iss): names the set in logs and metrics; without `url`, also where discovery starts. */
  readonly issuer: string;
  /** The JWK Set URL; absent: the jwks_uri of the issuer's OpenID discovery document (found, and retried, like a fetch). */
  readonly url?: string | undefined;
  /** The issuer's allow-list; HMAC algorithms are never used for remote keys. */
  readonly algorithms: readonly Algorithm[];
  readonly minCacheMs: number;
  readonly maxCacheMs: number;
  /** How long past their lifetime the last good keys still serve while fetches fail. */
  readonly maxStaleMs: number;
  /** At most one fetch started by an unknown kid per this long. */
  readonly unknownKidCooldownMs: number;
  /** How long a kid still unknown after a fetch starts no other fetch; default minCacheMs. */
  readonly unknownKidNegativeMs?: number | undefined;
  /** First retry delay after a failed fetch, doubled per failure up to retryMaxMs (each with jitter); defaults 1 s and 60 s. */
  readonly retryMinMs?: number | undefined;
  readonly retryMaxMs?: number | undefined;
  readonly logger: Logger;
  readonly metrics?: JwksMetrics | undefined;
  readonly clock?: Clock | undefined;
}

export type KeySetState = 'fresh' | 'stale' | 'unavailable';

export interface KeySetHealth {
  readonly state: KeySetState;
  /** Verification keys held (one per kid and algorithm). */
  readonly keys: number;
  /** Since the last good fetch; absent before the first. */
  readonly ageMs: number | undefined;
  /** The last fetch's failure, cleared by a good fetch. */
  readonly lastError: string | undefined;
  /** The JWK Set URL, once known (discovery may not have found it yet). */
  readonly url: string | undefined;
}

export interface RemoteKeySet extends KeySource {
  /** `ready` turns true with the first good fetch and stays true; `usable` says whether the keys may be used now. */
  readonly ready: boolean;
  onChange(listener: (snapshot: KeySnapshot) => void): () => void;
  /** Starts the first fetch and the background refreshes (timers never keep the process alive). */
  start(): void;
  /**
   * For a token whose kid is not in current(): a promise that settles (never rejects) when a fetch
   * ends, true if `kid` is then known and usable; undefined when no fetch may happen now (cooldown,
   * or the kid was missed recently). Joins the fetch in flight, if any.
   */
  refreshForKid(kid: string): Promise<boolean> | undefined;
  /** False before the first good fetch and once the last good one is older than its lifetime + maxStaleMs. */
  readonly usable: boolean;
  health(): KeySetHealth;
  /** Settles when no fetch is in flight (at once when none is): for start-up and tests, never the request path. */
  idle(): Promise<void>;
  /** Stops timers and fetches; the keys stay readable. */
  close(): void;
}

/** Refresh when this share of the lifetime has passed, so a slow or failed fetch has time before expiry. */
const REFRESH_AT = 0.8;
/** Distinct kids remembered as missed; a flood beyond starts over (the cooldown still bounds fetches). */
const MAX_MISSED_KIDS = 10_000;
/** Distinct ignored keys remembered as logged. */
const MAX_LOGGED_IGNORED = 1_000;

const DEFAULT_RETRY_MIN_MS = 1_000;
const DEFAULT_RETRY_MAX_MS = 60_000;

/** The keys a good fetch found, or the failure; `ignored` either way (a set of only ignored keys is `no_keys`). */
export interface Attempt {
  readonly jwksUrl: string | undefined;
  readonly keys: readonly VerificationKey[];
  readonly ignored: readonly IgnoredKey[];
  readonly lifetimeMs: number;
  readonly failure: KeySetFetchError | undefined;
}

export interface AttemptOptions {
  readonly issuer: string;
  readonly jwksUrl: string | undefined;
  readonly algorithms: readonly Algorithm[];
  readonly minCacheMs: number;
  readonly maxCacheMs: number;
  readonly fetchOptions: FetchOptions;
  readonly fetcher: JsonFetcher;
}

/** One discovery (when the URL is not known yet) and one fetch of the set. Never throws. */
export async function attempt(options: AttemptOptions): Promise<Attempt> {
  let jwksUrl = options.jwksUrl;
  let ignored: readonly IgnoredKey[] = [];
  try {
    jwksUrl ??= await discoverJwksUri(options.issuer, options.fetchOptions, options.fetcher);
    const { body, headers } = await options.fetcher.get(jwksUrl);
    let parsed;
    try {
      parsed = parseKeySet(body, options.algorithms);
    } catch (error) {
      if (error instanceof KeySetFormatError) throw new KeySetFetchError('invalid', error.message);
      throw error;
    }
    ignored = parsed.ignored;
    if (parsed.keys.length === 0) {
      const why = parsed.ignored.length === 0 ? 'the set is empty' : `all ${parsed.ignored.length} keys in it are ignored`;
      throw new KeySetFetchError('no_keys', `no usable key: ${why}`);
    }
    return { jwksUrl, keys: parsed.keys, ignored, lifetimeMs: cacheLifetimeMs(headers, options.minCacheMs, options.maxCacheMs), failure: undefined };
  } catch (error) {
    const failure = error instanceof KeySetFetchError ? error : new KeySetFetchError('network', (error as Error).message, { cause: error });
    return { jwksUrl, keys: [], ignored, lifetimeMs: 0, failure };
  }
}

/** Same kids, algorithms and material in the same order: nothing for the verifier to rebuild. */
function sameKeys(a: readonly VerificationKey[], b: readonly VerificationKey[]): boolean {
  return a.length === b.length && a.every((key, i) => key.kid === b[i]?.kid && key.alg === b[i]?.alg && String(key.material) === String(b[i]?.material));
}

/** @throws Error for options that could never work (a URL the rules refuse, bounds out of order). */
function checkOptions(options: RemoteKeySetOptions): void {
  if (options.url !== undefined) checkedKeySetUrl(options.url, options.allowInsecureHttp);
  else {
    const problem = issuerUrlProblem(options.issuer, options.allowInsecureHttp);
    if (problem !== undefined) throw new Error(`issuer ${options.issuer} cannot be discovered: ${problem}`);
  }
  const durations = { minCacheMs: options.minCacheMs, maxCacheMs: options.maxCacheMs, maxStaleMs: options.maxStaleMs };
  for (const [name, value] of Object.entries({ ...durations, unknownKidCooldownMs: options.unknownKidCooldownMs, timeoutMs: options.timeoutMs })) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a duration in ms, got ${value}`);
  }
  if (options.minCacheMs <= 0) throw new Error('minCacheMs must be more than 0');
  if (options.minCacheMs > options.maxCacheMs) throw new Error('minCacheMs must not be more than maxCacheMs');
  if (!(options.maxBytes > 0)) throw new Error('maxBytes must be more than 0');
}

export function remoteKeySet(options: RemoteKeySetOptions): RemoteKeySet {
  checkOptions(options);
  const { issuer, logger, metrics, algorithms, minCacheMs, maxCacheMs, maxStaleMs, unknownKidCooldownMs } = options;
  const clock = options.clock ?? systemClock;
  const negativeMs = options.unknownKidNegativeMs ?? minCacheMs;
  const retryMinMs = options.retryMinMs ?? DEFAULT_RETRY_MIN_MS;
  const retryMaxMs = Math.max(retryMinMs, options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS);
  const fetchOptions: FetchOptions = {
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes,
    allowInsecureHttp: options.allowInsecureHttp,
    caPem: options.caPem,
  };
  const fetcher = createJsonFetcher(fetchOptions);
  const source = replaceableKeySource();
  const log = logger.child({ issuer });

  let jwksUrl = options.url;
  let started = false;
  let closed = false;
  let lastGoodAt: number | undefined;
  let lifetimeMs = 0;
  let lastError: string | undefined;
  let failures = 0;
  let inFlight: Promise<void> | undefined;
  let cancelTimer: (() => void) | undefined;
  let lastKidFetchAt: number | undefined;
  const kids = new Set<string>();
  const missedKids = new Map<string, number>();
  const loggedIgnored = new Set<string>();

  const usableAt = (now: number): boolean => lastGoodAt !== undefined && now < lastGoodAt + lifetimeMs + maxStaleMs;
  const stateAt = (now: number): KeySetState => {
    if (lastGoodAt === undefined || !usableAt(now)) return 'unavailable';
    return now < lastGoodAt + lifetimeMs ? 'fresh' : 'stale';
  };
  const knows = (kid: string): boolean => kids.has(kid) && usableAt(clock.now());

  const schedule = (delayMs: number): void => {
    cancelTimer?.();
    cancelTimer = clock.setTimeout(() => {
      cancelTimer = undefined;
      void refresh();
    }, delayMs);
  };

  const logIgnored = (ignored: readonly IgnoredKey[]): void => {
    for (const { index, kid, reason } of ignored) {
      const fingerprint = `${kid ?? `#${index}`}\u0000${reason}`;
      if (loggedIgnored.has(fingerprint)) continue;
      if (loggedIgnored.size >= MAX_LOGGED_IGNORED) loggedIgnored.clear();
      loggedIgnored.add(fingerprint);
      log.warn({ url: jwksUrl, kid, index, reason }, 'JWKS key ignored');
    }
  };

  const record = (result: FetchResult): void => metrics?.fetched(issuer, result);

  const succeed = (keys: readonly VerificationKey[], lifetime: number): void => {
    const recovered = failures;
    lastGoodAt = clock.now();
    lifetimeMs = lifetime;
    lastError = undefined;
    failures = 0;
    record('ok');
    const previous = source.current().verification;
    if (!source.ready || !sameKeys(previous, keys)) {
      kids.clear();
      for (const key of keys) kids.add(key.kid);
      // Kids missed before are looked for again: the set they were missing from is gone.
      missedKids.clear();
      source.replace({ signing: undefined, verification: keys });
      log.info({ url: jwksUrl, kids: [...kids], keys: keys.length, cacheMs: lifetime }, 'JWKS keys installed');
    } else {
      log.debug({ url: jwksUrl, keys: keys.length, cacheMs: lifetime }, 'JWKS keys unchanged');
    }
    if (recovered > 0) log.info({ url: jwksUrl, failures: recovered }, 'JWKS fetched again after failures');
    schedule(Math.max(1, Math.floor(lifetime * REFRESH_AT)));
  };

  const fail = (failure: KeySetFetchError): void => {
    failures++;
    lastError = `${failure.result}: ${failure.message}`;
    record(failure.result);
    // A moved jwks_uri answers 404 and the like: look it up again next time.
    if (failure.result === 'http_error' && options.url === undefined) jwksUrl = undefined;
    const now = clock.now();
    const state = stateAt(now);
    const backoff = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(failures - 1, 30));
    const delay = Math.max(1, Math.round(backoff * (0.5 + Math.random() / 2)));
    const details = { url: jwksUrl ?? options.issuer, result: failure.result, error: failure.message, failures, state, retryInMs: delay };
    if (state === 'unavailable') log.error(details, lastGoodAt === undefined ? 'JWKS fetch failed: no keys yet' : 'JWKS fetch failed: keys unavailable');
    else log.warn(details, state === 'stale' ? 'JWKS fetch failed: serving stale keys' : 'JWKS fetch failed: keeping current keys');
    schedule(delay);
  };

  const refresh = (): Promise<void> => {
    if (closed) return Promise.resolve();
    inFlight ??= (async () => {
      try {
        const result = await attempt({ issuer, jwksUrl, algorithms, minCacheMs, maxCacheMs, fetchOptions, fetcher });
        if (closed) return;
        jwksUrl = result.jwksUrl;
        logIgnored(result.ignored);
        if (result.failure === undefined) succeed(result.keys, result.lifetimeMs);
        else fail(result.failure);
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const rememberMiss = (kid: string): void => {
    if (missedKids.size >= MAX_MISSED_KIDS) missedKids.clear();
    missedKids.set(kid, clock.now());
  };

  const unwatch = metrics?.watch(issuer, () => {
    const now = clock.now();
    return { keys: source.current().verification.length, ageMs: lastGoodAt === undefined ? undefined : now - lastGoodAt, usable: usableAt(now) };
  });

  return {
    current: () => source.current(),
    get ready() {
      return source.ready;
    },
    onChange: (listener) => source.onChange(listener),
    get usable() {
      return usableAt(clock.now());
    },
    start() {
      if (started || closed) return;
      started = true;
      void refresh();
    },
    refreshForKid(kid) {
      if (closed) return undefined;
      if (knows(kid)) return Promise.resolve(true);
      const settle = (fetch: Promise<void>): Promise<boolean> =>
        fetch.then(() => {
          if (knows(kid)) return true;
          rememberMiss(kid);
          return false;
        });
      // A fetch already under way costs nothing more to wait for.
      if (inFlight !== undefined) return settle(inFlight);
      const now = clock.now();
      const missedAt = missedKids.get(kid);
      if (missedAt !== undefined && now < missedAt + negativeMs) return undefined;
      if (lastKidFetchAt !== undefined && now < lastKidFetchAt + unknownKidCooldownMs) return undefined;
      lastKidFetchAt = now;
      // The kid comes from a token: bounded, and at most one line per cooldown.
      log.info({ url: jwksUrl ?? options.issuer, kid: kid.slice(0, 128) }, 'JWKS refetch for an unknown kid');
      return settle(refresh());
    },
    health() {
      const now = clock.now();
      return {
        state: stateAt(now),
        keys: source.current().verification.length,
        ageMs: lastGoodAt === undefined ? undefined : now - lastGoodAt,
        lastError,
        url: jwksUrl,
      };
    },
    async idle() {
      while (inFlight !== undefined) await inFlight;
    },
    close() {
      if (closed) return;
      closed = true;
      cancelTimer?.();
      cancelTimer = undefined;
      fetcher.close();
      unwatch?.();
    },
  };
}
