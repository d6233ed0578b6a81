/**
 * The composition root: from a validated Config to everything the app needs, built once.
 */
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
import type { Logger } from './logging.js';
import { createLoginLimiter } from './login/limiter.js';
import { createMetrics } from './metrics.js';
import { createFollowingSigner } from './token/sign.js';
import { createTokenVerifier } from './token/verify.js';
import { VERSION } from './version.js';

export interface Service {
  readonly app: ReturnType<typeof createApp>;
  readonly deps: AppDeps;
  /** Starts what runs in the background: fetching identity providers' keys. */
  start(): void;
  /** Reads the key files again (SIGHUP); the old keys stay unless the new ones pass every check. */
  reloadKeys(env: Readonly<Record<string, string | undefined>>): KeyReloadResult;
  /** Releases what the service holds open (key fetches, authenticator connections, the deny log's summary timer). */
  close(): void;
}

export interface ServiceOptions {
  readonly logger: Logger;
  /** Process-wide default metrics (CPU, memory, event loop); off in tests that build many services. */
  readonly defaultMetrics?: boolean;
  /** Where the service's own keys come from; the configuration's, read once, by default. */
  readonly keySource?: KeySource;
  /** How identity providers' keys are fetched; over HTTP with the JWKS_* settings by default. */
  readonly remoteKeys?: RemoteKeysFactory;
}

/** @throws ConfigError when the keys cannot be used. */
export function createService(config: Config, { logger, defaultMetrics = true, keySource, remoteKeys: givenRemoteKeys }: ServiceOptions): Service {
  const metrics = createMetrics({ version: VERSION, defaultMetrics });
  const remoteKeys = givenRemoteKeys ?? remoteKeysFactory(config.issuers.jwks, logger, metrics);
  // The configuration's key files, replaced whole by a reload.
  const ownKeys: ReplaceableKeySource | undefined = keySource === undefined ? replaceableKeySource(loadKeys(config.jwt)) : undefined;
  keySource ??= ownKeys as ReplaceableKeySource;
  const trust = createTrust(config, keySource, remoteKeys);
  const lifecycle: Lifecycle = { ready: false, shuttingDown: false };
  const authenticator = createAuthenticatorClient(config.authenticator);
  const denyLog = createDenyLog(logger, config.logging.denyRate);
  // One verifier: /check's, and the pages that say who is signed in.
  const verifyToken = createTokenVerifier(config.jwt, trust, { unknownKidWaitMs: config.issuers.jwks.unknownKidWaitMs });
  const parts: Omit<AppDeps, 'checkAnswers'> = {
    config,
    logger,
    denyLog,
    metrics,
    keySource,
    trust,
    decideAccess: createAccessDecider({
      config,
      verify: verifyToken,
      identityHeaders: createIdentityHeaders(config.identityHeaders),
    }),
    authenticator,
    // /login exists or not for the life of the process; a reload rotates the key it signs with.
    signer: createFollowingSigner(config.jwt, keySource),
    limiter: createLoginLimiter(config.login),
    verifyToken,
    lifecycle,
  };
  const deps: AppDeps = { ...parts, checkAnswers: createCheckAnswerWriter(parts) };
  return {
    app: createApp(deps),
    deps,
    start: () => trust.start(),
    reloadKeys: (env) =>
      ownKeys === undefined ? { reloaded: false, problems: ['this service was given its keys, not key files'] } : reloadKeys(ownKeys, env, logger),
    close: () => {
      trust.close();
      authenticator.close();
      denyLog.close();
    },
  };
}
