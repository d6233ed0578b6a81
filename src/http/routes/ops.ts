import type Router from '@koa/router';
import type { KeySource } from '../../key-source.js';
import type { Metrics } from '../../metrics.js';
import type { RevocationStore } from '../../revocation/store.js';
import type { TrustRuntime } from '../../trust.js';
import type { Lifecycle } from '../app.js';

/** What the operations routes use, and nothing more. */
export interface OpsRouteDeps {
  readonly keySource: KeySource;
  readonly trust: Pick<TrustRuntime, 'ready' | 'health'>;
  readonly metrics: Pick<Metrics, 'registry'>;
  readonly lifecycle: Readonly<Lifecycle>;
  readonly revocations: Pick<RevocationStore, 'status'>;
}

/** Liveness, readiness, metrics and the public keys. */
export function opsRoutes(router: Router, { keySource, trust, metrics, lifecycle, revocations }: OpsRouteDeps): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', (ctx) => {
    // Ready: every trusted issuer has had keys and the socket listens. Revocations degraded (Redis
    // unreachable) stay ready: /check answers from what this process knows, and taking every instance
    // out of nginx's upstream because Redis is down would turn a Redis outage into an outage of
    // everything behind nginx.
    const ready = keySource.ready && trust.ready && lifecycle.ready && !lifecycle.shuttingDown;
    ctx.status = ready ? 200 : 503;
    ctx.set('cache-control', 'no-store');
    // Which issuer is waiting for keys, and why, and how revocations are shared: what an operator looks at first.
    ctx.body = { status: ready ? 'ready' : lifecycle.shuttingDown ? 'shutting_down' : 'starting', issuers: trust.health(), revocations: revocations.status() };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  // Applications verify our tokens with these keys and never need the signing secret.
  router.get('/.well-known/jwks.json', (ctx) => {
    const { jwks } = keySource.current();
    if (jwks.keys.length === 0) return; // HMAC-only: nothing public to publish; the 404 handler answers.
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = jwks;
  });
}
