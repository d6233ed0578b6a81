/**
 * Failed-login regulation with rate-limiter-flexible: failures are counted per client address and per
 * username within a window; once either count reaches its limit, logins for it are refused with
 * Retry-After until the window ends. In memory by default: each instance (or cluster worker) counts
 * on its own.
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
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config/index.js';

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

type Limiter = RateLimiterMemory | undefined;

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

export function createLoginLimiter(login: Config['login']): LoginLimiter {
  const duration = login.failureWindowMs / 1000;
  const byIp = login.maxFailuresPerIp > 0 ? new RateLimiterMemory({ keyPrefix: 'ip', points: login.maxFailuresPerIp, duration }) : undefined;
  const byUser = login.maxFailuresPerUser > 0 ? new RateLimiterMemory({ keyPrefix: 'user', points: login.maxFailuresPerUser, duration }) : undefined;

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
