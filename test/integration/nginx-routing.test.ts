/**
 * What the app sees is what nginx matched: a restricted location cannot be walked around through
 * the application's own routing. The repository's nginx configuration (the template's
 * `location ~* ^/admin(?![a-z0-9_-])` with role=admin, `location /` for any valid token, and the
 * guard of snippets/jwt-auth-location.conf) in front of three real applications that route
 * differently from nginx: a case-insensitive Koa router, a Flask `<path:>` converter and a
 * servlet-style app that strips `;params` and trailing dots. With a role=user token no path reaches
 * an admin handler; with a role=admin token the admin handlers answer, in any case.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpRequest } from '../../support/http.js';
import { startNginx, type NginxInstance } from '../../support/nginx.js';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startFlaskRouterApp, startKoaRouterApp, startServletStyleApp, type HandlerAnswer, type RoutingApp } from '../../support/routing-apps.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { IDENTITY_HEADERS } from '../../support/stack.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { makeSecret, mintToken } from '../../support/tokens.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite());

/** Raw request targets that reached an admin handler with a role=user token before the fix. */
const WALKAROUNDS = [
  '/ADMIN/users',
  '/Admin/users/7',
  '/aDmIn/',
  '/admin/..%2fsettings',
  '/admin/..%2Fusers',
  '/admin%2fusers',
  '/admin;x/',
  '/admin;jsessionid=1/users',
  '/admin./',
  '/admin../users',
  '/admin.json',
  '/ADMIN%20/users',
  '/%61dmin/users',
  '/x/../admin/users',
  '/public/..%252fadmin/users',
  '/admin%2e/users',
  '/admin\\users',
  '/admin%5cusers',
] as const;

/** Each app, and whether it serves /ADMIN/ from its /admin handlers. */
const APPS: ReadonlyArray<[string, (dir: string) => Promise<RoutingApp>, boolean]> = [
  ['a case-insensitive Koa router', () => startKoaRouterApp(), true],
  ["Flask's <path:> converter", (dir) => startFlaskRouterApp(dir), false],
  ['a servlet-style app (;params, trailing dots)', () => startServletStyleApp(), true],
];

describe('restricted locations hold whatever the app behind nginx does with the path', { skip, timeout: 120_000 }, () => {
  let dir = '';
  let secret = '';
  let service: ServiceProcess | undefined;
  let user = '';
  let admin = '';
  const running: Array<{ stop(): Promise<void> }> = [];

  before(async () => {
    dir = makeTempDir('nginx-routing');
    secret = makeSecret();
    service = await startServiceProcess({ JWT_SECRET: secret, IDENTITY_HEADERS }, { dir });
    running.push(service);
    user = await mintToken(secret, { sub: 'bob', roles: ['user'] });
    admin = await mintToken(secret, { sub: 'alice', roles: ['admin', 'user'] });
  });

  after(async () => {
    for (const part of running.reverse()) await part.stop().catch(() => undefined);
    if (dir) removeTempDir(dir);
  });

  for (const [index, [label, startApp, caseInsensitive]] of APPS.entries()) {
    describe(`behind ${label}`, () => {
      let nginx: NginxInstance | undefined;
      const get = (target: string, token: string) => {
        assert.ok(nginx);
        return httpRequest(`${nginx.url}${target}`, { headers: { authorization: `Bearer ${token}` } });
      };
      const handlerOf = async (target: string, token: string): Promise<{ status: number; handler: string | undefined }> => {
        const reply = await get(target, token);
        const handler = reply.status === 200 ? reply.json<HandlerAnswer>().handler : undefined;
        return { status: reply.status, handler };
      };

      before(async () => {
        assert.ok(service);
        const app = await startApp(dir);
        running.push(app);
        const own = join(dir, `app-${index}`);
        mkdirSync(own, { mode: 0o755 });
        nginx = await startNginx({ jwtAuthAddr: service.addr, appAddr: app.addr, dir: own });
        running.push(nginx);
      });

      it('the app really routes as described: an admin token reaches its admin handler, a user token its public ones', async () => {
        assert.deepEqual(await handlerOf('/admin/users', admin), { status: 200, handler: 'admin' });
        assert.deepEqual(
          await handlerOf('/ADMIN/users', admin),
          { status: 200, handler: caseInsensitive ? 'admin' : 'public' },
          'restricted paths match in any case',
        );
        assert.deepEqual(await handlerOf('/settings', user), { status: 200, handler: 'public' });
        assert.deepEqual(await handlerOf('/administrator', user), { status: 200, handler: 'public' }, 'only the whole segment is restricted');
        assert.deepEqual(await handlerOf('/admin/users', user), { status: 403, handler: undefined });
      });

      for (const target of WALKAROUNDS) {
        it(`a role=user token never reaches an admin handler through ${JSON.stringify(target)}`, async () => {
          const { status, handler } = await handlerOf(target, user);
          assert.notEqual(handler, 'admin', `${target} reached the admin handler`);
          assert.ok([400, 403, 404].includes(status) || handler === 'public', `${target}: unexpected ${status}`);
          assert.ok(status < 500, `${target}: ${status}`);
        });
      }

      it('an ambiguous path is refused with a clear code, before any location or the app sees it', async () => {
        const reply = await get('/admin/..%2fsettings', admin);
        assert.equal(reply.status, 400);
        assert.equal(reply.headers['x-auth-error'], 'uri_ambiguous');
        assert.deepEqual(reply.json(), { error: 'uri_ambiguous' });
        // The query string is the app's business: encoded slashes and semicolons there are fine.
        assert.equal((await handlerOf('/settings?next=%2Fadmin%2F;x', user)).handler, 'public');
      });
    });
  }
});
