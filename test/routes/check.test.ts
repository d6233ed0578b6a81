import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, request } from '../../support/http.js';
import { nowSeconds, signJws, withForgedPayload, tamperSignature } from '../../support/jws.js';
import { KeyFiles } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';

const files = new KeyFiles();
const SECRET = files.secret('HS256');
let svc: InProcessService;
let svc401: InProcessService;

before(async () => {
  // LOG_DENY_RATE=0: a test below looks for one deny's line among the many this file makes in a second.
  const env = { ...files.env('HS256'), IDENTITY_HEADERS: 'sub:X-Auth-User,roles:X-Auth-Roles', TOKEN_COOKIE: 'jwt', LOG_DENY_RATE: '0' };
  svc = await startServiceInProcess(env);
  svc401 = await startServiceInProcess({ ...env, CHECK_UNAUTHENTICATED_STATUS: '401' });
});
after(async () => {
  await svc?.close();
  await svc401?.close();
  files.remove();
});

const token = (claims: Record<string, unknown> = {}) =>
  signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', roles: ['editor'], exp: nowSeconds() + 3600, ...claims }, SECRET);
const auth = (value: string) => ({ authorization: `Bearer ${value}` });

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;

describe("/check answers every method (auth_request keeps the client's method)", { timeout: 30_000 }, () => {
  for (const method of METHODS) {
    test(`${method} with a good token → 200 + identity headers`, async () => {
      const reply = await request(`${svc.url}/check`, { method, headers: auth(token()) });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['x-auth-user'], 'alice');
      assert.equal(reply.headers['x-auth-roles'], 'editor');
      assert.equal(reply.headers['x-auth-error'], undefined);
      assert.equal(reply.body, '');
    });
    test(`${method} without a token → 403 token_missing`, async () => {
      const reply = await request(`${svc.url}/check`, { method });
      assert.equal(reply.status, 403);
      assert.equal(reply.headers['x-auth-error'], 'token_missing');
      assert.equal(reply.headers['x-auth-user'], undefined);
      if (method !== 'HEAD') assert.deepEqual(json(reply), { error: 'token_missing' });
    });
  }
});

describe("the issue's acceptance cases over a real socket", { timeout: 30_000 }, () => {
  const cases: Array<[name: string, make: () => string, status: number, code: string | undefined]> = [
    ['a good token', () => token(), 200, undefined],
    ['an expired token', () => token({ exp: nowSeconds() - 3600 }), 403, 'token_expired'],
    ['a tampered payload', () => withForgedPayload(token(), { sub: 'admin', exp: nowSeconds() + 3600 }), 403, 'token_signature_invalid'],
    ['a tampered signature', () => tamperSignature(token()), 403, 'token_signature_invalid'],
    ['an alg none token', () => signJws({ alg: 'none', typ: 'JWT' }, { sub: 'admin', exp: nowSeconds() + 3600 }, ''), 403, 'token_algorithm_not_allowed'],
  ];
  for (const method of ['GET', 'POST'] as const) {
    for (const [name, make, status, code] of cases) {
      test(`${method} with ${name} → ${status}${code ? ` ${code}` : ''}`, async () => {
        const reply = await request(`${svc.url}/check`, { method, headers: auth(make()) });
        assert.equal(reply.status, status);
        assert.equal(reply.headers['x-auth-error'], code);
        assert.equal(reply.headers['x-auth-user'], status === 200 ? 'alice' : undefined);
      });
    }
  }
});

describe('/check over the wire', { timeout: 30_000 }, () => {
  test('a deny carries X-Auth-Error, a JSON body with the code only, no-store and X-Accel-Expires: 0', async () => {
    const reply = await request(`${svc.url}/check`, { headers: auth('not-a-token') });
    assert.equal(reply.status, 403);
    assert.equal(reply.headers['x-auth-error'], 'token_malformed');
    assert.match(String(reply.headers['content-type']), /^application\/json/);
    assert.equal(reply.headers['cache-control'], 'no-store');
    assert.equal(reply.headers['x-accel-expires'], '0');
    assert.deepEqual(json(reply), { error: 'token_malformed' });
  });

  test('two Authorization lines on the wire are a deny (rawHeaders, not req.headers)', async () => {
    const reply = await request(`${svc.url}/check`, { headers: { Authorization: [`Bearer ${token()}`, `Bearer ${token({ sub: 'bob' })}`] } });
    assert.equal(reply.status, 403);
    assert.equal(reply.headers['x-auth-error'], 'token_ambiguous');
  });

  test('"Bearer a, Bearer b" is a deny', async () => {
    const reply = await request(`${svc.url}/check`, { headers: { authorization: `Bearer ${token()}, Bearer ${token({ sub: 'bob' })}` } });
    assert.equal(reply.headers['x-auth-error'], 'token_ambiguous');
  });

  test('the token cookie is accepted; a cookie disagreeing with the header is a deny', async () => {
    assert.equal((await request(`${svc.url}/check`, { headers: { cookie: `jwt=${token()}` } })).status, 200);
    const reply = await request(`${svc.url}/check`, { headers: { ...auth(token()), cookie: `jwt=${token({ sub: 'bob' })}` } });
    assert.equal(reply.headers['x-auth-error'], 'token_ambiguous');
  });

  test('identity headers sent by the client never come back', async () => {
    const spoofed = { 'x-auth-user': 'mallory', 'x-auth-roles': 'admin' };
    const allowed = await request(`${svc.url}/check`, { headers: { ...auth(token()), ...spoofed } });
    assert.equal(allowed.headers['x-auth-user'], 'alice');
    assert.equal(allowed.headers['x-auth-roles'], 'editor');
    const denied = await request(`${svc.url}/check`, { headers: spoofed });
    assert.equal(denied.headers['x-auth-user'], undefined);
    assert.equal(denied.headers['x-auth-roles'], undefined);
  });

  test('a policy from the query and from X-Auth-Require', async () => {
    assert.equal((await request(`${svc.url}/check?role=editor`, { headers: auth(token()) })).status, 200);
    const byQuery = await request(`${svc.url}/check?role=admin`, { headers: auth(token()) });
    assert.equal(byQuery.status, 403);
    assert.equal(byQuery.headers['x-auth-error'], 'insufficient_scope');
    const byHeader = await request(`${svc.url}/check`, { headers: { ...auth(token()), 'x-auth-require': 'role=admin' } });
    assert.equal(byHeader.headers['x-auth-error'], 'insufficient_scope');
    const broken = await request(`${svc.url}/check`, { headers: { ...auth(token()), 'x-auth-require': 'rol=admin' } });
    assert.equal(broken.status, 403);
    assert.equal(broken.headers['x-auth-error'], 'policy_invalid');
  });

  test('a request body is ignored (auth_request sends none; a client might)', async () => {
    const reply = await request(`${svc.url}/check`, {
      method: 'POST',
      headers: { ...auth(token()), 'content-type': 'application/json' },
      body: '{"sub":"admin"}',
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-auth-user'], 'alice');
  });

  test('in 401 mode, WWW-Authenticate reaches the client (RFC 6750 §3)', async () => {
    const missing = await request(`${svc401.url}/check`);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="nginx-jwt-auth"');
    const expired = await request(`${svc401.url}/check`, { headers: auth(token({ exp: nowSeconds() - 3600 })) });
    assert.equal(expired.status, 401);
    assert.equal(expired.headers['www-authenticate'], 'Bearer realm="nginx-jwt-auth", error="invalid_token"');
    const scope = await request(`${svc401.url}/check?role=admin`, { headers: auth(token()) });
    assert.equal(scope.status, 403);
    assert.equal(scope.headers['www-authenticate'], 'Bearer realm="nginx-jwt-auth", error="insufficient_scope"');
  });

  test('decisions are counted in /metrics by result and reason', async () => {
    await request(`${svc.url}/check`, { headers: auth(token({ exp: nowSeconds() - 3600 })) });
    const metrics = await request(`${svc.url}/metrics`);
    assert.match(metrics.body, /jwt_auth_check_decisions_total\{result="deny",reason="token_expired"\} [1-9]/);
    assert.match(metrics.body, /jwt_auth_check_decisions_total\{result="allow",reason="ok"\} [1-9]/);
  });

  test('a denial is logged with its code; the token is not', async () => {
    const expired = token({ exp: nowSeconds() - 3600 });
    await request(`${svc.url}/check`, { headers: { ...auth(expired), 'x-request-id': 'deny-log-1', 'x-original-uri': '/app/page?token=abc' } });
    const line = svc.logs.find((entry) => entry.includes('deny-log-1'));
    assert.ok(line, 'no log line for the denial');
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.code, 'token_expired');
    assert.equal(entry.uri, '/app/page');
    assert.ok(!line.includes(expired));
  });

  test('a deny line cuts every client-sent field to a bound and marks the cut', async () => {
    const long = `/${'p'.repeat(5000)}`;
    await request(`${svc.url}/check`, {
      headers: { 'x-request-id': `cut-${'i'.repeat(1000)}`, 'x-original-uri': `${long}?q=1`, 'x-original-method': 'M'.repeat(1000) },
    });
    const line = svc.logs.find((entry) => entry.includes('"requestId":"cut-'));
    assert.ok(line, 'no log line for the denial');
    const entry = JSON.parse(line) as Record<string, string>;
    assert.equal(entry.uri, `${long.slice(0, 256)}…[+${long.length - 256} chars]`);
    assert.equal(entry.method, `${'M'.repeat(256)}…[+744 chars]`);
    assert.ok(String(entry.requestId).length < 300);
  });
});
