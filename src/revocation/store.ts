/**
 * Where revocations are kept so that every process that answers /check honours them. /check reads
 * the in-memory RevocationList only; `revoke` is the write, and it resolves only once the revocation
 * is where every other process will see it. Three stores, chosen in src/service.ts:
 *
 * - memory: one process, nothing to share;
 * - cluster: WORKERS > 1 without Redis: the cluster primary relays each revocation to every worker
 *   and keeps them all for a worker that starts later (src/revocation/cluster.ts);
 * - redis: every instance (src/revocation/redis.ts): a sorted set for start-up and reconnects, and a
 *   pub/sub channel that carries each new one to the others at once.
 */
import { AppError } from '../errors.js';
import type { RedisStatus } from '../redis/client.js';
import { RevocationList, type Revocation } from './list.js';

export interface RevocationStatus {
  readonly store: 'memory' | 'cluster' | 'redis';
  /** degraded: revocations made elsewhere may not have reached this process yet, and new ones cannot be stored. */
  readonly state: 'ok' | 'degraded';
  readonly entries: { readonly jti: number; readonly sid: number; readonly sub: number };
  /** With Redis: where it is (no credentials), each connection's state, and when this process last loaded the stored revocations. */
  readonly redis?: {
    readonly target: string;
    readonly commands: RedisStatus['state'];
    readonly feed: RedisStatus['state'];
    readonly lastSyncMs: number | undefined;
    readonly lastError: string | undefined;
  };
}

export interface RevocationStore {
  /** What /check consults: memory only. */
  readonly list: RevocationList;
  /**
   * Stores a revocation where every process will honour it, then in this one's memory.
   * @throws AppError revocation_unavailable when it could not be stored: then nothing was revoked.
   */
  revoke(revocation: Revocation): Promise<void>;
  status(): RevocationStatus;
  /** Connects and loads what is stored; resolves after the first load or within `waitMs`, degraded then. Never rejects. */
  start(waitMs: number): Promise<void>;
  close(): Promise<void>;
}

/** How often expired entries are dropped from memory. */
export const SWEEP_INTERVAL_MS = 30_000;

/** Drops expired entries every SWEEP_INTERVAL_MS; the timer never keeps the process alive. */
export function sweepPeriodically(list: RevocationList): () => void {
  const timer = setInterval(() => list.sweep(), SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export function revocationUnavailable(message: string, cause?: unknown): AppError {
  return new AppError('revocation_unavailable', message, { cause });
}

/** One process: a revocation is done once it is in memory. */
export function createMemoryRevocationStore(list = new RevocationList()): RevocationStore {
  const stopSweeping = sweepPeriodically(list);
  return {
    list,
    revoke: async (revocation) => void list.add(revocation),
    status: () => ({ store: 'memory', state: 'ok', entries: list.size }),
    start: async () => undefined,
    close: async () => stopSweeping(),
  };
}
