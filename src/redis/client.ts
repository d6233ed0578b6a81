/**
 * The one way the service opens a Redis connection (ioredis: one server, Sentinel or Cluster, from
 * RedisConfig). Every store that shares state through Redis takes its connections from here, so they
 * all fail the same way:
 * - nothing connects until `connect()` (the service starts whether or not Redis is up);
 * - reconnection never stops, with a delay doubling from 50 ms up to REDIS_RECONNECT_MAX_DELAY;
 * - no offline queue and no retried commands: while Redis is unreachable a command fails at once,
 *   and one sent just before a disconnect fails rather than being replayed later. A caller that
 *   writes (a revocation, a refresh token) reports the write as failed, never as done; a write that
 *   waited in a queue for minutes would come true long after its caller gave up;
 * - no automatic resubscription: a subscriber subscribes again on each `ready` itself;
 * - REDIS_COMMAND_TIMEOUT bounds a command on a Redis that accepts connections but does not answer.
 * The connection's status (`status()`, `onStatus`) is what logs, metrics and /readyz report.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisTarget, type RedisConfig, type RedisTopology } from '../config/redis.js';
import type { Logger } from '../logging.js';

/** A connection to any topology: the commands all of them share. */
export type RedisClient = Redis | Cluster;

/**
 * idle: not asked to connect yet; connecting: the first attempt; ready: commands are answered;
 * down: the connection was lost or never made, and reconnection is under way; closed: `close()` was called.
 */
export type RedisState = 'idle' | 'connecting' | 'ready' | 'down' | 'closed';

export interface RedisStatus {
  readonly state: RedisState;
  /** When the state was entered (epoch ms). */
  readonly sinceMs: number;
  /** The last connection error's message (ioredis's, such as "connect ECONNREFUSED 127.0.0.1:6379": no credentials). */
  readonly lastError: string | undefined;
}

export interface RedisConnection {
  /** For logs and /readyz: where Redis is, without credentials. */
  readonly target: string;
  /** What this connection is for (`commands`, `feed`), in its log lines and metrics. */
  readonly role: string;
  readonly client: RedisClient;
  status(): RedisStatus;
  /** Called on every state change, `ready` included after each reconnection (a store resyncs then). */
  onStatus(listener: (status: RedisStatus) => void): void;
  /** Starts connecting; never throws and never rejects: a failure is a `down` status and a retry. */
  connect(): void;
  /** Closes the connection and stops reconnecting. */
  close(): Promise<void>;
}

const FIRST_RETRY_DELAY_MS = 50;

/** The retry delay after `attempt` failures: doubling, capped, with jitter so instances do not reconnect in step. */
export function reconnectDelayMs(attempt: number, maxDelayMs: number): number {
  const base = Math.min(maxDelayMs, FIRST_RETRY_DELAY_MS * 2 ** Math.min(attempt - 1, 20));
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

function clientOptions(config: RedisConfig): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    retryStrategy: (attempt) => reconnectDelayMs(attempt, config.reconnectMaxDelayMs),
    // ioredis resubscribes on reconnection without catching the reply: a connection lost again right
    // then is an unhandled rejection, which ends the process. A subscriber subscribes on every
    // `ready` itself (the revocation feed does, before it reloads), and handles the failure.
    autoResubscribe: false,
    // The service's own log says what happened; ioredis would print "Unhandled error event" to stderr.
    showFriendlyErrorStack: false,
  };
}

function createClient(topology: RedisTopology, config: RedisConfig): RedisClient {
  const options = clientOptions(config);
  const auth = { username: topology.username, password: topology.password, ...(topology.tls ? { tls: {} } : {}) };
  switch (topology.kind) {
    case 'standalone':
      return new Redis({ ...options, ...auth, host: topology.node.host, port: topology.node.port, db: topology.db });
    case 'sentinel':
      return new Redis({
        ...options,
        ...auth,
        sentinels: topology.sentinels.map((node) => ({ ...node })),
        name: topology.name,
        db: topology.db,
        sentinelPassword: topology.sentinelPassword,
        sentinelRetryStrategy: (attempt) => reconnectDelayMs(attempt, config.reconnectMaxDelayMs),
      });
    case 'cluster': {
      const { retryStrategy: _unused, enableOfflineQueue: _alsoUnused, ...redisOptions } = options;
      const clusterOptions: ClusterOptions = {
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: (attempt) => reconnectDelayMs(attempt, config.reconnectMaxDelayMs),
        redisOptions: { ...redisOptions, ...auth },
      };
      return new Cluster(
        topology.nodes.map((node) => ({ ...node })),
        clusterOptions,
      );
    }
  }
}

/**
 * A connection for `role`; undefined when REDIS_URL is unset. Each call opens its own connection: a
 * subscriber needs one of its own, since a subscribed connection runs no other command.
 */
export function createRedisConnection(config: RedisConfig, role: string, logger: Logger): RedisConnection | undefined {
  const topology = config.topology;
  if (topology === undefined) return undefined;
  const target = redisTarget(topology);
  const client = createClient(topology, config);
  const log = logger.child({ redis: role, target });
  const listeners: Array<(status: RedisStatus) => void> = [];
  let status: RedisStatus = { state: 'idle', sinceMs: Date.now(), lastError: undefined };

  /** `lastError` undefined clears it (a ready connection has none); pass `status.lastError` to keep it. */
  const enter = (state: RedisState, lastError: string | undefined): void => {
    if (state === status.state && lastError === status.lastError) return;
    const previous = status.state;
    status = { state, sinceMs: state === previous ? status.sinceMs : Date.now(), lastError };
    if (state !== previous) {
      if (state === 'ready') log.info({ event: 'redis_ready' }, `redis ${role} connection ready`);
      else if (state === 'down') log.warn({ event: 'redis_down', error: lastError }, `redis ${role} connection down, reconnecting`);
      for (const listener of listeners) listener(status);
    }
  };

  client.on('ready', () => enter('ready', undefined));
  // Without an 'error' listener ioredis reports every failed attempt on stderr; the 'down' line says it once.
  client.on('error', (error: Error) => {
    if (status.state === 'closed') return;
    enter(status.state === 'ready' || status.state === 'connecting' ? 'down' : status.state, error.message);
  });
  client.on('close', () => {
    if (status.state !== 'closed' && status.state !== 'idle') enter('down', status.lastError);
  });
  client.on('end', () => {
    if (status.state !== 'closed') enter('down', status.lastError);
  });

  return {
    target,
    role,
    client,
    status: () => status,
    onStatus: (listener) => void listeners.push(listener),
    connect() {
      if (status.state !== 'idle') return;
      enter('connecting', undefined);
      // The promise rejects when the first attempt fails; the retry strategy keeps trying and 'ready' follows.
      client.connect().catch((error: Error) => enter('down', error.message));
    },
    async close() {
      if (status.state === 'closed') return;
      enter('closed', status.lastError);
      try {
        await client.quit();
      } catch {
        // Not connected: quit has nothing to say goodbye to.
        client.disconnect();
      }
    },
  };
}
