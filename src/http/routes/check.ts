import type Router from '@koa/router';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildDenial } from '../../check.js';
import { clip } from '../../deny-log.js';
import type { AppDeps } from '../app.js';

/** Answers one /check request on node's own request and response. Never throws. */
export type CheckResponder = (req: IncomingMessage, res: ServerResponse, query: string) => void;

/**
 * The /check answer, written straight to node's response with one writeHead: the decision carries
 * every header in order, framing included (built once per deny code, and per cached claims object
 * on allow), so nothing here parses, looks up or allocates on the common path. The bytes are the
 * ones Koa wrote when /check was a plain router route.
 */
export function createCheckResponder({ config, check, metrics, logger, denyLog, lifecycle }: AppDeps): CheckResponder {
  const recorded = metrics.check;
  // When even writing the decision fails: still a deny, never a 5xx that nginx would turn into its 500.
  const failed = buildDenial('check_failed', config.check);
  const answer: CheckResponder = (req, res, query) => {
    const started = performance.now();
    const decision = check({ rawHeaders: req.rawHeaders, query, method: req.method ?? 'GET' });
    // While draining, ask nginx to reconnect (errorResponder does the same for every other route).
    res.writeHead(decision.status, lifecycle.shuttingDown ? ['connection', 'close', ...decision.headers] : (decision.headers as string[]));
    res.end(decision.body);

    const seconds = (performance.now() - started) / 1000;
    if (decision.code === undefined) {
      recorded.allow(seconds);
      if (logger.isLevelEnabled('debug')) logger.debug({ event: 'check', result: 'allow', sub: decision.claims?.sub, requestId: loggable(req.headers['x-request-id']) }, 'allowed');
      return;
    }
    recorded.deny(decision.code, seconds);
    denyLog.deny(decision.code, () => deniedRequest(req), decision.cause);
  };
  // check() turns every failure into a deny; this only guards the writing and logging around it
  // (outside Koa nothing else would, and an exception here would end the process).
  return (req, res, query) => {
    try {
      answer(req, res, query);
    } catch (error) {
      logger.error({ event: 'check', result: 'deny', code: 'check_failed', err: error }, 'check failed unexpectedly');
      if (!res.headersSent && !res.destroyed) res.writeHead(failed.status, failed.headers as string[]).end(failed.body);
    }
  };
}

/** A client-sent header value cut to a loggable size; undefined when absent or empty. */
function loggable(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text ? clip(text) : undefined;
}

/** What a deny line says about the request: every field sent by the client, each bounded. */
function deniedRequest(req: IncomingMessage): Record<string, string | undefined> {
  // The query string is left out of the log: some applications still put tokens in URLs.
  const uri = req.headers['x-original-uri'];
  const query = typeof uri === 'string' ? uri.indexOf('?') : -1;
  return {
    requestId: loggable(req.headers['x-request-id']),
    method: loggable(req.headers['x-original-method']) ?? clip(req.method ?? ''),
    uri: typeof uri === 'string' ? loggable(query < 0 ? uri : uri.slice(0, query)) : undefined,
  };
}

/**
 * The query of a request target nginx sends (`/check`, `/check?args`), or undefined for any other
 * target. Targets with characters that make Koa's parseurl fall back to url.parse (which rewrites
 * them) are left to the Koa route, so both paths always see the same query.
 */
export function plainCheckQuery(url: string): string | undefined {
  if (url === '/check') return '';
  if (!url.startsWith('/check?') || /[\t\n\f\r #\u00a0\ufeff]/.test(url)) return undefined;
  return url.slice('/check?'.length);
}

/**
 * /check for every method. nginx 1.22 sends every auth_request subrequest as GET, with the client's
 * method in X-Original-Method; other callers (ingress-nginx, curl) may use any method. nginx's own spellings never get here (see App in app.ts); this
 * route answers the others the router also matches (`/check/`, `/CHECK`, absolute-form URLs).
 */
export function checkRoute(router: Router, deps: AppDeps): void {
  const respond = createCheckResponder(deps);
  router.all('/check', (ctx) => {
    ctx.respond = false;
    respond(ctx.req, ctx.res, ctx.querystring);
  });
}
