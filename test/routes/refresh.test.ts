/**
 * Refresh tokens (REFRESH_TOKEN_TTL) at /login and POST /refresh, on the in-process service: in
 * memory, and in a real Redis shared by two instances. What must hold: a refresh token is opaque
 * (256 random bits after the session id) and stored only hashed; every use rotates it; a rotated one
 * presented again revokes its whole family; of two concurrent redemptions of one token exactly one
 * succeeds and the other is reuse; a revoked session (a logout, a subject revocation after the login)
 * refreshes no more; with Redis down nothing is issued (503).
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { json, request, type Reply } from '../../support/http.js';
import { payloadOf } from '../../support/jws.js';
import { hmacSecret } from '../../support/keys.js';
import { redisPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { redisClient, type RedisServer } from '../../support/redis.js';
import { redisReady, startRedisInstances, type RedisInstances } from '../../support/redis-instances.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { ALICE, startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';
import { waitUntil } from '../../support/wait.js';
import { revocationLifetimes, revocationOfSubject } from '../../src/revocation/list.js';

const SECRET = hmacSecret('HS256');
const FORMAT = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

interface Tokens {
  token: string;
  refresh_token: string;
  refresh_expires_in: number;
  expires_in: number;
}

const post = (svc: InProcessService, path: string, body: unknown, type = 'application/json'): Promise<Reply> =>
  request(`${svc.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });

async function logIn(svc: InProcessService): Promise<Tokens> {
  const reply = await post(svc, '/login', ALICE);
  assert.equal(reply.status, 200, reply.body);
  return json(reply) as unknown as Tokens;
}

const refresh = (svc: InProcessService, token: string): Promise<Reply> => post(svc, '/refresh', { refresh_token: token });

function errorOf(reply: Reply): unknown {
  return json(reply).error;
}

/**
 * The same specification for each store. `instances()` gives the service that logs in and the one
 * that redeems (the same one in memory, two sharing Redis).
 */
function rotationSpec(instances: () => [InProcessService, InProcessService]): void {
  test('/login returns a refresh token: opaque, 256 random bits after the session id, living REFRESH_TOKEN_TTL', async () => {
    const [a] = instances();
    const tokens = await logIn(a);
    assert.match(tokens.refresh_token, FORMAT);
    assert.equal(tokens.refresh_token.split('.')[0], payloadOf(tokens.token).sid);
    assert.ok(tokens.refresh_expires_in > 3500 && tokens.refresh_expires_in <= 3600, String(tokens.refresh_expires_in));
  });

  test('/refresh rotates: a new access token of the same session and a new refresh token; the old one is spent', async () => {
    const [a, b] = instances();
    const login = await logIn(a);
    const reply = await refresh(b, login.refresh_token);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.headers['cache-control'], 'no-store');
    const next = json(reply) as unknown as Tokens;
    assert.match(next.refresh_token, FORMAT);
    assert.notEqual(next.refresh_token, login.refresh_token);
    const [before, after] = [payloadOf(login.token), payloadOf(next.token)];
    assert.deepEqual([after.sub, after.name, after.sid, after.auth_time], [before.sub, before.name, before.sid, before.auth_time]);
    assert.notEqual(after.jti, before.jti);
    // The next token rotates again, on either instance.
    const third = await refresh(a, next.refresh_token);
    assert.equal(third.status, 200, third.body);
  });

  test('a logout ends the session: its refresh token is refused (refresh_token_revoked), and so is every access token the session was refreshed to', async () => {
    const [a, b] = instances();
    const login = await logIn(a);
    const refreshed = json(await refresh(a, login.refresh_token)) as unknown as Tokens;
    const loggedOut = await request(`${a.url}/logout`, { method: 'POST', headers: { authorization: `Bearer ${login.token}` } });
    assert.equal(loggedOut.status, 204, loggedOut.body);
    const { sid } = payloadOf(login.token);
    await waitUntil(() => b.service.deps.revocations.list.isRevoked({ sid }), 'the session revocation reaches the other instance');
    const reply = await refresh(b, refreshed.refresh_token);
    assert.equal(reply.status, 401, reply.body);
    assert.equal(errorOf(reply), 'refresh_token_revoked');
    for (const svc of [a, b]) {
      const check = await request(`${svc.url}/check`, { headers: { authorization: `Bearer ${refreshed.token}` } });
      assert.equal(check.headers['x-auth-error'], 'token_revoked', 'the refreshed access token was not the one logged out, but is of its session');
    }
    assert.equal((await refresh(b, login.refresh_token)).status, 401, 'nor does the spent one come back');
  });

  test('a subject revocation (revoke --sub) ends the sessions begun before it: their refresh tokens are refused, a later login refreshes', async () => {
    const [a, b] = instances();
    const before = await logIn(a);
    const config = a.config;
    await a.service.deps.revocations.revoke(revocationOfSubject('alice', revocationLifetimes(config)));
    await waitUntil(() => b.service.deps.revocations.list.isRevoked({ sub: 'alice', iat: 0 }), 'the subject revocation reaches the other instance');
    const refused = await refresh(b, before.refresh_token);
    assert.equal(refused.status, 401, refused.body);
    assert.equal(errorOf(refused), 'refresh_token_revoked');
    // A login in a later second is a new session, after the cut-off.
    await delay(1100);
    const after = await logIn(b);
    assert.equal((await refresh(a, after.refresh_token)).status, 200);
  });

  test('reuse of a rotated token revokes the whole family: the reused one and every token after it are refused', async () => {
    const [a, b] = instances();
    const login = await logIn(a);
    const next = json(await refresh(a, login.refresh_token)) as unknown as Tokens;
    const reused = await refresh(b, login.refresh_token);
    assert.equal(reused.status, 401);
    assert.equal(errorOf(reused), 'refresh_token_reused');
    // The thief's copy is dead, and so is the legitimate client's newer token: both must log in again.
    const after = await refresh(a, next.refresh_token);
    assert.equal(after.status, 401);
    assert.equal(errorOf(after), 'refresh_token_invalid');
    // Another login's family is untouched.
    const other = await logIn(a);
    assert.equal((await refresh(b, other.refresh_token)).status, 200);
  });

  test('two concurrent redemptions of one token: exactly one succeeds, the other is reuse', async () => {
    const [a, b] = instances();
    for (let round = 0; round < 5; round++) {
      const login = await logIn(a);
      const replies = await Promise.all([refresh(a, login.refresh_token), refresh(b, login.refresh_token)]);
      const statuses = replies.map((reply) => reply.status).sort();
      assert.deepEqual(statuses, [200, 401], replies.map((reply) => reply.body).join(' | '));
      const loser = replies.find((reply) => reply.status === 401) as Reply;
      assert.equal(errorOf(loser), 'refresh_token_reused');
      // The family is revoked: the winner's new token is refused too.
      const winner = json(replies.find((reply) => reply.status === 200) as Reply) as unknown as Tokens;
      assert.equal(errorOf(await refresh(a, winner.refresh_token)), 'refresh_token_invalid');
    }
  });

  test('tokens that are not ours are refused: unknown, malformed, an access token, missing', async () => {
    const [a] = instances();
    const login = await logIn(a);
    const [sid] = login.refresh_token.split('.');
    for (const token of [`${sid}.${'A'.repeat(43)}`, 'x', login.token, `${login.refresh_token}x`, ` ${login.refresh_token}`]) {
      const reply = await refresh(a, token);
      assert.equal(reply.status, 401, token);
      assert.equal(errorOf(reply), 'refresh_token_invalid');
    }
    assert.equal(errorOf(await post(a, '/refresh', {})), 'refresh_token_missing');
    assert.equal(errorOf(await post(a, '/refresh', '{"refresh_token":"a","refresh_token":"b"}')), 'body_malformed');
    assert.equal((await post(a, '/refresh', `refresh_token=x`, 'text/plain')).status, 415);
    assert.equal((await request(`${a.url}/refresh`)).status, 405);
    // RFC 6749 §6's form works too; the failed attempts above did not touch the family.
    const form = await post(a, '/refresh', `grant_type=refresh_token&refresh_token=${login.refresh_token}`, 'application/x-www-form-urlencoded');
    assert.equal(form.status, 200, form.body);
  });
}

describe('refresh tokens in memory', () => {
  let authenticator: StubAuthenticator;
  let svc: InProcessService;
  before(async () => {
    authenticator = await startStubAuthenticator();
    svc = await startServiceInProcess({ JWT_SECRET: SECRET, AUTHENTICATOR_URL: authenticator.url, REFRESH_TOKEN_TTL: '1h', LOGIN_MAX_FAILURES_PER_IP: '0' });
  });
  after(async () => {
    await svc.close();
    await authenticator.close();
  });
  rotationSpec(() => [svc, svc]);

  test('off by default: /login returns no refresh token and /refresh is 404', async () => {
    const plain = await startServiceInProcess({ JWT_SECRET: SECRET, AUTHENTICATOR_URL: authenticator.url });
    try {
      const body = json(await post(plain, '/login', ALICE));
      assert.equal(Object.hasOwn(body, 'refresh_token'), false);
      assert.equal((await refresh(plain, 'x')).status, 404);
    } finally {
      await plain.close();
    }
  });

  test('the refresh token never reaches a log', async () => {
    const login = await logIn(svc);
    await refresh(svc, login.refresh_token);
    await refresh(svc, login.refresh_token);
    const secretPart = login.refresh_token.split('.')[1] as string;
    assert.doesNotMatch(svc.logs.join('\n'), new RegExp(secretPart));
    assert.match(svc.logs.join('\n'), /"msg":"token refreshed"/);
    assert.match(svc.logs.join('\n'), /"outcome":"refresh_token_reused"/);
  });
});

describe('refresh tokens in Redis, shared by two instances', { skip: requireOrSkip(redisPrerequisite()) }, () => {
  let shared: RedisInstances | undefined;
  let redis: RedisServer;
  let a: InProcessService;
  let b: InProcessService;
  before(async () => {
    shared = await startRedisInstances('refresh-redis', { JWT_SECRET: SECRET, REFRESH_TOKEN_TTL: '1h', LOGIN_MAX_FAILURES_PER_IP: '0' });
    ({ redis, a, b } = shared);
  });
  after(() => shared?.stop());
  rotationSpec(() => [a, b]);

  test('Redis holds only the hash: no refresh token, nor its secret part, is stored', async () => {
    const login = await logIn(a);
    const [sid, secretPart] = login.refresh_token.split('.') as [string, string];
    const client = redisClient(redis.url);
    await client.connect();
    try {
      const keys = await client.keys('*');
      const key = keys.find((name) => name.includes(sid));
      assert.ok(key !== undefined, keys.join(', '));
      const stored = JSON.stringify(await client.hgetall(key));
      assert.doesNotMatch(stored, new RegExp(secretPart));
      assert.ok((await client.pttl(key)) > 0, 'the family expires with its session');
    } finally {
      client.disconnect();
    }
  });

  test('Redis down: /refresh and /login answer 503 refresh_store_unavailable and issue nothing; back up, refresh works again', async () => {
    const login = await logIn(a);
    await redis.stop();
    try {
      const refused = await refresh(a, login.refresh_token);
      assert.equal(refused.status, 503, refused.body);
      assert.equal(errorOf(refused), 'refresh_store_unavailable');
      const noLogin = await post(a, '/login', ALICE);
      assert.equal(noLogin.status, 503);
      assert.deepEqual(json(noLogin), { error: 'refresh_store_unavailable' });
    } finally {
      await redis.start();
    }
    await redisReady(a);
    // The server came back empty (no persistence): the family is gone, and the token is refused, never honoured blindly.
    assert.equal(errorOf(await refresh(a, login.refresh_token)), 'refresh_token_invalid');
    assert.equal((await refresh(a, (await logIn(a)).refresh_token)).status, 200);
  });
});
