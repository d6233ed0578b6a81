/** The service's way of making fetched key sets: the configured JWKS_* bounds, its logger and metrics. */
import type { JwksFetchConfig } from '../config/issuers.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { RemoteKeysFactory } from '../trust.js';
import { remoteKeySet } from './remote-key-set.js';

export function remoteKeysFactory(settings: JwksFetchConfig, logger: Logger, metrics: Pick<Metrics, 'jwks'>): RemoteKeysFactory {
  return (issuer, url, algorithms) => remoteKeySet({ ...settings, issuer, url, algorithms, logger, metrics: metrics.jwks });
}
