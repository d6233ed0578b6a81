import type Router from '@koa/router';
import type { AppDeps } from '../app.js';

/**
 * /check for every method: an auth_request subrequest keeps the client's method (and has no body,
 * which is never read here anyway).
 */
export function checkRoute(router: Router, { check, metrics, logger }: AppDeps): void {
  const allowed = metrics.decisions.labels('allow', 'ok');
  const allowedDuration = metrics.checkDuration.labels('allow');
  const deniedDuration = metrics.checkDuration.labels('deny');

  router.all('/check', (ctx) => {
    const started = performance.now();
    const decision = check({ rawHeaders: ctx.req.rawHeaders, query: ctx.querystring });
    const { headers } = decision;
    for (let i = 0; i < headers.length; i += 2) ctx.res.setHeader(headers[i] as string, headers[i + 1] as string);
    ctx.status = decision.status;
    ctx.body = decision.body;

    const seconds = (performance.now() - started) / 1000;
    if (decision.code === undefined) {
      allowed.inc();
      allowedDuration.observe(seconds);
      if (logger.isLevelEnabled('debug')) logger.debug({ event: 'check', result: 'allow', sub: decision.claims?.sub, requestId: ctx.get('x-request-id') || undefined }, 'allowed');
      return;
    }
    metrics.decisions.labels('deny', decision.code).inc();
    deniedDuration.observe(seconds);
    // The query string is left out of the log: some applications still put tokens in URLs.
    const uri = ctx.get('x-original-uri').split('?', 1)[0] || undefined;
    const entry = { event: 'check', result: 'deny', code: decision.code, requestId: ctx.get('x-request-id') || undefined, method: ctx.get('x-original-method') || ctx.method, uri };
    if (decision.cause !== undefined) logger.error({ ...entry, err: decision.cause }, 'check failed unexpectedly');
    else logger.info(entry, 'denied');
  });
}
