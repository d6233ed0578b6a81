/**
 * The exact bytes of /check answers. nginx's own request targets (`/check`, `/check?args`) are
 * answered before Koa, every other spelling by the Koa route (both entries in src/check/route.ts);
 * both must write what Koa wrote when /check was a plain router route: the same status line, the
 * same header lines in the same order, the same body. The expected texts below were captured from that version, with one
 * deliberate change: an allow now always carries X-Accel-Expires (0 when CHECK_CACHE_MAX_AGE is 0).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { createCheckAnswerWriter } from '../../src/check/answer.js';
import { createApp } from '../../src/http/app.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logging.js';
import { createService } from '../../src/service.js';
import { nowSeconds, signJws } from '../../support/jws.js';
import { hmacSecret } from '../../support/keys.js';
import { rawRequest } from '../../support/raw-http.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';

const SECRET = hmacSecret();
const IDENTITY = 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name';
const token = signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', roles: ['admin'], name: 'Alice', exp: nowSeconds() + 3600 }, SECRET);

/** Sends one raw request and returns the answer with Date and Keep-Alive lines (they vary) removed. */
async function exchange(url: string, lines: readonly string[]): Promise<string> {
  const reply = await rawRequest(Number(new URL(url).port), `${lines.join('\r\n')}\r\nHost: test\r\nConnection: close\r\n\r\n`);
  return reply.raw.replace(/^(Date|Keep-Alive): [^\r]*\r\n/gm, '');
}

const ALLOW = [
  'HTTP/1.1 200 OK',
  'x-auth-user: alice',
  'x-auth-roles: admin',
  'x-auth-name: Alice',
  'x-accel-expires: 0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Length: 0',
  'Connection: close',
  '',
  '',
].join('\r\n');

const deny = (status: string, code: string, extra: readonly string[] = []) => {
  const body = JSON.stringify({ error: code });
  return [
    `HTTP/1.1 ${status}`,
    `x-auth-error: ${code}`,
    'cache-control: no-store',
    'x-accel-expires: 0',
    'content-type: application/json',
    ...extra,
    `Content-Length: ${body.length}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
};
const headOnly = (answer: string): string => answer.slice(0, answer.indexOf('\r\n\r\n') + 4);

let svc403: InProcessService;
let svc401: InProcessService;
before(async () => {
  svc403 = await startServiceInProcess({ JWT_SECRET: SECRET, IDENTITY_HEADERS: IDENTITY, LOG_LEVEL: 'silent' });
  svc401 = await startServiceInProcess({
    JWT_SECRET: SECRET,
    IDENTITY_HEADERS: IDENTITY,
    LOG_LEVEL: 'silent',
    CHECK_UNAUTHENTICATED_STATUS: '401',
    CHECK_CACHE_MAX_AGE: '60',
  });
});
after(async () => {
  await svc403?.close();
  await svc401?.close();
});

// nginx's targets take the path in front of Koa; the others go through Koa's router.
const TARGETS: ReadonlyArray<[label: string, target: (query: string) => string]> = [
  ['/check (before Koa)', (query) => `/check${query}`],
  ['/CHECK/ (Koa route)', (query) => `/CHECK/${query}`],
];

describe('/check writes the same bytes on both paths', () => {
  for (const [label, target] of TARGETS) {
    test(`${label}: allow`, async () => {
      assert.equal(await exchange(svc403.url, [`GET ${target('')} HTTP/1.1`, `Authorization: Bearer ${token}`]), ALLOW);
    });
    test(`${label}: allow, HEAD`, async () => {
      assert.equal(await exchange(svc403.url, [`HEAD ${target('')} HTTP/1.1`, `Authorization: Bearer ${token}`]), ALLOW);
    });
    test(`${label}: allow with a policy in the query`, async () => {
      assert.equal(await exchange(svc403.url, [`GET ${target('?role=admin')} HTTP/1.1`, `Authorization: Bearer ${token}`]), ALLOW);
    });
    test(`${label}: 403 token_missing`, async () => {
      assert.equal(await exchange(svc403.url, [`GET ${target('')} HTTP/1.1`]), deny('403 Forbidden', 'token_missing'));
    });
    test(`${label}: 403 token_missing, HEAD`, async () => {
      assert.equal(await exchange(svc403.url, [`HEAD ${target('')} HTTP/1.1`]), headOnly(deny('403 Forbidden', 'token_missing')));
    });
    test(`${label}: 403 insufficient_scope from the query`, async () => {
      const scope = ['www-authenticate: Bearer realm="nginx-jwt-auth", error="insufficient_scope"'];
      assert.equal(
        await exchange(svc403.url, [`GET ${target('?role=nope')} HTTP/1.1`, `Authorization: Bearer ${token}`]),
        deny('403 Forbidden', 'insufficient_scope', scope),
      );
    });
    test(`${label}: 403 policy_invalid from X-Auth-Require`, async () => {
      assert.equal(
        await exchange(svc403.url, [`GET ${target('')} HTTP/1.1`, 'X-Auth-Require: bogus', `Authorization: Bearer ${token}`]),
        deny('403 Forbidden', 'policy_invalid'),
      );
    });
    test(`${label}: 401 mode, token_missing`, async () => {
      const realm = ['www-authenticate: Bearer realm="nginx-jwt-auth"'];
      assert.equal(await exchange(svc401.url, [`GET ${target('')} HTTP/1.1`]), deny('401 Unauthorized', 'token_missing', realm));
    });
    test(`${label}: 401 mode, a malformed token`, async () => {
      const realm = ['www-authenticate: Bearer realm="nginx-jwt-auth", error="invalid_token"'];
      assert.equal(
        await exchange(svc401.url, [`POST ${target('')} HTTP/1.1`, 'Authorization: Bearer abc.def.ghi']),
        deny('401 Unauthorized', 'token_malformed', realm),
      );
    });
    test(`${label}: CHECK_CACHE_MAX_AGE adds X-Accel-Expires to an allow, bounded by exp`, async () => {
      const answer = await exchange(svc401.url, [`GET ${target('')} HTTP/1.1`, `Authorization: Bearer ${token}`]);
      assert.equal(answer, ALLOW.replace('x-accel-expires: 0\r\n', 'x-accel-expires: 60\r\n'));
    });
  }

  test('while shutting down, both paths ask nginx to close the connection', async () => {
    const { lifecycle } = svc403.service.deps;
    lifecycle.shuttingDown = true;
    try {
      for (const [, target] of TARGETS) {
        const answer = await exchange(svc403.url, [`GET ${target('')} HTTP/1.1`, `Authorization: Bearer ${token}`]);
        assert.match(answer, /^HTTP\/1\.1 200 OK\r\nconnection: close\r\nx-auth-user: alice\r\n/i);
        assert.equal(answer.match(/^connection:/gim)?.length, 1, answer);
      }
    } finally {
      lifecycle.shuttingDown = false;
    }
  });

  test('targets nginx never sends still reach the router: // and /check/x are 404', async () => {
    for (const path of ['//check', '/check/x', '/checkx', '/check%2F']) {
      assert.match(await exchange(svc403.url, [`GET ${path} HTTP/1.1`]), /^HTTP\/1\.1 404 /, path);
    }
  });
});

describe('a failure around the decision is an answer, not a crash', () => {
  let server: http.Server;
  let url: string;
  const logs: string[] = [];
  before(async () => {
    const config = loadConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'error' });
    const logger = createLogger('error', { write: (line: string) => void logs.push(line) });
    const service = createService(config, { logger, defaultMetrics: false });
    const parts = {
      ...service.deps,
      decideAccess: () => {
        throw new Error('boom');
      },
    };
    const deps = { ...parts, checkAnswers: createCheckAnswerWriter(parts) };
    // Production's server and app, with only the decision replaced.
    server = createHttpServer({ ...service, deps, app: createApp(deps) }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  test('the fast path still denies (403 check_failed, never a 5xx nginx would mask), logs it, and the server keeps serving', async () => {
    for (let i = 0; i < 2; i++) {
      const answer = await exchange(url, ['GET /check HTTP/1.1']);
      assert.match(answer, /^HTTP\/1\.1 403 Forbidden\r\n/);
      assert.match(answer, /\r\nx-auth-error: check_failed\r\n/);
      assert.match(answer, /\{"error":"check_failed"\}$/);
      assert.doesNotMatch(answer, /boom/);
    }
    assert.ok(
      logs.some((line) => line.includes('boom')),
      'the cause is logged',
    );
  });
});
