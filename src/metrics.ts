/**
 * Prometheus metrics (prom-client) on a registry of the app's own, so tests can build many apps.
 * Children with fixed label values are created up front: the /check path only increments.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly decisions: Counter<'result' | 'reason'>;
  readonly checkDuration: Histogram<'result'>;
  readonly logins: Counter<'outcome'>;
  readonly loginDuration: Histogram<'outcome'>;
  readonly authenticatorCalls: Counter<'outcome'>;
  readonly rateLimited: Counter<'key'>;
}

export function createMetrics(options: { version: string; defaultMetrics?: boolean }): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'jwt_auth_build_info', help: 'Build information', labelNames: ['version', 'node'], registers: [registry] })
    .labels(options.version, process.version)
    .set(1);
  const latencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1];
  return {
    registry,
    decisions: new Counter({ name: 'jwt_auth_check_decisions_total', help: '/check decisions by result and reason code', labelNames: ['result', 'reason'], registers: [registry] }),
    checkDuration: new Histogram({ name: 'jwt_auth_check_duration_seconds', help: '/check handling time', labelNames: ['result'], buckets: latencyBuckets, registers: [registry] }),
    logins: new Counter({ name: 'jwt_auth_login_total', help: '/login outcomes', labelNames: ['outcome'], registers: [registry] }),
    loginDuration: new Histogram({ name: 'jwt_auth_login_duration_seconds', help: '/login handling time, authenticator included', labelNames: ['outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    authenticatorCalls: new Counter({ name: 'jwt_auth_authenticator_requests_total', help: 'Calls to the authenticator by outcome', labelNames: ['outcome'], registers: [registry] }),
    rateLimited: new Counter({ name: 'jwt_auth_login_rate_limited_total', help: 'Logins refused by the failed-attempt limiter, by key', labelNames: ['key'], registers: [registry] }),
  };
}
