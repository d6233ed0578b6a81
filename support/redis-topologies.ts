/**
 * Redis the way operators also run it, from Debian's redis-server alone, on loopback ports: one
 * master watched by a Sentinel (`redis-server sentinel.conf --sentinel`), and a three-master Cluster
 * (`--cluster-enabled yes`, slots assigned by `redis-cli --cluster create`). Each is handed out as the
 * REDIS_URL the service takes for it.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { LOOPBACK, freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { findRedisServer, redisClient, startRedisServer, type RedisServer } from './redis.js';
import { pollUntil } from './wait.js';

export interface RedisTopology {
  /** What REDIS_URL says for it. */
  readonly url: string;
  stop(): Promise<void>;
}

const READY_WITHIN_MS = 20_000;

/** Polls `ready` (false when it throws) until it holds. */
async function until(what: string, ready: () => Promise<boolean>): Promise<void> {
  await pollUntil(
    () => ready().catch(() => false),
    (isReady) => isReady,
    what,
    { timeoutMs: READY_WITHIN_MS, intervalMs: 100 },
  );
}

/** A master and one Sentinel monitoring it as `name`; REDIS_URL redis+sentinel://127.0.0.1:<sentinel>/<name>. */
export async function startRedisSentinel(dir: string, name = 'jwt-auth'): Promise<RedisTopology> {
  const bin = findRedisServer();
  if (bin === undefined) throw new Error('no redis-server: apt-get install -y redis-server');
  const master = await startRedisServer({ dir });
  const port = await freePort();
  // Sentinel rewrites its configuration file as it learns: one of its own, in our folder.
  const configFile = join(dir, `sentinel-${port}.conf`);
  writeFileSync(
    configFile,
    [
      `port ${port}`,
      `bind ${LOOPBACK}`,
      'protected-mode no',
      `sentinel monitor ${name} ${LOOPBACK} ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 5000`,
      '',
    ].join('\n'),
  );
  const sentinel: ManagedProcess = startProcess('redis-sentinel', bin, [configFile, '--sentinel'], {
    env: { PATH: process.env.PATH ?? '' },
    logFile: join(dir, `sentinel-${port}.log`),
  });
  try {
    await until('redis sentinel', async () => {
      const client = redisClient(`redis://${LOOPBACK}:${port}`);
      client.on('error', () => undefined);
      try {
        await client.connect();
        const address = (await client.call('SENTINEL', 'get-master-addr-by-name', name)) as string[] | null;
        return address?.[1] === String(master.port);
      } finally {
        client.disconnect();
      }
    });
  } catch (error) {
    await sentinel.stop('SIGKILL');
    await master.stop();
    throw new Error(`${(error as Error).message}\n${sentinel.log()}`, { cause: error });
  }
  return {
    url: `redis+sentinel://${LOOPBACK}:${port}/${name}`,
    async stop() {
      await sentinel.stop('SIGTERM', 5000);
      await master.stop();
    },
  };
}

/** Three masters sharing the 16384 slots; REDIS_URL redis+cluster://127.0.0.1:<a>,127.0.0.1:<b>,127.0.0.1:<c>. */
export async function startRedisCluster(dir: string): Promise<RedisTopology> {
  const nodes: RedisServer[] = [];
  const stopAll = async (): Promise<void> => {
    for (const node of nodes) await node.stop();
  };
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startRedisServer({ dir, extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] }));
    const addresses = nodes.map((node) => `${LOOPBACK}:${node.port}`);
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await until('redis cluster', async () => {
      const client = new Cluster(
        nodes.map((node) => ({ host: LOOPBACK, port: node.port })),
        { lazyConnect: true, clusterRetryStrategy: () => null },
      );
      client.on('error', () => undefined);
      try {
        // A Cluster client's connect() can wait for ever while the slots are still being agreed on.
        await Promise.race([client.connect(), delay(2000).then(() => Promise.reject(new Error('no answer yet')))]);
        const info = (await Promise.all(client.nodes('master').map((node) => node.cluster('INFO')))) as string[];
        return info.length === 3 && info.every((text) => text.includes('cluster_state:ok'));
      } finally {
        client.disconnect();
      }
    });
    return { url: `redis+cluster://${addresses.join(',')}`, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
