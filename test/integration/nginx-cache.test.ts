/**
 * Decision caching in a real nginx: nginx/snippets/jwt-auth-cache.conf turned on the way it
 * tells an operator to, in front of the real service with CHECK_CACHE_MAX_AGE=60s. A recording proxy
 * between nginx and the service counts the /check requests that were not answered from the cache.
 *
 * What must hold: a cached allow is never served to a request with another credential (header or
 * cookie), another policy (X-Auth-Require, or another auth location's arguments), another server or
 * another auth service; it never outlives the token's exp; no denial is ever cached; and the cache
 * folder never holds a token or a cookie in clear. Needs `npm run build` and nginx (skipped without
 * nginx, failed under CI=true).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startNginx, type NginxInstance } from '../../support/nginx.js';
import { httpRequest, type HttpResponse } from '../../support/http.js';
import { nginxPrerequisite, njsPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startRecordingProxy, type RecordingProxy } from '../../support/recording-proxy.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { payloadOf, withForgedClaims } from '../../support/jws.js';
import { makeSecret, mintToken } from '../../support/tokens.js';

const skip = requireOrSkip(nginxPrerequisite(), njsPrerequisite());
const SUITE = { skip, timeout: 60_000 };

const ALICE = { sub: 'alice', name: 'Alice', roles: ['admin', 'editor'] };
const BOB = { sub: 'bob', name: 'Bob', roles: ['user'] };

interface Seen {
  user: string | null;
  roles: string | null;
  path: string;
}

/** A server's own cached auth location asking `target`, and one protected location. */
const cachedServerBody = (target: string): string => `
    location = /_jwt_auth {
        internal;
        proxy_pass http://${target};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        include snippets/jwt-auth-cache.conf;
    }
    location / {
        include snippets/jwt-auth-protect.conf;
        proxy_pass http://app;
    }`;

describe('nginx decision caching (snippets/jwt-auth-cache.conf)', SUITE, () => {
  let dir: string | undefined;
  let secret = '';
  let app: http.Server | undefined;
  let service: ServiceProcess | undefined;
  let recorder: RecordingProxy | undefined;
  let otherService: ServiceProcess | undefined;
  let nginx: NginxInstance | undefined;
  let editorUrl = '';
  let tenantBUrl = '';
  let app2Url = '';
  let handOnUrl = '';
  const otherSecret = makeSecret();

  before(async () => {
    dir = makeTempDir('nginx-cache');
    secret = makeSecret();
    // The protected app reports the identity nginx passed it.
    app = http.createServer((req, res) => {
      const seen: Seen = { user: (req.headers['x-auth-user'] as string) ?? null, roles: (req.headers['x-auth-roles'] as string) ?? null, path: req.url ?? '' };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(seen));
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    service = await startServiceProcess(
      {
        JWT_SECRET: secret,
        IDENTITY_HEADERS: 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name',
        TOKEN_COOKIE: 'jwt',
        CHECK_CACHE_MAX_AGE: '60s',
        // exp means exp: no leeway, so the expiry test sees the service deny right after exp.
        JWT_CLOCK_TOLERANCE: '0',
      },
      { dir },
    );
    recorder = await startRecordingProxy(service.addr);
    // A second application's own auth service, with a key of its own.
    const app2Service = await startServiceProcess({ JWT_SECRET: otherSecret, IDENTITY_HEADERS: 'sub:X-Auth-User', CHECK_CACHE_MAX_AGE: '60s' }, { dir });
    otherService = app2Service;
    nginx = await startNginx({
      dir,
      jwtAuthAddr: recorder.addr,
      appAddr: `127.0.0.1:${(app.address() as AddressInfo).port}`,
      cache: true,
      extraPorts: 4,
      // A second auth location whose policy is in its proxy_pass arguments, sharing the same cache.
      extraServers: (ports) => `
server {
    listen ${ports[0]};
    include snippets/jwt-auth-location.conf;
    location = /_jwt_auth_editor {
        internal;
        proxy_pass http://jwt_auth/check?role=editor;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        include snippets/jwt-auth-cache.conf;
    }
    location /editor/ {
        auth_request /_jwt_auth_editor;
        auth_request_set $jwt_auth_user $upstream_http_x_auth_user;
        proxy_set_header X-Auth-User $jwt_auth_user;
        proxy_pass http://app;
    }
    location / {
        include snippets/jwt-auth-protect.conf;
        proxy_pass http://app;
    }
}
# Tenant b: the same internal location name as the main server's, with the tenant in its arguments.
server {
    listen ${ports[1]};
${cachedServerBody('jwt_auth/check?claim.tenant=b')}
}
# A second application with its own auth service (another key), sharing the cache zone.
upstream jwt_auth_app2 {
    server ${app2Service.addr};
    keepalive 8;
}
server {
    listen ${ports[2]};
${cachedServerBody('jwt_auth_app2/check')}
}
# A protected location that hands its request on, inside nginx, to a stricter one: after the first
# auth subrequest, try_files redirects to /admin/, whose own auth subrequest asks for role=admin.
server {
    listen ${ports[3]};
    include snippets/jwt-auth-location.conf;
    location /docs/ {
        include snippets/jwt-auth-protect.conf;
        try_files /no-such-file /admin/from-docs;
    }
    location /admin/ {
        set $auth_require "role=admin";
        include snippets/jwt-auth-protect.conf;
        proxy_pass http://app;
    }
}`,
    });
    editorUrl = `http://127.0.0.1:${nginx.extraPorts[0]}`;
    tenantBUrl = `http://127.0.0.1:${nginx.extraPorts[1]}`;
    app2Url = `http://127.0.0.1:${nginx.extraPorts[2]}`;
    handOnUrl = `http://127.0.0.1:${nginx.extraPorts[3]}`;
  });

  after(async () => {
    await nginx?.stop().catch(() => undefined);
    await recorder?.stop().catch(() => undefined);
    await service?.stop().catch(() => undefined);
    await otherService?.stop().catch(() => undefined);
    if (app) await new Promise<void>((resolve) => app?.close(() => resolve()));
    if (dir) removeTempDir(dir);
  });

  /** Runs `body` and returns how many /check requests reached the service meanwhile. */
  const checksDuring = async (body: () => Promise<void>): Promise<number> => {
    assert.ok(recorder);
    const before = recorder.records.length;
    await body();
    return recorder.records.length - before;
  };
  const get = (path: string, headers: Record<string, string> = {}, base?: string): Promise<HttpResponse> => {
    assert.ok(nginx);
    return httpRequest(`${base ?? nginx.url}${path}`, { headers });
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const spec = (name: string, body: () => Promise<void>): void => {
    it(name, async () => {
      try {
        await body();
      } catch (error) {
        if (error instanceof Error) error.message += `\n--- nginx error log\n${nginx?.errorLog(2000)}\n--- service log\n${service?.log(2000)}`;
        throw error;
      }
    });
  };

  spec('the cache is on: a repeated allow is answered by nginx alone, with the identity of its token', async () => {
    const alice = await mintToken(secret, ALICE);
    let first: HttpResponse | undefined;
    let second: HttpResponse | undefined;
    assert.equal(await checksDuring(async () => void (first = await get('/', bearer(alice)))), 1);
    assert.equal(await checksDuring(async () => void (second = await get('/', bearer(alice)))), 0, 'the second request should come from the cache');
    for (const reply of [first, second]) {
      assert.equal(reply?.status, 200);
      assert.equal(reply?.json<Seen>().user, 'alice');
    }
  });

  spec("another token never gets a cached allow: the service is asked and the app sees that token's user", async () => {
    const alice = await mintToken(secret, ALICE);
    const bob = await mintToken(secret, BOB);
    await get('/', bearer(alice));
    let reply: HttpResponse | undefined;
    assert.equal(await checksDuring(async () => void (reply = await get('/', bearer(bob)))), 1);
    assert.equal(reply?.json<Seen>().user, 'bob');
    // A forged token that claims alice's identity is asked about too, and denied.
    const forged = withForgedClaims(bob, { sub: 'alice', roles: ['admin'] });
    assert.equal(await checksDuring(async () => void (reply = await get('/', bearer(forged)))), 1);
    assert.equal(reply?.status, 403);
  });

  spec('the token cookie is part of the key as well', async () => {
    const alice = await mintToken(secret, ALICE);
    const bob = await mintToken(secret, BOB);
    const asAlice = await get('/', { cookie: `jwt=${alice}` });
    assert.equal(asAlice.json<Seen>().user, 'alice');
    let reply: HttpResponse | undefined;
    assert.equal(await checksDuring(async () => void (reply = await get('/', { cookie: `jwt=${bob}` }))), 1);
    assert.equal(reply?.json<Seen>().user, 'bob');
    // Same cookie, but now also a header token: a different request, asked again (and refused as ambiguous).
    assert.equal(await checksDuring(async () => void (reply = await get('/', { cookie: `jwt=${alice}`, ...bearer(bob) }))), 1);
    assert.equal(reply?.status, 403);
  });

  spec('a changed policy is honoured: an allow cached for / is not used for /admin/ ($auth_require)', async () => {
    const bob = await mintToken(secret, BOB);
    const alice = await mintToken(secret, ALICE);
    assert.equal((await get('/', bearer(bob))).status, 200);
    assert.equal((await get('/', bearer(bob))).status, 200);
    let reply: HttpResponse | undefined;
    assert.equal(await checksDuring(async () => void (reply = await get('/admin/', bearer(bob)))), 1);
    assert.equal(reply?.status, 403);
    assert.equal(reply?.headers['x-auth-error'], 'insufficient_scope');
    // And the other way round: alice's admin allow is cached for /admin/ only.
    assert.equal((await get('/admin/x', bearer(alice))).status, 200);
    assert.equal(await checksDuring(async () => void (reply = await get('/admin/y', bearer(alice)))), 0);
    assert.equal(reply?.json<Seen>().user, 'alice');
  });

  spec('a request handed on inside nginx to a stricter location is decided again there, with its own key', async () => {
    // nginx keeps a variable's value for the whole request, subrequests and internal redirects
    // included: a key computed once for /docs/ would be reused for the /admin/ subrequest and find
    // the allow cached for /docs/.
    const bob = await mintToken(secret, BOB);
    const alice = await mintToken(secret, ALICE);
    let reply: HttpResponse | undefined;
    const checks = await checksDuring(async () => void (reply = await get('/docs/guide', bearer(bob), handOnUrl)));
    assert.equal(reply?.status, 403, reply?.body.toString());
    assert.equal(checks, 2, 'one /check per location');
    assert.equal(reply?.status, 403);
    assert.equal(reply?.headers['x-auth-error'], 'insufficient_scope');
    assert.equal((await get('/docs/guide', bearer(bob), handOnUrl)).status, 403, 'and again, with /docs/ cached');
    reply = await get('/docs/guide', bearer(alice), handOnUrl);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json<Seen>(), { user: 'alice', roles: 'admin,editor', path: '/admin/from-docs' });
  });

  spec("another auth location's arguments are part of the key (proxy_pass …/check?role=editor)", async () => {
    const bob = await mintToken(secret, BOB);
    const alice = await mintToken(secret, ALICE);
    assert.equal((await get('/', bearer(bob), editorUrl)).status, 200);
    assert.equal((await get('/', bearer(bob), editorUrl)).status, 200);
    let status = 0;
    assert.equal(await checksDuring(async () => void (status = (await get('/editor/', bearer(bob), editorUrl)).status)), 1);
    assert.equal(status, 403);
    assert.equal((await get('/editor/', bearer(alice), editorUrl)).status, 200);
    assert.equal(await checksDuring(async () => void (status = (await get('/editor/', bearer(alice), editorUrl)).status)), 0);
    assert.equal(status, 200);
  });

  spec("a decision cached at one server is never used at another: tenant a's token is denied at tenant b's server", async () => {
    const tenantA = await mintToken(secret, { ...BOB, sub: 'bob-a', tenant: 'a' });
    assert.equal((await get('/', bearer(tenantA))).status, 200);
    assert.equal((await get('/', bearer(tenantA))).status, 200, 'cached at the main server');
    let reply: HttpResponse | undefined;
    assert.equal(await checksDuring(async () => void (reply = await get('/', bearer(tenantA), tenantBUrl))), 1, "tenant b's server asks the service");
    assert.equal(reply?.status, 403);
    assert.equal(reply?.headers['x-auth-error'], 'insufficient_scope');
    const tenantB = await mintToken(secret, { ...BOB, sub: 'bob-b', tenant: 'b' });
    assert.equal((await get('/', bearer(tenantB), tenantBUrl)).json<Seen>().user, 'bob-b');
  });

  spec("a decision cached for one auth service is never used for another: app1's token is denied by app2's service", async () => {
    const forApp1 = await mintToken(secret, ALICE);
    assert.equal((await get('/', bearer(forApp1))).status, 200);
    assert.equal((await get('/', bearer(forApp1))).status, 200, 'cached for app1');
    const reply = await get('/', bearer(forApp1), app2Url);
    assert.equal(reply.status, 403);
    assert.equal(reply.headers['x-auth-error'], 'token_signature_invalid');
    const forApp2 = await mintToken(otherSecret, { sub: 'dave' });
    assert.equal((await get('/', bearer(forApp2), app2Url)).json<Seen>().user, 'dave');
  });

  spec('the cache folder holds no token and no cookie in clear: its keys are digests', async () => {
    assert.ok(nginx);
    const token = await mintToken(secret, { sub: 'erin', roles: ['user'] });
    const cookieToken = await mintToken(secret, { sub: 'frank', roles: ['user'] });
    const sessionCookie = `app_session=${'s3cr3t'.repeat(8)}`;
    assert.equal((await get('/', bearer(token))).status, 200);
    assert.equal((await get('/', { cookie: `jwt=${cookieToken}; ${sessionCookie}` })).status, 200);
    assert.equal(await checksDuring(async () => void (await get('/', bearer(token)))), 0, 'the allow was cached');
    const cacheDir = join(nginx.prefix, 'cache');
    const files = readdirSync(cacheDir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    assert.ok(files.length >= 2, `expected cache files in ${cacheDir}`);
    for (const file of files) {
      const text = readFileSync(join(file.parentPath, file.name)).toString('latin1');
      for (const secretText of [token, cookieToken, token.split('.')[2] ?? '', cookieToken.split('.')[2] ?? '', 's3cr3ts3cr3t']) {
        assert.ok(!text.includes(secretText), `${file.name} holds a credential in clear`);
      }
      assert.match(text, /KEY: [A-Za-z0-9_-]{43}\n/, 'the key is a SHA-256 digest');
    }
  });

  spec('denials are never cached: every repeat reaches the service', async () => {
    const expired = await mintToken(secret, ALICE, { expiresIn: -60 });
    const bob = await mintToken(secret, BOB);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['no credentials', {}, '/'],
      ['an expired token', bearer(expired), '/'],
      ['a bad signature', bearer(`${bob.slice(0, -4)}AAAA`), '/'],
      ['a valid token that fails the policy', bearer(bob), '/admin/'],
    ];
    for (const [name, headers, path] of cases) {
      const statuses: number[] = [];
      const asked = await checksDuring(async () => {
        for (let i = 0; i < 3; i++) statuses.push((await get(path, headers)).status);
      });
      assert.deepEqual(statuses, [403, 403, 403], name);
      assert.equal(asked, 3, `${name}: each of 3 denials should reach the service`);
    }
  });

  spec("a cached allow never outlives the token's exp, though CHECK_CACHE_MAX_AGE is 60 s", async () => {
    const shortLived = await mintToken(secret, { sub: 'carol', roles: ['user'] }, { expiresIn: 2 });
    const exp = (payloadOf(shortLived) as { exp: number }).exp;
    assert.equal((await get('/', bearer(shortLived))).status, 200);
    assert.equal(await checksDuring(async () => void assert.equal((await get('/', bearer(shortLived))).status, 200)), 0, 'cached while valid');
    // One second past exp: nginx's clock has whole seconds.
    await delay(Math.max(0, (exp + 1) * 1000 - Date.now()) + 100);
    let reply: HttpResponse | undefined;
    assert.equal(await checksDuring(async () => void (reply = await get('/', bearer(shortLived)))), 1, 'asked again after exp');
    assert.equal(reply?.status, 403);
    assert.equal(reply?.headers['x-auth-error'], 'token_expired');
  });
});
