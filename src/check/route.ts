/**
 * Where /check requests enter. nginx's auth_request sends `/check` or `/check?args` on every
 * protected request, and those are answered before Koa builds a context: on /check the useful work
 * is a cached signature check of a few microseconds, and Koa's fixed cost per request (context and
 * request/response objects, on-finished listeners, the middleware promise chain: 4-9 µs of CPU here)
 * is as large (measured in BENCHMARKS.md). The spellings only other callers use (`/check/`,
 * `/CHECK`, absolute-form URLs) go through a Koa route, which reads the query the way Koa parses
 * the URL. Both entries call the same writeCheckAnswer, and test/routes/check-wire.test.ts holds
 * them to the same bytes.
 */
import type Router from '@koa/router';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { CheckAnswerWriter } from './answer.js';

/** The path nginx's auth_request calls. */
export const CHECK_PATH = '/check';

/**
 * The query of a request target nginx sends (`/check`, `/check?args`), or undefined for any other
 * target. Targets with characters that make Koa's parseurl fall back to url.parse (which rewrites
 * them) are left to the Koa route, so both entries always see the same query.
 */
export function nginxCheckQuery(url: string): string | undefined {
  if (url === CHECK_PATH) return '';
  if (!url.startsWith(`${CHECK_PATH}?`) || /[\t\n\f\r #\u00a0\ufeff]/.test(url)) return undefined;
  return url.slice(CHECK_PATH.length + 1);
}

/** `/check` in any spelling the router also serves: `/check/`, `/CHECK`, absolute-form, with a query. */
const ANY_CHECK_TARGET = /^(?:https?:\/\/[^/?#]*)?\/check\/?(?:\?|$)/i;

/** Whether a request target, as read from a request node's parser refused, is meant for /check. */
export function isCheckTarget(target: string): boolean {
  return ANY_CHECK_TARGET.test(target);
}

/** The server's request listener: nginx's /check targets answered here, everything else by `koa`. */
export function answerCheckBeforeKoa(
  { writeCheckAnswer }: CheckAnswerWriter,
  koa: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): RequestListener {
  return (req, res) => {
    const query = nginxCheckQuery(req.url ?? '');
    if (query === undefined) void koa(req, res);
    else writeCheckAnswer(req, res, query);
  };
}

/**
 * /check for every method, in the spellings nginx never sends. nginx 1.22 sends every auth_request
 * subrequest as GET, with the client's method in X-Original-Method; other callers (ingress-nginx,
 * curl) may use any method.
 */
export function koaCheckRoute(router: Router, { writeCheckAnswer }: CheckAnswerWriter): void {
  router.all(CHECK_PATH, (ctx) => {
    ctx.respond = false;
    writeCheckAnswer(ctx.req, ctx.res, ctx.querystring);
  });
}
