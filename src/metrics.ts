/**
 * Prometheus metrics (prom-client) on a registry of the app's own, so tests can build many apps.
 * Children with fixed label values are created up front; /check, which nginx calls on every
 * protected request, only adds to plain numbers that become series when /metrics is scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { FETCH_RESULTS, type FetchResult } from './jwks/fetch.js';
import type { RevocationStatus } from './revocation/store.js';

/** /check's decisions and durations, recorded without any per-request label hashing. */
export interface CheckMetrics {
  /** An allow that took `seconds` to decide. */
  allow(seconds: number): void;
  /** A deny with its reason code; without `seconds` for one answered before any handling (a request node's parser refused). */
  deny(code: string, seconds?: number): void;
}

/** What a remote key set reports at each scrape. */
export interface KeySetReading {
  readonly keys: number;
  /** Since the last good fetch; absent before the first. */
  readonly ageMs: number | undefined;
  readonly usable: boolean;
}

/** The remote key sets (src/jwks/), labelled by issuer: configuration, bounded, never a secret. */
export interface JwksMetrics {
  /** jwt_auth_jwks_fetches_total{issuer,result}. */
  fetched(issuer: string, result: FetchResult): void;
  /**
   * jwt_auth_jwks_keys, jwt_auth_jwks_key_age_seconds and jwt_auth_jwks_usable for `issuer`, read from
   * `read` at each scrape; returns the way to stop reporting (the series go with it).
   */
  watch(issuer: string, read: () => KeySetReading): () => void;
}

export interface Metrics {
  readonly registry: Registry;
  readonly jwks: JwksMetrics;
  /** jwt_auth_check_decisions_total{result,reason} and jwt_auth_check_duration_seconds{result}. */
  readonly check: CheckMetrics;
  readonly logins: Counter<'outcome'>;
  readonly loginDuration: Histogram<'outcome'>;
  readonly authenticatorCalls: Counter<'outcome'>;
  readonly rateLimited: Counter<'key'>;
  /** Requests node's HTTP parser refused, by its error code (llhttp's HPE_ names). */
  readonly refusedRequests: Counter<'reason'>;
  /** /logout outcomes: revoked, nothing_to_revoke, not_revocable, revocation_unavailable. */
  readonly logouts: Counter<'outcome'>;
  /** Revocations made elsewhere that reached this process, by how: the change feed or a (re)load. */
  readonly revocationsLearned: Counter<'source'>;
  /**
   * Reports the revocation store's state when /metrics is read: jwt_auth_revocations{kind} (entries in
   * memory), jwt_auth_revocations_degraded, jwt_auth_redis_up{connection}.
   */
  watchRevocations(status: () => RevocationStatus): void;
  /**
   * /check denials because of who issued the token, by configured issuer ("unknown" for an iss no
   * one is trusted for: a label never takes a value from a token) and reason.
   */
  readonly issuerDenials: Counter<'issuer' | 'reason'>;
  /** jwt_auth_http_connections_total{event="opened"|"closed"}: connection churn from nginx's pool. */
  readonly connections: ConnectionMetrics;
}

/** TCP (or unix socket) connections the server accepted and saw close. */
export interface ConnectionMetrics {
  opened(): void;
  closed(): void;
}

const CHECK_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1] as const;

/** Bucket counts of one label value; the last slot counts values above every bound. */
interface Series {
  readonly result: string;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * jwt_auth_check_duration_seconds, written out exactly as a prom-client Histogram would (cumulative
 * `le` buckets, +Inf, _sum, _count; a label value appears once observed). prom-client's own
 * `labels().observe()` hashes the label object on every call, which /check cannot afford; this
 * object implements the part of prom-client's metric interface that a Registry reads.
 */
class CheckDurationHistogram {
  readonly name = 'jwt_auth_check_duration_seconds';
  readonly help = '/check handling time';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly allowSeries = CheckDurationHistogram.series('allow');
  readonly denySeries = CheckDurationHistogram.series('deny');
  /** Label values in the order they were first observed, as prom-client lists them. */
  private readonly observed: Series[] = [];

  private static series(result: string): Series {
    return { result, counts: new Float64Array(CHECK_BUCKETS.length + 1), sum: 0, count: 0 };
  }

  observe(series: Series, seconds: number): void {
    if (series.count === 0) this.observed.push(series);
    let bucket = 0;
    while (bucket < CHECK_BUCKETS.length && seconds > (CHECK_BUCKETS[bucket] as number)) bucket++;
    (series.counts[bucket] as number)++;
    series.sum += seconds;
    series.count++;
  }

  async get() {
    const name = this.name;
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const { result, counts, sum, count } of this.observed) {
      let cumulative = 0;
      CHECK_BUCKETS.forEach((le, i) => {
        cumulative += counts[i] as number;
        values.push({ metricName: `${name}_bucket`, labels: { le, result }, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', result }, value: count });
      values.push({ metricName: `${name}_sum`, labels: { result }, value: sum });
      values.push({ metricName: `${name}_count`, labels: { result }, value: count });
    }
    return { name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const series of this.observed.splice(0)) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}

function createCheckMetrics(registry: Registry): CheckMetrics {
  let allowed = 0;
  const denied = new Map<string, number>();
  // Counted here, added to the prom-client counter when it is read (collect runs before every read).
  new Counter({
    name: 'jwt_auth_check_decisions_total',
    help: '/check decisions by result and reason code',
    labelNames: ['result', 'reason'],
    registers: [registry],
    collect() {
      if (allowed > 0) this.labels('allow', 'ok').inc(allowed);
      allowed = 0;
      for (const [code, count] of denied) this.labels('deny', code).inc(count);
      denied.clear();
    },
  });
  const duration = new CheckDurationHistogram();
  registry.registerMetric(duration as unknown as Metric);
  return {
    allow(seconds) {
      allowed++;
      duration.observe(duration.allowSeries, seconds);
    },
    deny(code, seconds) {
      denied.set(code, (denied.get(code) ?? 0) + 1);
      if (seconds !== undefined) duration.observe(duration.denySeries, seconds);
    },
  };
}

function createJwksMetrics(registry: Registry): JwksMetrics {
  const watched = new Map<string, () => KeySetReading>();
  const fetches = new Counter({
    name: 'jwt_auth_jwks_fetches_total',
    help: 'Fetches of remote JWK Sets and discovery documents, by issuer and result',
    labelNames: ['issuer', 'result'],
    registers: [registry],
  });
  const readings = (): Array<[string, KeySetReading]> => [...watched].map(([issuer, read]) => [issuer, read()]);
  const keys = new Gauge({
    name: 'jwt_auth_jwks_keys',
    help: 'Verification keys held for the issuer (one per kid and algorithm)',
    labelNames: ['issuer'],
    registers: [registry],
    collect() {
      for (const [issuer, reading] of readings()) this.labels(issuer).set(reading.keys);
    },
  });
  const age = new Gauge({
    name: 'jwt_auth_jwks_key_age_seconds',
    help: "Seconds since the issuer's keys were last fetched successfully (absent before the first)",
    labelNames: ['issuer'],
    registers: [registry],
    collect() {
      for (const [issuer, reading] of readings()) {
        if (reading.ageMs === undefined) this.remove(issuer);
        else this.labels(issuer).set(reading.ageMs / 1000);
      }
    },
  });
  const usable = new Gauge({
    name: 'jwt_auth_jwks_usable',
    help: "1 while the issuer's keys may be used (fresh, or stale within the bound), 0 otherwise",
    labelNames: ['issuer'],
    registers: [registry],
    collect() {
      for (const [issuer, reading] of readings()) this.labels(issuer).set(reading.usable ? 1 : 0);
    },
  });
  return {
    fetched(issuer, result) {
      fetches.labels(issuer, result).inc();
    },
    watch(issuer, read) {
      watched.set(issuer, read);
      // Every result from 0, so a rate or an alert on a result never sees a series appear from nowhere.
      for (const result of FETCH_RESULTS) fetches.labels(issuer, result).inc(0);
      return () => {
        if (watched.get(issuer) !== read) return;
        watched.delete(issuer);
        for (const gauge of [keys, age, usable]) gauge.remove(issuer);
      };
    },
  };
}

/**
 * Counted as plain numbers, turned into series at scrape time like /check's. A steady rate of
 * closes under load means nginx's upstream pool is too small (`keepalive` in the upstream block)
 * or something closes connections under its feet: each new connection costs both sides far more
 * than a request on a kept one (BENCHMARKS.md).
 */
function createConnectionMetrics(registry: Registry): ConnectionMetrics {
  let opened = 0;
  let closed = 0;
  new Counter({
    name: 'jwt_auth_http_connections_total',
    help: 'Connections to the service, by event (opened, closed)',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.labels('opened').inc(opened);
      this.labels('closed').inc(closed);
      opened = 0;
      closed = 0;
    },
  });
  return {
    opened: () => void opened++,
    closed: () => void closed++,
  };
}

export function createMetrics(options: { version: string; defaultMetrics?: boolean }): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'jwt_auth_build_info', help: 'Build information', labelNames: ['version', 'node'], registers: [registry] })
    .labels(options.version, process.version)
    .set(1);
  return {
    registry,
    jwks: createJwksMetrics(registry),
    check: createCheckMetrics(registry),
    logins: new Counter({ name: 'jwt_auth_login_total', help: '/login outcomes', labelNames: ['outcome'], registers: [registry] }),
    loginDuration: new Histogram({
      name: 'jwt_auth_login_duration_seconds',
      help: '/login handling time, authenticator included',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    authenticatorCalls: new Counter({
      name: 'jwt_auth_authenticator_requests_total',
      help: 'Calls to the authenticator by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'jwt_auth_login_rate_limited_total',
      help: 'Logins refused by the failed-attempt limiter, by key',
      labelNames: ['key'],
      registers: [registry],
    }),
    refusedRequests: new Counter({
      name: 'jwt_auth_http_refused_total',
      help: "Requests node's HTTP parser refused (any route), by parser error code",
      labelNames: ['reason'],
      registers: [registry],
    }),
    logouts: new Counter({ name: 'jwt_auth_logout_total', help: '/logout outcomes', labelNames: ['outcome'], registers: [registry] }),
    revocationsLearned: new Counter({
      name: 'jwt_auth_revocations_learned_total',
      help: 'Revocations made elsewhere that reached this process, by feed or by a (re)load',
      labelNames: ['source'],
      registers: [registry],
    }),
    watchRevocations(status) {
      new Gauge({
        name: 'jwt_auth_revocations',
        help: 'Revocations held in memory, by kind (jti: one token; sid: a session, logged out; sub: every token and session of a subject begun before a moment)',
        labelNames: ['kind'],
        registers: [registry],
        collect() {
          const { entries } = status();
          this.labels('jti').set(entries.jti);
          this.labels('sid').set(entries.sid);
          this.labels('sub').set(entries.sub);
        },
      });
      new Gauge({
        name: 'jwt_auth_revocations_degraded',
        help: '1 while revocations made elsewhere may not reach this process and new ones cannot be stored (Redis unreachable)',
        registers: [registry],
        collect() {
          this.set(status().state === 'degraded' ? 1 : 0);
        },
      });
      new Gauge({
        name: 'jwt_auth_redis_up',
        help: '1 while the Redis connection is ready, by connection (commands, feed); absent without REDIS_URL',
        labelNames: ['connection'],
        registers: [registry],
        collect() {
          const redis = status().redis;
          if (redis === undefined) return;
          this.labels('commands').set(redis.commands === 'ready' ? 1 : 0);
          this.labels('feed').set(redis.feed === 'ready' ? 1 : 0);
        },
      });
    },
    issuerDenials: new Counter({
      name: 'jwt_auth_check_issuer_denials_total',
      help: '/check denials for the token issuer: token_issuer_unknown, issuer_keys_unavailable',
      labelNames: ['issuer', 'reason'],
      registers: [registry],
    }),
    connections: createConnectionMetrics(registry),
  };
}
