/**
 * WORKERS > 1 without Redis: revocations travel through the cluster primary (node's IPC), so a logout
 * handled by one worker is honoured by all. The primary keeps every live revocation and gives them to
 * a worker that starts later (a replaced one); a worker's `revoke` resolves once the primary has passed
 * the revocation to every other worker, and fails if the primary does not confirm in time.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../logging.js';
import { RevocationList, isRevocation, type Revocation } from './list.js';
import { revocationUnavailable, sweepPeriodically, type RevocationStore } from './store.js';

const TAG = 'nginx-jwt-auth:revocations';

type WorkerMessage = { tag: typeof TAG; kind: 'revoke'; id: number; revocation: Revocation } | { tag: typeof TAG; kind: 'snapshot-request' };
type PrimaryMessage =
  | { tag: typeof TAG; kind: 'revoked'; revocation: Revocation }
  | { tag: typeof TAG; kind: 'ack'; id: number }
  | { tag: typeof TAG; kind: 'snapshot'; revocations: Revocation[] };

function ours(message: unknown): message is { tag: typeof TAG; kind: string } {
  return message !== null && typeof message === 'object' && (message as { tag?: unknown }).tag === TAG;
}

/** How long a worker waits for the primary to confirm a revocation. */
const ACK_TIMEOUT_MS = 2000;

/** In the primary: relays revocations between workers and keeps them for workers started later. */
export function startRevocationHub(logger: Logger): () => void {
  const list = new RevocationList();
  const stopSweeping = sweepPeriodically(list);
  const send = (worker: Worker | undefined, message: PrimaryMessage): void => {
    if (worker?.isConnected()) worker.send(message);
  };
  const onMessage = (from: Worker, message: unknown): void => {
    if (!ours(message)) return;
    const request = message as WorkerMessage;
    if (request.kind === 'snapshot-request') {
      send(from, { tag: TAG, kind: 'snapshot', revocations: [...list.entries()] });
      return;
    }
    if (request.kind !== 'revoke' || !isRevocation(request.revocation)) {
      logger.warn({ event: 'revocation_message_invalid', pid: from.process.pid }, 'ignored a malformed revocation message from a worker');
      return;
    }
    list.add(request.revocation);
    for (const worker of Object.values(cluster.workers ?? {})) if (worker !== from) send(worker, { tag: TAG, kind: 'revoked', revocation: request.revocation });
    send(from, { tag: TAG, kind: 'ack', id: request.id });
  };
  cluster.on('message', onMessage);
  return () => {
    cluster.off('message', onMessage);
    stopSweeping();
  };
}

/** In a worker: memory kept in step with the other workers through the primary. */
export function createClusterRevocationStore(list = new RevocationList()): RevocationStore {
  const stopSweeping = sweepPeriodically(list);
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let snapshotReceived: (() => void) | undefined;
  const onMessage = (message: unknown): void => {
    if (!ours(message)) return;
    const event = message as PrimaryMessage;
    if (event.kind === 'revoked' && isRevocation(event.revocation)) list.add(event.revocation);
    else if (event.kind === 'snapshot') {
      for (const revocation of event.revocations) if (isRevocation(revocation)) list.add(revocation);
      snapshotReceived?.();
    } else if (event.kind === 'ack') {
      const waiting = pending.get(event.id);
      pending.delete(event.id);
      if (waiting !== undefined) {
        clearTimeout(waiting.timer);
        waiting.resolve();
      }
    }
  };
  process.on('message', onMessage);
  const send = (message: WorkerMessage): boolean => {
    if (process.send === undefined || !process.connected) return false;
    process.send(message);
    return true;
  };

  return {
    list,
    revoke(revocation) {
      return new Promise<void>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(revocationUnavailable(`the cluster primary did not confirm within ${ACK_TIMEOUT_MS} ms`));
        }, ACK_TIMEOUT_MS);
        pending.set(id, {
          timer,
          reject,
          resolve: () => {
            list.add(revocation);
            resolve();
          },
        });
        if (!send({ tag: TAG, kind: 'revoke', id, revocation })) {
          clearTimeout(timer);
          pending.delete(id);
          reject(revocationUnavailable('no IPC channel to the cluster primary'));
        }
      });
    },
    status: () => ({ store: 'cluster', state: process.connected ? 'ok' : 'degraded', entries: list.size }),
    async start(waitMs) {
      const received = new Promise<void>((resolve) => (snapshotReceived = resolve));
      if (!send({ tag: TAG, kind: 'snapshot-request' })) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([received, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    },
    async close() {
      process.off('message', onMessage);
      stopSweeping();
      // A logout still waiting is not done: say so rather than leave it hanging.
      for (const { timer, reject } of pending.values()) {
        clearTimeout(timer);
        reject(revocationUnavailable('shutting down before the cluster primary confirmed'));
      }
      pending.clear();
    },
  };
}
