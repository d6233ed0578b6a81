/**
 * Revocation across instances, as an operator runs them: a real redis-server, two service processes
 * in one nginx upstream, the Node demo authenticator. A logout through nginx reaches one instance;
 * the other must deny the token within 1 s (the bound: polled for, then asserted). Redis
 * stopped and started mid-run loses nothing and guesses nothing; an instance started while Redis is
 * absent starts, degraded, and catches up once Redis is back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startNodeAuthenticator, type AuthenticatorInstance } from '../../support/authenticator.js';
import { request as httpRequest } from '../../support/http.js';
import { payloadOf } from '../../support/jws.js';
import { startNginx, type NginxInstance } from '../../support/nginx.js';
import { SERVICE_CLI } from '../../support/paths.js';
import { pollUntil } from '../../support/poll.js';
import { nginxPrerequisite, redisPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { redisClient, startRedisServer, type RedisServer } from '../../support/redis.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { makeSecret } from '../../support/tokens.js';

const skip = requireOrSkip(nginxPrerequisite(), redisPrerequisite());

/** The requirement: a revocation on one instance is honoured on every other within this. */
const PROPAGATION_BOUND_MS = 1000;
const KEY_PREFIX = 'nginx-jwt-auth:';

interface ReadyBody {
  status: string;
  revocations: { store: string; state: string; redis: { commands: string } };
}

describe('revocation across two instances behind one nginx upstream, shared through Redis', { skip, timeout: 120_000 }, () => {
  let dir = '';
  let redis: RedisServer;
  let authenticator: AuthenticatorInstance;
  let app: http.Server;
  const instances: ServiceProcess[] = [];
  let nginx: NginxInstance;
  const env: Record<string, string> = {};

  const startInstance = async (): Promise<ServiceProcess> => {
    const instance = await startServiceProcess(env, { dir });
    instances.push(instance);
    return instance;
  };

  before(async () => {
    dir = makeTempDir('revocation-instances');
    redis = await startRedisServer({ dir });
    authenticator = await startNodeAuthenticator({ dir });
    app = http.createServer((req, res) => res.end(String(req.headers['x-auth-user'] ?? '')));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    Object.assign(env, {
      JWT_SECRET: makeSecret(),
      AUTHENTICATOR_URL: authenticator.loginUrl,
      REDIS_URL: redis.url,
      REDIS_RECONNECT_MAX_DELAY: '200ms',
      LOG_LEVEL: 'debug',
    });
    const [one, two] = [await startInstance(), await startInstance()];
    nginx = await startNginx({
      dir,
      jwtAuthAddr: (one as ServiceProcess).addr,
      moreJwtAuthAddrs: [(two as ServiceProcess).addr],
      appAddr: `127.0.0.1:${(app.address() as AddressInfo).port}`,
    });
  });
  after(async () => {
    await nginx?.stop();
    for (const instance of instances) await instance.stop();
    app?.close();
    await authenticator?.stop();
    await redis?.stop();
    removeTempDir(dir);
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  /** Through nginx for the first test; straight to the first instance after (nginx's login zone allows 2 a second, bursts of 60). */
  const login = async (via = (instances[0] as ServiceProcess).url): Promise<string> => {
    const reply = await httpRequest(`${via}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    });
    assert.equal(reply.status, 200, reply.body);
    return String((JSON.parse(reply.body) as { token: string }).token);
  };
  const logout = (token: string) => httpRequest(`${nginx.url}/logout`, { method: 'POST', headers: bearer(token) });
  /** What one instance says of a token at /check: 200 or its deny code. */
  const checkAt = async (instance: ServiceProcess, token: string): Promise<number | string> => {
    const reply = await httpRequest(`${instance.url}/check`, { headers: bearer(token) });
    return reply.status === 200 ? 200 : String(reply.headers['x-auth-error']);
  };
  const everyInstance = async (token: string): Promise<Array<number | string>> => Promise.all(instances.map((instance) => checkAt(instance, token)));
  /** How long until every instance denies `token` as revoked; fails past the bound's tenfold. */
  const deniedEverywhereWithin = (token: string): Promise<number> =>
    pollUntil(async () => (await everyInstance(token)).every((code) => code === 'token_revoked'), {
      timeoutMs: 10 * PROPAGATION_BOUND_MS,
      what: 'every instance denies the revoked token',
    });
  const readyz = async (instance: ServiceProcess) => JSON.parse((await httpRequest(`${instance.url}/readyz`)).body) as ReadyBody;
  const revokeCli = (...args: string[]) =>
    spawnSync(process.execPath, [SERVICE_CLI, 'revoke', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15_000 });
  const allowLines = (instance: ServiceProcess) =>
    instance
      .log(1_000_000)
      .split('\n')
      .filter((line) => line.includes('"result":"allow"')).length;

  test('a token issued through nginx and used through nginx is answered by both instances', async () => {
    const token = await login(nginx.url);
    const before = instances.map(allowLines);
    for (let i = 0; i < 10; i++) {
      const reply = await httpRequest(`${nginx.url}/`, { headers: bearer(token) });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'alice');
    }
    const answered = instances.map((instance, i) => allowLines(instance) - (before[i] as number));
    assert.ok(
      answered.every((count) => count > 0),
      `allows per instance: ${answered.join(', ')}`,
    );
  });

  test('a logout through nginx reaches one instance; within 1 s both deny the token (token_revoked), through nginx too', async () => {
    const token = await login();
    const other = await login();
    assert.deepEqual(await everyInstance(token), [200, 200]);
    const reply = await logout(token);
    assert.equal(reply.status, 204, reply.body);
    const elapsed = await deniedEverywhereWithin(token);
    assert.ok(elapsed < PROPAGATION_BOUND_MS, `denied by every instance after ${Math.round(elapsed)} ms`);
    for (let i = 0; i < 6; i++) {
      const through = await httpRequest(`${nginx.url}/`, { headers: bearer(token) });
      assert.equal(through.status, 403);
      assert.equal(through.headers['x-auth-error'], 'token_revoked');
    }
    assert.deepEqual(await everyInstance(other), [200, 200], 'another token of the same user still passes');
    // One instance stored it; the other, which never saw the logout, learned it from the change feed.
    const jti = String(payloadOf(token).jti);
    const handled = instances.map((instance) => instance.log(1_000_000).includes(`"outcome":"revoked","sub":"alice","jti":"${jti}"`));
    assert.equal(handled.filter(Boolean).length, 1, 'exactly one instance handled the logout');
    const bystander = instances[handled.indexOf(false)] as ServiceProcess;
    assert.match((await httpRequest(`${bystander.url}/metrics`)).body, /jwt_auth_revocations_learned_total\{source="feed"\} [1-9]/);
  });

  test('revoke --sub on the command line: every token of the subject issued up to now is denied by both within 1 s, a later login passes', async () => {
    const token = await login();
    const result = revokeCli('--sub', 'alice');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /revoked every token and session of alice/);
    const elapsed = await deniedEverywhereWithin(token);
    assert.ok(elapsed < PROPAGATION_BOUND_MS, `denied by every instance after ${Math.round(elapsed)} ms`);
    // Tokens issued in the second of the revocation count as before it: log in from the next second on.
    const revokedAt = Math.floor(Date.now() / 1000);
    await pollUntil(() => Math.floor(Date.now() / 1000) > revokedAt, { timeoutMs: 2000, what: 'the next second' });
    const fresh = await login();
    assert.deepEqual(await everyInstance(fresh), [200, 200]);
    const byJti = revokeCli('--jti', String(payloadOf(fresh).jti), '--exp', String(payloadOf(fresh).exp));
    assert.equal(byJti.status, 0, byJti.stderr);
    assert.ok((await deniedEverywhereWithin(fresh)) < PROPAGATION_BOUND_MS);
  });

  test('Redis stopped mid-run: /check goes on from memory, a logout fails loudly (503) and the token still passes; restarted empty, nothing is lost', async () => {
    const revokedBefore = await login();
    assert.equal((await logout(revokedBefore)).status, 204);
    await deniedEverywhereWithin(revokedBefore);
    const live = await login();

    await redis.stop();
    await pollUntil(async () => (await Promise.all(instances.map(readyz))).every((body) => body.revocations.state === 'degraded'), {
      timeoutMs: 10_000,
      what: 'every instance reports degraded revocations',
    });
    const degraded = await readyz(instances[0] as ServiceProcess);
    assert.equal(degraded.status, 'ready', 'still ready: /check answers from memory');
    assert.equal(degraded.revocations.store, 'redis');
    assert.notEqual(degraded.revocations.redis.commands, 'ready');
    assert.match((await httpRequest(`${(instances[0] as ServiceProcess).url}/metrics`)).body, /jwt_auth_redis_up\{connection="commands"\} 0/);
    assert.deepEqual(await everyInstance(revokedBefore), ['token_revoked', 'token_revoked'], 'what is known is still honoured');

    const refused = await logout(live);
    assert.equal(refused.status, 503);
    assert.deepEqual(JSON.parse(refused.body), { error: 'revocation_unavailable' });
    assert.deepEqual(await everyInstance(live), [200, 200], 'nothing guessed: the logout was not done, and says so');
    const cli = revokeCli('--jti', 'some-token-id');
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /revocation_unavailable: .*nothing was revoked/);

    // Restarted without its data (no persistence): the instances put back what they know.
    await redis.start();
    await pollUntil(async () => (await Promise.all(instances.map(readyz))).every((body) => body.revocations.state === 'ok'), {
      timeoutMs: 15_000,
      what: 'every instance resynced with the restarted Redis',
    });
    const stored = redisClient(redis.url);
    try {
      await stored.connect();
      const members = await stored.zrange(`${KEY_PREFIX}revocations`, 0, -1);
      assert.ok(members.includes(`j:${String(payloadOf(revokedBefore).jti)}`), 'the revocation is back in Redis');
      assert.ok(
        members.some((member) => /^s:\d+:alice$/.test(member)),
        'so is the subject revocation',
      );
    } finally {
      stored.disconnect();
    }
    assert.deepEqual(await everyInstance(revokedBefore), ['token_revoked', 'token_revoked']);

    // After the restart: the logout that failed, done again, works and reaches both.
    assert.equal((await logout(live)).status, 204);
    assert.ok((await deniedEverywhereWithin(live)) < PROPAGATION_BOUND_MS);
  });

  test('an instance started while Redis is absent starts degraded, and once Redis is back it honours what the others revoked', async () => {
    const revoked = await login();
    assert.equal((await logout(revoked)).status, 204);
    await deniedEverywhereWithin(revoked);

    await redis.stop();
    const late = await startServiceProcess(env, { dir });
    try {
      const body = await readyz(late);
      assert.equal(body.status, 'ready');
      assert.equal(body.revocations.state, 'degraded');
      assert.equal(await checkAt(late, revoked), 200, 'it could not know yet (and says degraded)');
      await redis.start();
      await pollUntil(async () => (await checkAt(late, revoked)) === 'token_revoked', {
        timeoutMs: 15_000,
        what: 'the late instance loads the revocations once Redis is back',
      });
      assert.equal((await readyz(late)).revocations.state, 'ok');
    } finally {
      await late.stop();
    }
  });

  test('an instance cut off from Redis misses the feed; reconnected, it loads what the others revoked meanwhile', async () => {
    const proxy = await startTcpProxy(redis.port);
    const isolated = await startServiceProcess({ ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}/0` }, { dir });
    try {
      assert.equal((await readyz(isolated)).revocations.state, 'ok');
      await proxy.cut();
      await pollUntil(async () => (await readyz(isolated)).revocations.state === 'degraded', { timeoutMs: 10_000, what: 'the cut-off instance is degraded' });
      const token = await login();
      assert.equal((await logout(token)).status, 204, 'the others still store revocations');
      await deniedEverywhereWithin(token);
      assert.equal(await checkAt(isolated, token), 200, 'the cut-off instance could not hear of it (and says degraded)');
      await proxy.restore();
      await pollUntil(async () => (await checkAt(isolated, token)) === 'token_revoked', {
        timeoutMs: 15_000,
        what: 'the reconnected instance loads the revocation made while it was cut off',
      });
      assert.equal((await readyz(isolated)).revocations.state, 'ok');
    } finally {
      await isolated.stop();
      await proxy.stop();
    }
  });

  test('garbage on the revocation channel or in the set revokes nothing and is logged; the instances keep answering', async () => {
    const token = await login();
    const client = redisClient(redis.url);
    try {
      await client.connect();
      for (const message of ['nonsense', `notanumber j:${String(payloadOf(token).jti)}`, '123', `${Date.now() + 60_000} x:${String(payloadOf(token).jti)}`])
        await client.publish(`${KEY_PREFIX}revocations`, message);
      await client.zadd(`${KEY_PREFIX}revocations`, Date.now() + 60_000, `q:${String(payloadOf(token).jti)}`);
    } finally {
      client.disconnect();
    }
    await pollUntil(() => instances.every((instance) => instance.log(1_000_000).includes('"event":"revocation_feed_garbage"')), {
      timeoutMs: 5000,
      what: 'every instance logs the garbage it ignored',
    });
    assert.deepEqual(await everyInstance(token), [200, 200]);
  });

  test('a new instance started while Redis is up loads every revocation before it listens', async () => {
    const revoked = await login();
    assert.equal((await logout(revoked)).status, 204);
    const fresh = await startServiceProcess(env, { dir });
    try {
      assert.equal(await checkAt(fresh, revoked), 'token_revoked', 'denied from its first answer');
    } finally {
      await fresh.stop();
    }
  });
});
