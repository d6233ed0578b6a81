/**
 * Revocations shared by every instance through Redis.
 *
 * Stored: one sorted set, `<prefix>revocations`, member = the encoded revocation, score = when it may
 * go (epoch ms). One key, so it works alike on one server, Sentinel and Cluster; expired members are
 * trimmed by every write. Change feed: each write publishes `<untilMs> <member>` on the channel of the
 * same name in the same MULTI, so the revocation is stored and announced together or not at all.
 *
 * Every process keeps all revocations in memory (RevocationList) and /check reads only that. Memory is
 * brought in step with Redis whenever both connections are (re)ready: subscribe first, then load the
 * set, so nothing published in between is missed; then write back what this process knows and Redis
 * does not (a Redis restarted without persistence forgot it; any instance still running puts it back)
 * and announce `resync`, so an instance that loaded the set before the write-back loads it again.
 * While Redis is unreachable /check keeps using what it knows, and a revocation fails at once.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../logging.js';
import { createRedisConnection, type RedisClient } from '../redis/client.js';
import { RevocationList, decodeRevocation, encodeRevocation, type Revocation } from './list.js';
import { revocationUnavailable, sweepPeriodically, type RevocationStatus, type RevocationStore } from './store.js';

/** After a failed load, how long until the next try (while both connections stay ready). */
const RESYNC_RETRY_MS = 1000;
/** Published after a write-back, so instances that loaded the set before it load it again. */
const RESYNC_MESSAGE = 'resync';
/** Members per ZADD when writing back. */
const WRITE_BACK_CHUNK = 1000;

export interface RedisRevocationKeys {
  readonly set: string;
  readonly channel: string;
}

export function revocationKeys(config: Config['redis']): RedisRevocationKeys {
  return { set: `${config.keyPrefix}revocations`, channel: `${config.keyPrefix}revocations` };
}

/**
 * Stores one revocation and announces it. Used by the service and by `nginx-jwt-auth revoke`.
 * @throws AppError revocation_unavailable: not stored (Redis unreachable, slow past REDIS_COMMAND_TIMEOUT, or an error reply).
 */
export async function storeRevocation(client: RedisClient, keys: RedisRevocationKeys, revocation: Revocation, now = Date.now()): Promise<void> {
  const member = encodeRevocation(revocation);
  let results: Array<[Error | null, unknown]> | null;
  try {
    results = await client
      .multi()
      .zadd(keys.set, 'GT', revocation.untilMs, member)
      .zremrangebyscore(keys.set, '-inf', now)
      .publish(keys.channel, `${revocation.untilMs} ${member}`)
      .exec();
  } catch (error) {
    throw revocationUnavailable(`redis: ${(error as Error).message}`, error);
  }
  const failed = results === null ? new Error('transaction aborted') : results.find(([error]) => error !== null)?.[0];
  if (failed) throw revocationUnavailable(`redis: ${failed.message}`, failed);
}

export interface RedisRevocationStoreOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly list?: RevocationList;
  /** Called once per revocation learned from the feed or a load (metrics). */
  readonly onLearned?: (source: 'feed' | 'sync', count: number) => void;
}

export function createRedisRevocationStore({ config, logger, list = new RevocationList(), onLearned }: RedisRevocationStoreOptions): RevocationStore {
  const commands = createRedisConnection(config.redis, 'commands', logger);
  const feed = createRedisConnection(config.redis, 'feed', logger);
  if (commands === undefined || feed === undefined) throw new Error('createRedisRevocationStore needs REDIS_URL');
  const keys = revocationKeys(config.redis);
  const log = logger.child({ component: 'revocations', target: commands.target });
  const stopSweeping = sweepPeriodically(list);
  let synced = false;
  let lastSyncMs: number | undefined;
  let lastError: string | undefined;
  let syncing: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const firstSync: { resolve?: () => void } = {};

  feed.client.on('message', (channel: string, message: string) => {
    if (channel !== keys.channel) return;
    if (message === RESYNC_MESSAGE) {
      // Another instance put back what a restarted Redis forgot: load it (this one may have loaded before).
      requestSync();
      return;
    }
    const space = message.indexOf(' ');
    const revocation = space > 0 ? decodeRevocation(message.slice(space + 1), Number(message.slice(0, space))) : undefined;
    if (revocation === undefined) {
      log.warn({ event: 'revocation_feed_garbage', length: message.length }, 'ignored a message on the revocation channel that is not a revocation');
      return;
    }
    if (list.add(revocation)) onLearned?.('feed', 1);
  });

  const bothReady = (): boolean => commands.status().state === 'ready' && feed.status().state === 'ready';

  const sync = async (): Promise<void> => {
    // Subscribed before loading: a revocation published meanwhile arrives on the feed, not in a gap.
    await feed.client.subscribe(keys.channel);
    const now = Date.now();
    const flat = await commands.client.zrangebyscore(keys.set, `(${now}`, '+inf', 'WITHSCORES');
    const stored = new Set<string>();
    let learned = 0;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const member = flat[i] as string;
      stored.add(member);
      const revocation = decodeRevocation(member, Number(flat[i + 1]));
      if (revocation !== undefined && list.add(revocation)) learned++;
    }
    const missing = [...list.entries()].filter((revocation) => !stored.has(encodeRevocation(revocation)));
    for (let i = 0; i < missing.length; i += WRITE_BACK_CHUNK) {
      const chunk = missing.slice(i, i + WRITE_BACK_CHUNK).flatMap((revocation) => [revocation.untilMs, encodeRevocation(revocation)]);
      await commands.client.zadd(keys.set, 'GT', ...chunk);
    }
    if (missing.length > 0) await commands.client.publish(keys.channel, RESYNC_MESSAGE);
    synced = true;
    lastSyncMs = Date.now();
    lastError = undefined;
    if (learned > 0) onLearned?.('sync', learned);
    log.info({ event: 'revocations_synced', stored: stored.size, learned, wroteBack: missing.length }, 'revocations loaded from redis');
    firstSync.resolve?.();
  };

  let syncAgain = false;
  const requestSync = (): void => {
    if (syncing !== undefined) syncAgain = true;
    else trySync();
  };
  const trySync = (): void => {
    if (closed || syncing !== undefined || !bothReady()) return;
    syncing = sync()
      .catch((error: Error) => {
        lastError = error.message;
        log.warn({ event: 'revocations_sync_failed', error: error.message }, 'could not load revocations from redis: retrying');
        if (!closed) retry = setTimeout(trySync, RESYNC_RETRY_MS).unref();
      })
      .finally(() => {
        syncing = undefined;
        if (syncAgain) {
          syncAgain = false;
          trySync();
        }
      });
  };

  for (const connection of [commands, feed]) {
    connection.onStatus((status) => {
      if (status.state === 'ready') trySync();
      // Anything published while a connection was down may be missed: the next ready loads again.
      else synced = false;
    });
  }

  return {
    list,
    async revoke(revocation) {
      if (commands.status().state !== 'ready')
        throw revocationUnavailable(`redis is ${commands.status().state}${commands.status().lastError ? `: ${commands.status().lastError}` : ''}`);
      await storeRevocation(commands.client, keys, revocation);
      list.add(revocation);
    },
    status(): RevocationStatus {
      const degraded = !synced || !bothReady();
      return {
        store: 'redis',
        state: degraded ? 'degraded' : 'ok',
        entries: list.size,
        redis: {
          target: commands.target,
          commands: commands.status().state,
          feed: feed.status().state,
          lastSyncMs,
          lastError: lastError ?? commands.status().lastError ?? feed.status().lastError,
        },
      };
    },
    async start(waitMs) {
      const first = new Promise<void>((resolve) => (firstSync.resolve = resolve));
      commands.connect();
      feed.connect();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
      if (!synced) log.warn({ event: 'revocations_degraded' }, 'starting without the stored revocations: redis is not reachable yet');
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      stopSweeping();
      await Promise.all([commands.close(), feed.close()]);
    },
  };
}
