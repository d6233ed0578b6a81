/**
 * Applications that route differently from nginx, each answering which of its handlers ran:
 * `{"handler": "admin" | "public", "path": <what the app received>, "user": X-Auth-User}`.
 *
 * - a Koa + @koa/router app: case-insensitive routing, like Express and most Node routers;
 * - a Flask app whose admin area is `/admin/<path:page>` (support/apps/flask_router.py);
 * - a servlet-style app: strips `;params` from every segment and trailing dots and spaces from
 *   segment names (as servlet containers and IIS do) and routes case-insensitively.
 */
import Router from '@koa/router';
import Koa from 'koa';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pythonBin } from './authenticator.js';
import { REPO_ROOT } from './paths.js';
import { LOOPBACK, freePort } from './ports.js';
import { startProcess, waitForHttp } from './process.js';

export interface RoutingApp {
  readonly name: string;
  /** host:port, for nginx's upstream app. */
  readonly addr: string;
  stop(): Promise<void>;
}

export interface HandlerAnswer {
  readonly handler: 'admin' | 'public';
  readonly path: string;
  readonly user: string | null;
}

async function listen(name: string, server: http.Server): Promise<RoutingApp> {
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  return {
    name,
    addr: `${LOOPBACK}:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => undefined),
  };
}

function answer(handler: HandlerAnswer['handler'], path: string, user: string | string[] | undefined): string {
  return JSON.stringify({ handler, path, user: typeof user === 'string' ? user : null });
}

/** Koa with @koa/router's defaults: `/ADMIN/users` is routed to the `/admin` handlers. */
export async function startKoaRouterApp(): Promise<RoutingApp> {
  const app = new Koa();
  const admin = new Router();
  admin.get('/', (ctx) => void (ctx.body = answer('admin', ctx.path, ctx.get('x-auth-user') || undefined)));
  admin.get('/users', (ctx) => void (ctx.body = answer('admin', ctx.path, ctx.get('x-auth-user') || undefined)));
  admin.get('/users/:id', (ctx) => void (ctx.body = answer('admin', ctx.path, ctx.get('x-auth-user') || undefined)));
  const router = new Router();
  router.use('/admin', admin.routes());
  router.get(/.*/, (ctx) => void (ctx.body = answer('public', ctx.path, ctx.get('x-auth-user') || undefined)));
  app.use(router.routes());
  const server = http.createServer(app.callback());
  return listen('koa-router', server);
}

/** What a servlet container makes of a path: no `;params`, no trailing dots or spaces, any case. */
export function servletPath(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) => decodeURIComponent(segment.split(';', 1)[0] ?? '').replace(/[. ]+$/, ''))
    .join('/')
    .toLowerCase();
}

export async function startServletStyleApp(): Promise<RoutingApp> {
  const server = http.createServer((req, res) => {
    const raw = (req.url ?? '/').split('?', 1)[0] ?? '/';
    let path: string;
    try {
      path = servletPath(raw);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const handler = path === '/admin' || path.startsWith('/admin/') ? 'admin' : 'public';
    res.setHeader('content-type', 'application/json');
    res.end(answer(handler, raw, req.headers['x-auth-user']));
  });
  return listen('servlet-style', server);
}

export async function startFlaskRouterApp(dir: string): Promise<RoutingApp> {
  const port = await freePort();
  const proc = startProcess('flask-router', pythonBin(), [join(REPO_ROOT, 'support', 'apps', 'flask_router.py'), '--host', LOOPBACK, '--port', String(port)], {
    env: { PATH: process.env.PATH ?? '', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    logFile: join(dir, `flask-router-${port}.log`),
  });
  await waitForHttp(proc, `http://${LOOPBACK}:${port}/healthz`);
  return { name: 'flask <path:>', addr: `${LOOPBACK}:${port}`, stop: async () => void (await proc.stop('SIGTERM', 5000)) };
}
