/**
 * Redis, shared by every instance and worker (revocations, refresh tokens, login limits). Unset: each
 * store keeps its state in memory, shared across WORKERS through the cluster primary only.
 *
 * One URL names every deployment ioredis speaks, so REDIS_URL_FILE can hold the credentials of any of them:
 *   redis://[user:password@]host[:port][/db]            one server (rediss:// for TLS)
 *   redis+sentinel://[user:password@]h1[:26379],h2[:26379]/master-name[/db][?sentinelPassword=…]
 *   redis+cluster://[user:password@]h1[:6379],h2[:6379]  Redis Cluster (seed nodes)
 * (`rediss+sentinel://`, `rediss+cluster://`: TLS to the data nodes.) The URL is never logged: `redisTarget`
 * is the description without credentials that logs and /readyz use.
 */
import type { EnvReader } from './env-reader.js';

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

export interface RedisCredentials {
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
}

export type RedisTopology =
  | ({ readonly kind: 'standalone'; readonly node: RedisNode; readonly db: number } & RedisCredentials)
  | ({
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisNode[];
      /** The master group the sentinels are asked for. */
      readonly name: string;
      readonly db: number;
      readonly sentinelPassword: string | undefined;
    } & RedisCredentials)
  | ({ readonly kind: 'cluster'; readonly nodes: readonly RedisNode[] } & RedisCredentials);

export interface RedisConfig {
  /** undefined: no REDIS_URL, every store is in memory. */
  readonly topology: RedisTopology | undefined;
  /** Put in front of every key and channel, so several deployments can share one Redis. */
  readonly keyPrefix: string;
  readonly connectTimeoutMs: number;
  /** How long one command may take before it counts as failed (a write is then reported as not done). */
  readonly commandTimeoutMs: number;
  /** The longest wait between reconnection attempts (they start at 50 ms and double). */
  readonly reconnectMaxDelayMs: number;
}

const DEFAULT_PORT = { standalone: 6379, sentinel: 26379, cluster: 6379 } as const;

/** For logs and /readyz: where Redis is, without credentials. */
export function redisTarget(topology: RedisTopology): string {
  const list = (nodes: readonly RedisNode[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  switch (topology.kind) {
    case 'standalone':
      return `redis ${topology.node.host}:${topology.node.port}/${topology.db}${topology.tls ? ' (tls)' : ''}`;
    case 'sentinel':
      return `sentinel ${topology.name} via ${list(topology.sentinels)}/${topology.db}${topology.tls ? ' (tls)' : ''}`;
    case 'cluster':
      return `cluster via ${list(topology.nodes)}${topology.tls ? ' (tls)' : ''}`;
  }
}

function parseNodes(text: string, defaultPort: number): RedisNode[] | undefined {
  const nodes: RedisNode[] = [];
  for (const part of text.split(',')) {
    // host, host:port, [v6], [v6]:port
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(part);
    if (match === null) return undefined;
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    if (port < 1 || port > 65535) return undefined;
    nodes.push({ host: (match[1] as string).replace(/^\[|\]$/g, ''), port });
  }
  return nodes.length > 0 ? nodes : undefined;
}

function decode(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * The topology a URL names, or a problem that never repeats the URL (it may carry a password).
 * Written by hand because WHATWG URL cannot hold a list of hosts.
 */
export function parseRedisUrl(url: string): RedisTopology | string {
  const match = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/(?:([^@/]*)@)?([^/?#@]+)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(url);
  if (match === null) return 'expected redis://, rediss://, redis+sentinel:// or redis+cluster:// followed by host[:port]';
  const [, scheme, mode, userinfo, hostText = '', pathText = '', query = ''] = match;
  const kind = (mode ?? 'standalone') as RedisTopology['kind'];
  const nodes = parseNodes(hostText, DEFAULT_PORT[kind]);
  if (nodes === undefined) return 'expected host[:port] (comma-separated for sentinel and cluster)';
  const [user, pass] = userinfo === undefined ? [] : [userinfo.split(':')[0], userinfo.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : undefined];
  const credentials: RedisCredentials = { username: decode(user), password: decode(pass), tls: scheme === 'rediss' };
  const params = new URLSearchParams(query);
  const path = pathText.split('/').filter((segment) => segment !== '');
  const parseDb = (text: string | undefined): number | undefined => (text === undefined ? 0 : /^\d{1,2}$/.test(text) ? Number(text) : undefined);
  switch (kind) {
    case 'standalone': {
      if (nodes.length !== 1) return 'one host only (use redis+sentinel:// or redis+cluster:// for several)';
      const db = parseDb(path[0]);
      if (db === undefined || path.length > 1) return 'the path is a database number, such as /0';
      return { kind, node: nodes[0] as RedisNode, db, ...credentials };
    }
    case 'sentinel': {
      const name = decode(path[0]);
      const db = parseDb(path[1]);
      if (name === undefined) return 'redis+sentinel:// needs the master name as its path: redis+sentinel://host:26379/mymaster';
      if (db === undefined || path.length > 2) return 'after the master name, the path is a database number, such as /mymaster/0';
      return { kind, sentinels: nodes, name, db, sentinelPassword: params.get('sentinelPassword') ?? undefined, ...credentials };
    }
    case 'cluster':
      if (path.length > 0) return 'redis+cluster:// takes no database (Redis Cluster has only database 0)';
      return { kind, nodes, ...credentials };
  }
}

export function readRedis(env: EnvReader): RedisConfig {
  const url = env.secret('REDIS_URL');
  let topology: RedisTopology | undefined;
  if (url !== undefined) {
    const parsed = parseRedisUrl(url.trim());
    if (typeof parsed === 'string') env.problem(`REDIS_URL: ${parsed} (the URL itself is not repeated: it may carry a password)`);
    else topology = parsed;
  }
  const keyPrefix = env.string('REDIS_KEY_PREFIX') ?? 'nginx-jwt-auth:';
  if (!/^[\x21-\x7e]{1,64}$/.test(keyPrefix)) env.problem(`REDIS_KEY_PREFIX: expected 1 to 64 visible ASCII characters, got "${keyPrefix}"`);
  return {
    topology,
    keyPrefix,
    connectTimeoutMs: env.durationMs('REDIS_CONNECT_TIMEOUT', '2s', 100),
    commandTimeoutMs: env.durationMs('REDIS_COMMAND_TIMEOUT', '1s', 10),
    reconnectMaxDelayMs: env.durationMs('REDIS_RECONNECT_MAX_DELAY', '2s', 100),
  };
}
