/**
 * POST /logout revokes the token it is given, Bearer or cookie, until that token's exp, and clears the
 * cookie; /check then denies the token with token_revoked. A revocation that cannot be stored is never
 * reported as done: 503 revocation_unavailable, and the token still passes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RevocationList } from '../../src/revocation/list.js';
import { revocationUnavailable, type RevocationStore } from '../../src/revocation/store.js';
import { json, request, setCookies } from '../../support/http.js';
import { signJws } from '../../support/jws.js';
import { KeyFiles } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { ALICE, startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';

const files = new KeyFiles();
let stub: StubAuthenticator;
let svc: InProcessService;

before(async () => {
  stub = await startStubAuthenticator();
  svc = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url, TOKEN_COOKIE: 'jwt', LOGIN_SET_COOKIE: 'true' });
});
after(async () => {
  await svc?.close();
  await stub?.close();
  files.remove();
});

const JSON_LOGIN = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ALICE) } as const;

async function login(url = svc.url): Promise<string> {
  const reply = await request(`${url}/login`, JSON_LOGIN);
  assert.equal(reply.status, 200, reply.body);
  return String(json(reply).token);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function checkCode(token: string, url = svc.url, headers: Record<string, string> = bearer(token)): Promise<string | number> {
  const reply = await request(`${url}/check`, { headers });
  return reply.status === 200 ? 200 : String(reply.headers['x-auth-error']);
}

function assertCookieCleared(reply: Awaited<ReturnType<typeof request>>): void {
  const [cookie] = setCookies(reply);
  assert.match(cookie ?? '', /^jwt=;.*Max-Age=0/, `the cookie is cleared: ${cookie}`);
}

describe('POST /logout revokes the token it is given', { timeout: 30_000 }, () => {
  test('with a Bearer token: 204, and /check denies that token with token_revoked while another of the same user passes', async () => {
    const token = await login();
    const other = await login();
    assert.equal(await checkCode(token), 200);
    const reply = await request(`${svc.url}/logout`, { method: 'POST', headers: bearer(token) });
    assert.equal(reply.status, 204);
    assert.equal(await checkCode(token), 'token_revoked');
    assert.equal(await checkCode(other), 200);
  });

  test('with the cookie: 204, the cookie cleared, and the cookie token denied', async () => {
    const token = await login();
    const cookie = { cookie: `jwt=${token}` };
    assert.equal(await checkCode(token, svc.url, cookie), 200);
    const reply = await request(`${svc.url}/logout`, { method: 'POST', headers: { ...cookie, 'sec-fetch-site': 'same-origin' } });
    assert.equal(reply.status, 204);
    assertCookieCleared(reply);
    assert.equal(await checkCode(token, svc.url, cookie), 'token_revoked');
    assert.equal(await checkCode(token), 'token_revoked', 'the same token as a Bearer');
  });

  test('logging out twice is fine', async () => {
    const token = await login();
    assert.equal((await request(`${svc.url}/logout`, { method: 'POST', headers: bearer(token) })).status, 204);
    assert.equal((await request(`${svc.url}/logout`, { method: 'POST', headers: bearer(token) })).status, 204);
  });

  test('without a token, or with one that does not pass /check (forged, expired): 204, nothing stored', async () => {
    const before = (await request(`${svc.url}/readyz`).then(json)).revocations as { entries: { jti: number } };
    const now = Math.floor(Date.now() / 1000);
    const forged = signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', jti: 'forged-1', exp: now + 600 }, 'x'.repeat(32));
    const expired = signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', jti: 'expired-1', exp: now - 3600 }, files.secret('HS256'));
    for (const headers of [{}, bearer(forged), bearer(expired)]) {
      const reply = await request(`${svc.url}/logout`, { method: 'POST', headers });
      assert.equal(reply.status, 204);
    }
    const afterwards = (await request(`${svc.url}/readyz`).then(json)).revocations as { entries: { jti: number } };
    assert.equal(afterwards.entries.jti, before.entries.jti, 'a forged token fills nothing');
  });

  test("a token with a sid but no jti (an identity provider's session) is revoked by its session: every token of that session is denied", async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const [first, second] = ['one', 'two'].map((name) =>
      signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', sid: 'sid-no-jti', name, exp }, files.secret('HS256')),
    );
    assert.equal((await request(`${svc.url}/logout`, { method: 'POST', headers: bearer(first as string) })).status, 204);
    assert.equal(await checkCode(first as string), 'token_revoked');
    assert.equal(await checkCode(second as string), 'token_revoked');
  });

  test('a valid token with neither jti nor sid cannot be revoked by itself: 422 token_not_revocable, the cookie still cleared', async () => {
    const noJti = signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 }, files.secret('HS256'));
    const reply = await request(`${svc.url}/logout`, { method: 'POST', headers: { ...bearer(noJti) } });
    assert.equal(reply.status, 422);
    assert.deepEqual(json(reply), { error: 'token_not_revocable' });
    assertCookieCleared(reply);
    assert.equal(await checkCode(noJti), 200, 'and says the truth: the token still passes');
  });

  test('/metrics counts logouts by outcome and the revocations held', async () => {
    const text = (await request(`${svc.url}/metrics`)).body;
    assert.match(text, /jwt_auth_logout_total\{outcome="revoked"\} [1-9]/);
    assert.match(text, /jwt_auth_logout_total\{outcome="not_revocable"\} 1/);
    assert.match(text, /jwt_auth_revocations\{kind="jti"\} [1-9]/);
    assert.match(text, /jwt_auth_revocations\{kind="sid"\} [1-9]/);
    assert.match(text, /jwt_auth_revocations_degraded 0/);
  });
});

describe('a revocation that cannot be stored is not reported as done', { timeout: 30_000 }, () => {
  let failing: InProcessService;
  before(async () => {
    const list = new RevocationList();
    const store: RevocationStore = {
      list,
      revoke: async () => {
        throw revocationUnavailable('redis is down');
      },
      status: () => ({ store: 'redis', state: 'degraded', entries: list.size }),
      start: async () => undefined,
      close: async () => undefined,
    };
    failing = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url, TOKEN_COOKIE: 'jwt' }, {}, { revocations: store });
  });
  after(() => failing?.close());

  test('503 revocation_unavailable, the cookie cleared, the token still passes, and the failure is logged without the token', async () => {
    const token = await login(failing.url);
    const reply = await request(`${failing.url}/logout`, { method: 'POST', headers: bearer(token) });
    assert.equal(reply.status, 503);
    assert.deepEqual(json(reply), { error: 'revocation_unavailable' });
    assertCookieCleared(reply);
    assert.equal(await checkCode(token, failing.url), 200);
    const line = failing.logs.find((text) => text.includes('"outcome":"revocation_unavailable"'));
    assert.ok(line, failing.logs.join(''));
    assert.ok(!line.includes(token));
    assert.match(line, /"jti":"[^"]+"/);
  });
});
