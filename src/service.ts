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
import { createLoginLimiter } from './login/limiter.js';
import { createMetrics } from './metrics.js';
import { createClusterRevocationStore } from './revocation/cluster.js';
import { createRedisRevocationStore } from './revocation/redis.js';
import { createMemoryRevocationStore, type RevocationStore } from './revocation/store.js';
import { createTokenSigner } from './token/sign.js';
import { createTokenVerifier } from './token/verify.js';
import { VERSION } from './version.js';

export interface Service {
  readonly app: ReturnType<typeof createApp>;
  readonly deps: AppDeps;
  /**
   * Connects what the service shares state through (Redis, the cluster primary) and loads the
   * revocations stored there, waiting at most REDIS_CONNECT_TIMEOUT: a service that cannot reach Redis
   * still starts, degraded. Called before the socket listens. Never rejects.
   */
  start(): Promise<void>;
  /** Releases what the service holds open (authenticator connections, the deny log's summary timer, Redis connections). */
  close(): Promise<void>;
}

export interface ServiceOptions {
  readonly logger: Logger;
  /** Process-wide default metrics (CPU, memory, event loop); off in tests that build many services. */
  readonly defaultMetrics?: boolean;
  /** Where keys come from; the configuration's, read once, by default. */
  readonly keySource?: KeySource;
  /** Where revocations are shared; by default Redis with REDIS_URL, else this process's memory. */
  readonly revocations?: RevocationStore;
}

/** Redis with REDIS_URL; else, in a cluster worker, the primary; else memory. */
export function chooseRevocationStore(config: Config, logger: Logger, onLearned?: (source: 'feed' | 'sync', count: number) => void): RevocationStore {
  if (config.redis.topology !== undefined) return createRedisRevocationStore({ config, logger, onLearned });
  if (cluster.isWorker) return createClusterRevocationStore();
  return createMemoryRevocationStore();
}

/** @throws ConfigError when the keys cannot be used. */
export function createService(
  config: Config,
  { logger, defaultMetrics = true, keySource = keySourceFromConfig(config.jwt), revocations: givenRevocations }: ServiceOptions,
): Service {
  // The signer takes the signing key of the start: /login exists or not for the life of the process.
  const { signing } = keySource.current();
  const lifecycle: Lifecycle = { ready: false, shuttingDown: false };
  const authenticator = createAuthenticatorClient(config.authenticator);
  const denyLog = createDenyLog(logger, config.logging.denyRate);
  const metrics = createMetrics({ version: VERSION, defaultMetrics });
  const revocations = givenRevocations ?? chooseRevocationStore(config, logger, (source, count) => metrics.revocationsLearned.labels(source).inc(count));
  metrics.watchRevocations(() => revocations.status());
  const verify = createTokenVerifier(config.jwt, keySource);
  const parts: Omit<AppDeps, 'checkAnswers'> = {
    config,
    logger,
    denyLog,
    metrics,
    keySource,
    decideAccess: createAccessDecider({
      config,
      verify,
      identityHeaders: createIdentityHeaders(config.identityHeaders),
      revocations: revocations.list,
    }),
    verify,
    revocations,
    authenticator,
    signer: signing === undefined ? undefined : createTokenSigner(config.jwt, signing),
    limiter: createLoginLimiter(config.login),
    lifecycle,
  };
  const deps: AppDeps = { ...parts, checkAnswers: createCheckAnswerWriter(parts) };
  return {
    app: createApp(deps),
    deps,
    start: () => revocations.start(config.redis.connectTimeoutMs),
    close: async () => {
      authenticator.close();
      denyLog.close();
      await revocations.close();
    },
  };
}
