/**
 * The shared stores on Redis as operators also run it: behind a Sentinel (redis+sentinel://) and as
 * a three-master Cluster (redis+cluster://), real redis-server processes on loopback. For each, two
 * instances share it: a logout on one is honoured by the other (the stored set and the feed), a
 * refresh token issued by one is redeemed by the other, and failed logins add up across both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, request, type Reply } from '../../support/http.js';
import { payloadOf } from '../../support/jws.js';
import { hmacSecret } from '../../support/keys.js';
import { redisPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { redisReady } from '../../support/redis-instances.js';
import { startRedisCluster, startRedisSentinel, type RedisTopology } from '../../support/redis-topologies.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { ALICE, startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait.js';

const skip = requireOrSkip(redisPrerequisite());

const post = (svc: InProcessService, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
  request(`${svc.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const topologies: Array<[name: string, start: (dir: string) => Promise<RedisTopology>]> = [
  ['behind a Sentinel (redis+sentinel://)', startRedisSentinel],
  ['as a Cluster of three masters (redis+cluster://)', startRedisCluster],
];

for (const [name, start] of topologies) {
  describe(`the shared stores with Redis ${name}`, { skip, timeout: 90_000 }, () => {
    let dir = '';
    let redis: RedisTopology | undefined;
    let authenticator: StubAuthenticator | undefined;
    let a: InProcessService | undefined;
    let b: InProcessService | undefined;
    before(async () => {
      dir = makeTempDir('redis-topology');
      redis = await start(dir);
      authenticator = await startStubAuthenticator();
      const env = {
        JWT_SECRET: hmacSecret('HS256'),
        AUTHENTICATOR_URL: authenticator.url,
        REDIS_URL: redis.url,
        REFRESH_TOKEN_TTL: '1h',
        LOGIN_MAX_FAILURES_PER_USER: '2',
        LOGIN_MAX_FAILURES_PER_IP: '0',
      };
      a = await startServiceInProcess(env);
      b = await startServiceInProcess(env);
      await Promise.all([redisReady(a), redisReady(b)]);
      await waitUntil(() => [a, b].every((svc) => svc?.service.deps.revocations.status().state === 'ok'), 'revocations synced on both');
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await authenticator?.close();
      await redis?.stop();
      if (dir) removeTempDir(dir);
    });

    test('a logout on one instance is honoured by the other', async () => {
      assert.ok(a && b);
      const login = await post(a, '/login', ALICE);
      assert.equal(login.status, 200, login.body);
      const token = json(login).token as string;
      const check = (svc: InProcessService) => request(`${svc.url}/check`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await check(b)).status, 200);
      assert.equal((await post(a, '/logout', '', { authorization: `Bearer ${token}` })).status, 204);
      const other = b;
      const { jti } = payloadOf(token);
      await waitUntil(() => other.service.deps.revocations.list.isRevoked({ jti }), 'the revocation reaches the other instance');
      assert.equal((await check(b)).headers['x-auth-error'], 'token_revoked');
    });

    test('a refresh token issued by one instance is redeemed by the other, once', async () => {
      assert.ok(a && b);
      const login = json(await post(a, '/login', ALICE));
      const refreshed = await post(b, '/refresh', { refresh_token: login.refresh_token });
      assert.equal(refreshed.status, 200, refreshed.body);
      assert.equal(json(await post(a, '/refresh', { refresh_token: login.refresh_token })).error, 'refresh_token_reused');
    });

    test('failed logins add up across both instances', async () => {
      assert.ok(a && b && authenticator);
      const wrong = { username: 'carol', password: 'wrong' };
      assert.equal((await post(a, '/login', wrong)).status, 401);
      assert.equal((await post(b, '/login', wrong)).status, 401);
      const refused = await post(a, '/login', wrong);
      assert.equal(refused.status, 429, refused.body);
    });
  });
}
