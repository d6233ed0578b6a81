/**
 * The Redis connection every shared store uses, against a real redis-server: it connects only when
 * asked, fails a command at once while Redis is down (nothing waits in a queue to come true later),
 * reports its status on every change, and reconnects by itself when Redis is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { EnvReader } from '../../src/config/env-reader.js';
import { readRedis, type RedisConfig } from '../../src/config/redis.js';
import { createLogger } from '../../src/logging.js';
import { createRedisConnection, reconnectDelayMs, type RedisConnection, type RedisState } from '../../src/redis/client.js';
import { redisPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startRedisServer, type RedisServer } from '../../support/redis.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';

const skip = requireOrSkip(redisPrerequisite());

function redisConfig(url: string): RedisConfig {
  const env = new EnvReader({ REDIS_URL: url, REDIS_RECONNECT_MAX_DELAY: '200ms' });
  const config = readRedis(env);
  assert.deepEqual(env.problems, []);
  return config;
}

/** Polls until the connection is in `state`; fails with the state it is in after `timeoutMs`. */
async function waitForState(connection: RedisConnection, state: RedisState, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (connection.status().state !== state) {
    if (Date.now() > deadline) assert.fail(`expected ${state}, still ${connection.status().state} (${connection.status().lastError ?? 'no error'})`);
    await delay(20);
  }
}

const lines: string[] = [];
const logger = createLogger('info', { write: (line: string) => void lines.push(line) });

describe('the Redis connection', { skip }, () => {
  let dir: string;
  let redis: RedisServer;
  before(async () => {
    dir = makeTempDir('redis-client');
    redis = await startRedisServer({ dir, password: 'hunter2-redis' });
  });
  after(async () => {
    await redis?.stop();
    removeTempDir(dir);
  });

  test('is undefined without REDIS_URL', () => {
    assert.equal(createRedisConnection(readRedis(new EnvReader({})), 'commands', logger), undefined);
  });

  test('connects only when asked, then answers; the password it used is in no log line', async () => {
    const connection = createRedisConnection(redisConfig(redis.url), 'commands', logger);
    assert.ok(connection);
    try {
      assert.equal(connection.status().state, 'idle');
      await delay(100);
      assert.equal(connection.status().state, 'idle', 'nothing connects before connect()');
      connection.connect();
      await waitForState(connection, 'ready');
      assert.equal(await connection.client.set('k', 'v'), 'OK');
      assert.equal(connection.target, `redis 127.0.0.1:${redis.port}/0`);
    } finally {
      await connection.close();
    }
    assert.equal(connection.status().state, 'closed');
    assert.ok(!lines.join('').includes('hunter2'), 'no log line holds the password');
  });

  test('while Redis is down a command fails at once, and after its restart the connection is ready again by itself', async () => {
    const connection = createRedisConnection(redisConfig(redis.url), 'commands', logger);
    assert.ok(connection);
    const seen: RedisState[] = [];
    connection.onStatus((status) => seen.push(status.state));
    try {
      connection.connect();
      await waitForState(connection, 'ready');
      await redis.stop();
      await waitForState(connection, 'down');
      await assert.rejects(connection.client.set('during-outage', '1'), 'a write while Redis is down is refused, not queued');
      assert.ok(connection.status().lastError !== undefined || seen.includes('down'));
      await redis.start();
      await waitForState(connection, 'ready');
      assert.equal(connection.status().lastError, undefined, 'a ready connection reports no error of before');
      assert.equal(await connection.client.get('during-outage'), null, 'the refused write never came true later');
      assert.deepEqual(seen.slice(0, 3), ['connecting', 'ready', 'down']);
      assert.equal(seen.at(-1), 'ready');
      assert.ok(lines.some((line) => line.includes('"event":"redis_down"')));
    } finally {
      await connection.close();
    }
  });

  test('a subscribed connection does not resubscribe by itself after a reconnection (its owner does, on ready): one lost right then rejects nothing unhandled', async () => {
    // ioredis's own resubscription sends SUBSCRIBE without a catch: a connection lost before the
    // reply would be an unhandled rejection, which ends a Node process.
    const proxy = await startTcpProxy(redis.port);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const connection = createRedisConnection(redisConfig(redis.url.replace(`:${redis.port}`, `:${proxy.port}`)), 'feed', logger);
    assert.ok(connection);
    try {
      connection.connect();
      await waitForState(connection, 'ready');
      await connection.client.subscribe('the-feed');
      proxy.cutWhenClientSends('subscribe');
      await proxy.cut();
      await waitForState(connection, 'down');
      await proxy.restore();
      await waitForState(connection, 'ready');
      await delay(300);
      assert.equal(connection.status().state, 'ready', 'nothing was sent on ready that lost the connection again');
      await assert.rejects(connection.client.subscribe('the-feed'), 'the owner subscribes, and learns it when that fails');
      await waitForState(connection, 'ready');
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await connection.close();
      await proxy.stop();
    }
  });

  test('Redis absent at start: down, retrying, and ready once Redis appears', async () => {
    await redis.stop();
    const connection = createRedisConnection(redisConfig(redis.url), 'commands', logger);
    assert.ok(connection);
    try {
      connection.connect();
      await waitForState(connection, 'down');
      await redis.start();
      await waitForState(connection, 'ready');
    } finally {
      await connection.close();
    }
  });
});

describe('reconnection delays', () => {
  test('double from 50 ms and stop growing at the cap (with up to 25% jitter below)', () => {
    for (const [attempt, max] of [
      [1, 50],
      [2, 100],
      [3, 200],
      [10, 2000],
      [1000, 2000],
    ] as const) {
      const delayMs = reconnectDelayMs(attempt, 2000);
      assert.ok(delayMs <= max && delayMs >= max * 0.75, `attempt ${attempt}: ${delayMs} ms`);
    }
  });
});
