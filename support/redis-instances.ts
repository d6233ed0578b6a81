/**
 * Two service instances in this process sharing one real redis-server, with a stub authenticator
 * behind /login: what the tests of shared stores (refresh tokens, login limits) run against.
 */
import type { InProcessService } from './service.js';
import { startServiceInProcess } from './service.js';
import { startRedisServer, type RedisServer } from './redis.js';
import { startStubAuthenticator, type StubAuthenticator } from './stub-authenticator.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitUntil } from './wait.js';

export interface RedisInstances {
  readonly redis: RedisServer;
  readonly authenticator: StubAuthenticator;
  readonly a: InProcessService;
  readonly b: InProcessService;
  /** Stops both instances, the authenticator and Redis, and removes the temp folder. */
  stop(): Promise<void>;
}

/** Resolves once the instance's shared-store connection to Redis is ready (after a start or a restart of Redis). */
export function redisReady(svc: InProcessService): Promise<void> {
  return waitUntil(() => svc.service.redis?.status().state === 'ready', `redis ready: ${JSON.stringify(svc.service.redis?.status())}`, { timeoutMs: 10_000 });
}

/** Starts both instances with `env` plus AUTHENTICATOR_URL, REDIS_URL and a short reconnect delay; resolves once both reach Redis. */
export async function startRedisInstances(label: string, env: Readonly<Record<string, string>>): Promise<RedisInstances> {
  const dir = makeTempDir(label);
  const redis = await startRedisServer({ dir });
  const authenticator = await startStubAuthenticator();
  const shared = { ...env, AUTHENTICATOR_URL: authenticator.url, REDIS_URL: redis.url, REDIS_RECONNECT_MAX_DELAY: '200ms' };
  const a = await startServiceInProcess(shared);
  const b = await startServiceInProcess(shared);
  await Promise.all([redisReady(a), redisReady(b)]);
  return {
    redis,
    authenticator,
    a,
    b,
    async stop() {
      await a.close();
      await b.close();
      await authenticator.close();
      await redis.stop();
      removeTempDir(dir);
    },
  };
}
