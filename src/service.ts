/**
 * The composition root: from a validated Config to everything the app needs, built once.
 */
import cluster from 'node:cluster';
import { createAuthenticatorClient } from './authenticator.js';
import { createCheckAnswerWriter } from './check/answer.js';
import { createAccessDecider } from './check/decision.js';
import type { Config } from './config/index.js';
import { createDenyLog } from './deny-log.js';
import { createApp, type AppDeps, type Lifecycle } from './http/app.js';
import { createIdentityHeaders } from './identity-headers.js';
import { keySourceFromConfig, type KeySource } from './key-source.js';
import type { Logger } from './logging.js';
import { createTokenIssuer } from './login/issue.js';
import { createLoginLimiter } from './login/limiter.js';
import { createMetrics } from './metrics.js';
import { createRedisConnection, type RedisConnection } from './redis/client.js';
import { createRedisRefreshStore } from './refresh/redis-store.js';
import { createMemoryRefreshStore } from './refresh/store.js';
import { createRefreshTokens } from './refresh/tokens.js';
import { createSessionRenewer } from './session/renew.js';
import { createTokenSigner } from './token/sign.js';
import { createTokenVerifier } from './token/verify.js';
import { VERSION } from './version.js';

export interface Service {
  readonly app: ReturnType<typeof createApp>;
  readonly deps: AppDeps;
  /** The shared stores' Redis connection; undefined without REDIS_URL. */
  readonly redis: RedisConnection | undefined;
  /** Releases what the service holds open (authenticator connections, the deny log's summary timer, Redis). */
  close(): void;
}

export interface ServiceOptions {
  readonly logger: Logger;
  /** Process-wide default metrics (CPU, memory, event loop); off in tests that build many services. */
  readonly defaultMetrics?: boolean;
  /** Where keys come from; the configuration's, read once, by default. */
  readonly keySource?: KeySource;
}

/** @throws ConfigError when the keys cannot be used. */
export function createService(config: Config, { logger, defaultMetrics = true, keySource = keySourceFromConfig(config.jwt) }: ServiceOptions): Service {
  // The signer takes the signing key of the start: /login exists or not for the life of the process.
  const { signing } = keySource.current();
  const lifecycle: Lifecycle = { ready: false, shuttingDown: false };
  const authenticator = createAuthenticatorClient(config.authenticator);
  const denyLog = createDenyLog(logger, config.logging.denyRate);
  // The one issuer: /login, /refresh and session renewal all sign through it.
  const issue =
    signing === undefined
      ? undefined
      : createTokenIssuer({ signer: createTokenSigner(config.jwt, signing), jwt: config.jwt, cookie: config.cookie, session: config.session });
  // The shared stores' connection (REDIS_URL); connected here, never awaited: a store that needs it
  // answers 503 while it is down, and the service starts whether or not Redis is up.
  const redis = createRedisConnection(config.redis, 'commands', logger);
  redis?.connect();
  const refreshStore =
    issue === undefined || config.session.refreshTokenTtlMs === 0
      ? undefined
      : redis === undefined
        ? createMemoryRefreshStore()
        : createRedisRefreshStore(redis.client, config.redis.keyPrefix);
  const refresh = refreshStore === undefined ? undefined : createRefreshTokens({ ttlMs: config.session.refreshTokenTtlMs, store: refreshStore });
  const renew =
    signing === undefined || issue === undefined
      ? undefined
      : createSessionRenewer({ session: config.session, cookie: config.cookie, signingKid: signing.kid, issue, logger });
  const parts: Omit<AppDeps, 'checkAnswers'> = {
    config,
    logger,
    denyLog,
    metrics: createMetrics({ version: VERSION, defaultMetrics }),
    keySource,
    decideAccess: createAccessDecider({
      config,
      verify: createTokenVerifier(config.jwt, keySource),
      identityHeaders: createIdentityHeaders(config.identityHeaders),
      renew,
    }),
    authenticator,
    issue,
    limiter: createLoginLimiter(
      config.login,
      redis !== undefined
        ? { kind: 'redis', client: redis.client, keyPrefix: config.redis.keyPrefix }
        : cluster.isWorker
          ? { kind: 'cluster' }
          : { kind: 'process' },
    ),
    refresh,
    lifecycle,
  };
  const deps: AppDeps = { ...parts, checkAnswers: createCheckAnswerWriter(parts) };
  return {
    app: createApp(deps),
    deps,
    redis,
    close: () => {
      authenticator.close();
      denyLog.close();
      refreshStore?.close();
      void redis?.close();
    },
  };
}
