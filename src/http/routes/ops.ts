import type Router from '@koa/router';
import { publicJwks, type KeySet } from '../../keys.js';
import type { Metrics } from '../../metrics.js';
import type { Lifecycle } from '../app.js';

/** What the operations routes use, and nothing more. */
export interface OpsRouteDeps {
  readonly keys: KeySet;
  readonly metrics: Pick<Metrics, 'registry'>;
  readonly lifecycle: Readonly<Lifecycle>;
}

/** Liveness, readiness, metrics and the public keys. */
export function opsRoutes(router: Router, { keys, metrics, lifecycle }: OpsRouteDeps): void {
  const jwks = publicJwks(keys);

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', (ctx) => {
    const ready = lifecycle.ready && !lifecycle.shuttingDown;
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : lifecycle.shuttingDown ? 'shutting_down' : 'starting' };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  // Applications verify our tokens with these keys and never need the signing secret.
  router.get('/.well-known/jwks.json', (ctx) => {
    if (jwks.keys.length === 0) return; // HMAC-only: nothing public to publish; the 404 handler answers.
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = jwks;
  });
}
