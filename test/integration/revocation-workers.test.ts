/**
 * WORKERS > 1 without Redis: each worker is a whole service with its own memory, so a revocation made
 * by the worker that handled the logout must reach the others through the cluster primary; and a
 * worker started later (one that replaced a dead worker) gets every live revocation from the primary.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startNodeAuthenticator, type AuthenticatorInstance } from '../../support/authenticator.js';
import { json, request } from '../../support/http.js';
import { pollUntil } from '../../support/poll.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { makeSecret } from '../../support/tokens.js';

/** Fresh connections per round: node's cluster hands connections to the workers in turn. */
const ROUND = 12;

describe('WORKERS=2 without Redis: revocations shared through the cluster primary', { timeout: 60_000 }, () => {
  let dir = '';
  let authenticator: AuthenticatorInstance;
  let service: ServiceProcess;

  before(async () => {
    dir = makeTempDir('revocation-workers');
    authenticator = await startNodeAuthenticator({ dir });
    service = await startServiceProcess({ JWT_SECRET: makeSecret(), AUTHENTICATOR_URL: authenticator.loginUrl, WORKERS: '2', LOG_LEVEL: 'debug' }, { dir });
  });
  after(async () => {
    await service?.stop();
    await authenticator?.stop();
    removeTempDir(dir);
  });

  const login = async (): Promise<string> => {
    const reply = await request(`${service.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    });
    assert.equal(reply.status, 200, reply.body);
    return String(json(reply).token);
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  /** Each check on a connection of its own, so both workers answer. */
  const round = async (token: string): Promise<Array<number | string>> => {
    const codes: Array<number | string> = [];
    for (let i = 0; i < ROUND; i++) {
      const reply = await request(`${service.url}/check`, { headers: bearer(token) });
      codes.push(reply.status === 200 ? 200 : String(reply.headers['x-auth-error']));
    }
    return codes;
  };
  const logLines = () =>
    service
      .log(1_000_000)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const workerPids = () =>
    new Set(
      logLines()
        .filter((line) => line.msg === 'listening')
        .map((line) => Number(line.pid)),
    );

  test('both workers answer; a logout on one is honoured by every worker within 1 s', async () => {
    const token = await login();
    assert.deepEqual(new Set(await round(token)), new Set([200]));
    const answering = new Set(
      logLines()
        .filter((line) => line.result === 'allow')
        .map((line) => line.pid),
    );
    assert.equal(answering.size, 2, `allows came from pids ${[...answering].join(', ')}`);
    assert.equal(((await request(`${service.url}/readyz`).then(json)).revocations as { store: string }).store, 'cluster');

    assert.equal((await request(`${service.url}/logout`, { method: 'POST', headers: bearer(token) })).status, 204);
    const elapsed = await pollUntil(async () => (await round(token)).every((code) => code === 'token_revoked'), {
      timeoutMs: 10_000,
      what: 'every worker denies the revoked token',
    });
    assert.ok(elapsed < 1000, `every worker denied it after ${Math.round(elapsed)} ms`);
  });

  test('a worker that replaces a dead one gets the revocations from the primary', async () => {
    const token = await login();
    assert.equal((await request(`${service.url}/logout`, { method: 'POST', headers: bearer(token) })).status, 204);
    const before = workerPids();
    const victim = [...before][0] as number;
    process.kill(victim, 'SIGKILL');
    await pollUntil(() => workerPids().size > before.size, { timeoutMs: 15_000, what: 'the primary starts a new worker' });
    await pollUntil(async () => (await request(`${service.url}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 10_000, what: 'ready' });
    assert.deepEqual(new Set(await round(token)), new Set(['token_revoked']));
    // And the new worker was among those that answered: its pid allows another token.
    const newcomer = [...workerPids()].find((pid) => !before.has(pid));
    await round(await login());
    assert.ok(
      logLines().some((line) => line.result === 'allow' && line.pid === newcomer),
      `the new worker ${newcomer} answered`,
    );
  });
});
