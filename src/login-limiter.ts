/**
 * Failed-login regulation with rate-limiter-flexible: failures are counted per client address and per
 * username within a window; once either count reaches its limit, logins for it are refused with
 * Retry-After until the window ends. Successful logins are not counted, and clear the username's count.
 * In memory by default: each instance (or cluster worker) counts on its own.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Config } from './config.js';

export interface LoginLimiter {
  /** Seconds until this address or username may try again; 0 when it may try now. */
  retryAfter(address: string, username: string | undefined): Promise<{ seconds: number; key: 'ip' | 'user' | undefined }>;
  recordFailure(address: string, username: string | undefined): Promise<void>;
  recordSuccess(username: string | undefined): Promise<void>;
}

export function createLoginLimiter(login: Config['login']): LoginLimiter {
  const duration = login.failureWindowSeconds;
  const byIp = login.maxFailuresPerIp > 0 ? new RateLimiterMemory({ keyPrefix: 'ip', points: login.maxFailuresPerIp, duration }) : undefined;
  const byUser = login.maxFailuresPerUser > 0 ? new RateLimiterMemory({ keyPrefix: 'user', points: login.maxFailuresPerUser, duration }) : undefined;

  const blockedFor = async (limiter: RateLimiterMemory | undefined, key: string | undefined): Promise<number> => {
    if (limiter === undefined || key === undefined) return 0;
    const state = await limiter.get(key);
    return state !== null && state.consumedPoints >= limiter.points ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : 0;
  };
  const count = async (limiter: RateLimiterMemory | undefined, key: string | undefined): Promise<void> => {
    if (limiter === undefined || key === undefined) return;
    // consume rejects once the points are used up; being over the limit is what we are recording.
    await limiter.consume(key).catch(() => undefined);
  };

  return {
    async retryAfter(address, username) {
      const ip = await blockedFor(byIp, address);
      if (ip > 0) return { seconds: ip, key: 'ip' };
      const user = await blockedFor(byUser, username);
      return user > 0 ? { seconds: user, key: 'user' } : { seconds: 0, key: undefined };
    },
    async recordFailure(address, username) {
      await Promise.all([count(byIp, address), count(byUser, username)]);
    },
    async recordSuccess(username) {
      if (byUser !== undefined && username !== undefined) await byUser.delete(username);
    },
  };
}
