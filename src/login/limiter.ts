/**
 * Failed-login regulation with rate-limiter-flexible: failures are counted per client address and per
 * username within a window; once either count reaches its limit, logins for it are refused with
 * Retry-After until the window ends. Where the counts live:
 * - with REDIS_URL, in Redis (RateLimiterRedis): every instance and worker shares them. If Redis
 *   fails, each process counts in its own memory meanwhile (rate-limiter-flexible's insuranceLimiter):
 *   logins go on, limited per process, rather than all being refused or none being counted;
 * - without it, in a cluster worker (WORKERS>1), in the primary's memory (RateLimiterCluster, whose
 *   RateLimiterClusterMaster src/main.ts starts before forking): all workers share them;
 * - otherwise in this process's memory.
 *
 * Each attempt is counted as a failure *before* the authenticator is asked and withdrawn when it turns
 * out not to be one. Checking first and counting after the answer would let a burst of concurrent
 * attempts all pass the check before the first failure is recorded, and so overshoot any limit.
 *
 * A success withdraws its own attempt and nothing more: the failures before it stay until the window
 * ends. Clearing the username's count instead would let anyone who can log in as *a* username that
 * the count's key (trimmed, lower-cased) maps onto, such as "Alice " at an authenticator that tells it
 * from "alice", wipe the real user's failures and go on guessing.
 */
import { RateLimiterCluster, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/index.js';
import type { RedisClient } from '../redis/client.js';

export type LimitKey = 'ip' | 'user';

export type LoginAttempt =
  /** Over a limit: refuse without asking the authenticator. */
  | { readonly allowed: false; readonly key: LimitKey; readonly retryAfterSeconds: number }
  /** Counted as a failure until settled otherwise; a rejection by the authenticator needs nothing more. */
  | {
      readonly allowed: true;
      /**
       * Not a failure after all: the credentials were good, or there was no verdict on them (the
       * authenticator failed, no token could be issued). Gives this attempt's points back, once.
       */
      withdraw(): Promise<void>;
    };

export interface LoginLimiter {
  /** Counts one attempt for this address and username (a key, already normalized), or says which limit it is over. */
  attempt(address: string, username: string | undefined): Promise<LoginAttempt>;
}

type Limiter = RateLimiterAbstract | undefined;

/** One more point for `key`; the seconds to wait when that puts it over the limit, else 0. */
async function take(limiter: Limiter, key: string | undefined): Promise<number> {
  if (limiter === undefined || key === undefined) return 0;
  try {
    await limiter.consume(key);
    return 0;
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    // The point taken by a refused attempt is given back: the count stays a count of failures.
    await limiter.reward(key);
    return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
  }
}

/** Gives back the point of an attempt that was not a failure, unless its window has already ended. */
async function giveBack(limiter: Limiter, key: string | undefined): Promise<void> {
  if (limiter === undefined || key === undefined) return;
  const state = await limiter.get(key);
  if (state !== null && state.consumedPoints > 0) await limiter.reward(key);
}

/** Where the counts are shared: one Redis, or the cluster's primary; neither is this process alone. */
export type LimiterSharing =
  { readonly kind: 'redis'; readonly client: RedisClient; readonly keyPrefix: string } | { readonly kind: 'cluster' } | { readonly kind: 'process' };

/** How long a worker waits for the primary's answer before the attempt fails (never seen on one machine). */
const CLUSTER_TIMEOUT_MS = 2000;

function limiterFor(name: LimitKey, points: number, duration: number, sharing: LimiterSharing): Limiter {
  if (points === 0) return undefined;
  switch (sharing.kind) {
    case 'redis':
      return new RateLimiterRedis({
        storeClient: sharing.client,
        keyPrefix: `${sharing.keyPrefix}login:${name}`,
        points,
        duration,
        // Not ready (down, reconnecting): count in memory at once rather than fail the login.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: `insurance:${name}`, points, duration }),
      });
    case 'cluster':
      return new RateLimiterCluster({ keyPrefix: `login:${name}`, points, duration, timeoutMs: CLUSTER_TIMEOUT_MS });
    case 'process':
      return new RateLimiterMemory({ keyPrefix: name, points, duration });
  }
}

export function createLoginLimiter(login: Config['login'], sharing: LimiterSharing = { kind: 'process' }): LoginLimiter {
  const duration = login.failureWindowMs / 1000;
  const byIp = limiterFor('ip', login.maxFailuresPerIp, duration, sharing);
  const byUser = limiterFor('user', login.maxFailuresPerUser, duration, sharing);

  return {
    async attempt(address, username) {
      const ipWait = await take(byIp, address);
      if (ipWait > 0) return { allowed: false, key: 'ip', retryAfterSeconds: ipWait };
      const userWait = await take(byUser, username);
      if (userWait > 0) {
        await giveBack(byIp, address);
        return { allowed: false, key: 'user', retryAfterSeconds: userWait };
      }
      let withdrawn = false;
      return {
        allowed: true,
        async withdraw() {
          if (withdrawn) return;
          withdrawn = true;
          await Promise.all([giveBack(byIp, address), giveBack(byUser, username)]);
        },
      };
    },
  };
}
