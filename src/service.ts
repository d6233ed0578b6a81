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
import { replaceableKeySource, type KeySource, type ReplaceableKeySource } from './key-source.js';
import { reloadKeys, type KeyReloadResult } from './key-reload.js';
import { loadKeys } from './keys.js';
import { remoteKeysFactory } from './jwks/factory.js';
import { createTrust, type RemoteKeysFactory } from './trust.js';
import { OWN_ISSUER_UNNAMED, ownIssuerTakesAnyIss } from './trusted-issuer.js';
import type { Logger } from './logging.js';
import { createTokenIssuer } from './login/issue.js';
import { createLoginLimiter } from './login/limiter.js';
import { createMetrics } from './metrics.js';
import { createRedisConnection, type RedisConnection } from './redis/client.js';
import { createRedisRefreshStore } from './refresh/redis-store.js';
import { createMemoryRefreshStore } from './refresh/store.js';
import { createRefreshTokens } from './refresh/tokens.js';
import { createSessionRenewer } from './session/renew.js';
import { createClusterRevocationStore } from './revocation/cluster.js';
import { createRedisRevocationStore } from './revocation/redis.js';
import { createMemoryRevocationStore, type RevocationStore } from './revocation/store.js';
import { createFollowingSigner } from './token/sign.js';
import { createTokenVerifier } from './token/verify.js';
import { VERSION } from './version.js';

export interface Service {
  readonly app: ReturnType<typeof createApp>;
  readonly deps: AppDeps;
  /** The shared stores' Redis connection (refresh tokens, login limits); undefined without REDIS_URL. */
  readonly redis: RedisConnection | undefined;
  /**
   * Connects what the service shares state through (Redis, the cluster primary) and loads the
   * revocations stored there, waiting at most REDIS_CONNECT_TIMEOUT: a service that cannot reach Redis
   * still starts, degraded; and starts fetching identity providers' keys. Called before the socket
   * listens. Never rejects.
   */
  start(): Promise<void>;
  /** Reads the key files again (SIGHUP); the old keys stay unless the new ones pass every check. */
  reloadKeys(env: Readonly<Record<string, string | undefined>>): KeyReloadResult;
  /** Releases what the service holds open (key fetches, authenticator connections, the deny log's summary timer, Redis connections). */
  close(): Promise<void>;
}

export interface ServiceOptions {
  readonly logger: Logger;
  /** Process-wide default metrics (CPU, memory, event loop); off in tests that build many services. */
  readonly defaultMetrics?: boolean;
  /** Where the service's own keys come from; the configuration's, read once, by default. */
  readonly keySource?: KeySource;
  /** How identity providers' keys are fetched; over HTTP with the JWKS_* settings by default. */
  readonly remoteKeys?: RemoteKeysFactory;
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
  { logger, defaultMetrics = true, keySource, remoteKeys: givenRemoteKeys, revocations: givenRevocations }: ServiceOptions,
): Service {
  const metrics = createMetrics({ version: VERSION, defaultMetrics });
  const remoteKeys = givenRemoteKeys ?? remoteKeysFactory(config.issuers.jwks, logger, metrics);
  // The configuration's key files, replaced whole by a reload.
  const ownKeys: ReplaceableKeySource | undefined = keySource === undefined ? replaceableKeySource(loadKeys(config.jwt)) : undefined;
  keySource ??= ownKeys as ReplaceableKeySource;
  const trust = createTrust(config, keySource, remoteKeys);
  if (ownIssuerTakesAnyIss(config, trust.own !== undefined)) logger.warn({ event: 'own_issuer_unnamed' }, OWN_ISSUER_UNNAMED);
  const lifecycle: Lifecycle = { ready: false, shuttingDown: false };
  const authenticator = createAuthenticatorClient(config.authenticator);
  const denyLog = createDenyLog(logger, config.logging.denyRate);
  const revocations = givenRevocations ?? chooseRevocationStore(config, logger, (source, count) => metrics.revocationsLearned.labels(source).inc(count));
  metrics.watchRevocations(() => revocations.status());
  // One verifier: /check's, /logout's and the pages' that say who is signed in.
  const verify = createTokenVerifier(config.jwt, trust, { unknownKidWaitMs: config.issuers.jwks.unknownKidWaitMs });
  // The one issuer: /login, /refresh and session renewal all sign through it, with the signing key
  // the source holds now (a SIGHUP reload rotates it).
  const signer = createFollowingSigner(config.jwt, keySource);
  const issue = signer === undefined ? undefined : createTokenIssuer({ signer, jwt: config.jwt, cookie: config.cookie, session: config.session });
  // The refresh tokens' and login limits' connection (REDIS_URL); connected here, never awaited: a
  // store that needs it answers 503 while it is down, and the service starts whether or not Redis is
  // up. Revocations keep their own connections (commands and feed), opened by their store.
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
    issue === undefined
      ? undefined
      : createSessionRenewer({ session: config.session, cookie: config.cookie, signingKid: () => keySource.current().signing?.kid, issue, logger });
  const parts: Omit<AppDeps, 'checkAnswers'> = {
    config,
    logger,
    denyLog,
    metrics,
    keySource,
    trust,
    decideAccess: createAccessDecider({
      config,
      verify,
      identityHeaders: createIdentityHeaders(config.identityHeaders),
      renew,
      revocations: revocations.list,
    }),
    verify,
    revocations,
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
    start: async () => {
      trust.start();
      await revocations.start(config.redis.connectTimeoutMs);
    },
    reloadKeys: (env) =>
      ownKeys === undefined ? { reloaded: false, problems: ['this service was given its keys, not key files'] } : reloadKeys(ownKeys, env, logger),
    close: async () => {
      trust.close();
      authenticator.close();
      denyLog.close();
      refreshStore?.close();
      await Promise.all([redis?.close(), revocations.close()]);
    },
  };
}
