/**
 * The refresh-token store in Redis: one hash per family, `<prefix>refresh:{<sid>}` (the braces keep
 * it in one Cluster slot), expiring at its session's end. Field `r` is the family's record (JSON),
 * field `t:<hash>` is `<used 0|1>:<expires at, epoch ms>` for each token it issued. Each operation
 * is one Lua script on that one key, so a rotation is atomic on every topology ioredis speaks.
 *
 * The connection has no offline queue and no retries (src/redis/client.ts): with Redis down a
 * command fails at once, and the caller answers 503 without issuing anything it could not record.
 */
import type { RedisClient } from '../redis/client.js';
import type { RefreshRecord, RefreshStore, Rotation } from './store.js';

const START = `
redis.call('HSET', KEYS[1], 'r', ARGV[1], 't:' .. ARGV[2], '0:' .. ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1`;

// ARGV: hash, next hash, next expiry (ms), now (ms).
const ROTATE = `
local state = redis.call('HGET', KEYS[1], 't:' .. ARGV[1])
if not state then return {'invalid'} end
local used, expires = string.match(state, '^(%d):(%d+)$')
if used == '1' then
  redis.call('DEL', KEYS[1])
  return {'reused'}
end
if tonumber(expires) <= tonumber(ARGV[4]) then return {'invalid'} end
redis.call('HSET', KEYS[1], 't:' .. ARGV[1], '1:' .. expires, 't:' .. ARGV[2], '0:' .. ARGV[3])
return {'rotated', redis.call('HGET', KEYS[1], 'r')}`;

interface RefreshCommands {
  refreshStart(key: string, record: string, hash: string, expiresAtMs: number, endsAtMs: number): Promise<number>;
  refreshRotate(key: string, hash: string, nextHash: string, nextExpiresAtMs: number, nowMs: number): Promise<[string, string?]>;
}

export function createRedisRefreshStore(client: RedisClient, keyPrefix: string): RefreshStore {
  client.defineCommand('refreshStart', { numberOfKeys: 1, lua: START });
  client.defineCommand('refreshRotate', { numberOfKeys: 1, lua: ROTATE });
  const commands = client as unknown as RefreshCommands;
  const keyOf = (family: string): string => `${keyPrefix}refresh:{${family}}`;
  return {
    async start(family, hash, expiresAtMs, record) {
      await commands.refreshStart(keyOf(family), JSON.stringify(record), hash, expiresAtMs, record.session.endsAt * 1000);
    },
    async rotate(family, hash, nextHash, nextExpiresAtMs, nowMs): Promise<Rotation> {
      const [kind, record] = await commands.refreshRotate(keyOf(family), hash, nextHash, nextExpiresAtMs, nowMs);
      if (kind === 'rotated' && record !== undefined) return { kind, record: JSON.parse(record) as RefreshRecord };
      return kind === 'reused' ? { kind } : { kind: 'invalid' };
    },
    close: () => undefined,
  };
}
