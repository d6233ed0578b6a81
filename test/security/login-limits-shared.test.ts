/**
 * The login failure limits are one count however the service is spread: two instances sharing a real
 * Redis (REDIS_URL), and WORKERS=2 without Redis (the cluster primary holds the count). With
 * LOGIN_MAX_FAILURES_PER_USER=3, the fourth failure anywhere is refused (429), whichever process
 * counted the first three. And with Redis down, failures are still counted (in each process's
 * memory, the insurance limiter), never waved through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hmacSecret } from '../../support/keys.js';
import { json, request, type Reply } from '../../support/http.js';
import { redisPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { type RedisServer } from '../../support/redis.js';
import { startRedisInstances, type RedisInstances } from '../../support/redis-instances.js';
import { startServiceProcess, type InProcessService, type ServiceProcess } from '../../support/service.js';
import { startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';

const SECRET = hmacSecret('HS256');
const LIMITS = { LOGIN_MAX_FAILURES_PER_USER: '3', LOGIN_MAX_FAILURES_PER_IP: '0', LOGIN_FAILURE_WINDOW: '10m' };

/** A failed login for `username` (a wrong password), on a connection of its own. */
const fail = (url: string, username: string): Promise<Reply> =>
  request(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'wrong' }) });

describe('login limits shared through Redis by two instances', { skip: requireOrSkip(redisPrerequisite()) }, () => {
  let shared: RedisInstances | undefined;
  let redis: RedisServer;
  let authenticator: StubAuthenticator;
  let a: InProcessService;
  let b: InProcessService;
  before(async () => {
    shared = await startRedisInstances('limits-redis', { JWT_SECRET: SECRET, ...LIMITS });
    ({ redis, authenticator, a, b } = shared);
  });
  after(() => shared?.stop());

  test('failures on either instance add up: the fourth is refused on both, without asking the authenticator', async () => {
    for (const svc of [a, b, a]) assert.equal((await fail(svc.url, 'mallory')).status, 401);
    const asked = authenticator.requests.length;
    for (const svc of [b, a]) {
      const reply = await fail(svc.url, 'Mallory ');
      assert.equal(reply.status, 429, reply.body);
      assert.deepEqual(json(reply), { error: 'rate_limited' });
      assert.ok(Number(reply.headers['retry-after']) > 0);
    }
    assert.equal(authenticator.requests.length, asked);
    // Another username has its own count.
    assert.equal((await fail(b.url, 'trudy')).status, 401);
  });

  test('Redis down: failures are still counted, per process (insurance), and logins are not refused for it', async () => {
    await redis.stop();
    try {
      for (let i = 0; i < 3; i++) assert.equal((await fail(a.url, 'eve')).status, 401);
      assert.equal((await fail(a.url, 'eve')).status, 429);
    } finally {
      await redis.start();
    }
  });
});

describe('the per-address limit shared through Redis by two instances', { skip: requireOrSkip(redisPrerequisite()) }, () => {
  let shared: RedisInstances | undefined;
  before(async () => {
    shared = await startRedisInstances('limits-ip-redis', {
      JWT_SECRET: SECRET,
      LOGIN_MAX_FAILURES_PER_USER: '0',
      LOGIN_MAX_FAILURES_PER_IP: '3',
      LOGIN_FAILURE_WINDOW: '10m',
    });
  });
  after(() => shared?.stop());

  test('failures from one address add up across instances, whatever the usernames: the fourth is refused on both', async () => {
    assert.ok(shared);
    const { a, b, authenticator } = shared;
    for (const [svc, username] of [
      [a, 'u1'],
      [b, 'u2'],
      [a, 'u3'],
    ] as const)
      assert.equal((await fail(svc.url, username)).status, 401);
    const asked = authenticator.requests.length;
    for (const svc of [b, a]) {
      const reply = await fail(svc.url, 'u4');
      assert.equal(reply.status, 429, reply.body);
      assert.ok(Number(reply.headers['retry-after']) > 0);
    }
    assert.equal(authenticator.requests.length, asked, 'the authenticator was not asked once the address was over');
  });
});

describe('login limits shared by WORKERS=2 without Redis (the cluster primary counts)', () => {
  let dir: string;
  let authenticator: StubAuthenticator;
  let service: ServiceProcess;
  before(async () => {
    dir = makeTempDir('limits-cluster');
    authenticator = await startStubAuthenticator();
    service = await startServiceProcess({ JWT_SECRET: SECRET, AUTHENTICATOR_URL: authenticator.url, WORKERS: '2', ...LIMITS }, { dir });
  });
  after(async () => {
    await service?.stop();
    await authenticator?.close();
    if (dir) removeTempDir(dir);
  });

  test('failures answered by both workers add up to one count: the fourth is refused', async () => {
    // Each request on a new connection: the primary hands connections to the workers in turn
    // (node's round-robin scheduling, the default on Linux), so with a count per worker all six
    // would be 401 (three failures each); one shared count refuses from the fourth on.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fail(service.url, 'mallory')).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429], service.log(3000));
  });
});
