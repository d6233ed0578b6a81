/**
 * SOCKET_PATH: the service on a unix socket, nginx's upstream pointed at it with `server unix:…;`
 * (the template's JWT_AUTH_ADDR), the rest of nginx/ as shipped. Allows and denials go through
 * exactly as over TCP, the socket is the only thing the service listens on, a stale socket file
 * from an unclean stop does not block the next start, and a running instance's socket is not taken
 * over by a second one. Needs `npm run build` and nginx (skipped without nginx, failed under CI=true).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startNginx, type NginxInstance } from '../../support/nginx.js';
import { httpRequest } from '../../support/http.js';
import { probe } from '../../support/process.js';
import { nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { SERVICE_CLI } from '../../support/paths.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { makeSecret, mintToken } from '../../support/tokens.js';

const skip = requireOrSkip(nginxPrerequisite());
const SUITE = { skip, timeout: 60_000 };
const IDENTITY_HEADERS = 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name';

describe('the service on a unix socket behind nginx (SOCKET_PATH)', SUITE, () => {
  let dir = '';
  let secret = '';
  let socketPath = '';
  let app: http.Server | undefined;
  let service: ServiceProcess | undefined;
  let nginx: NginxInstance | undefined;

  before(async () => {
    dir = makeTempDir('nginx-unix');
    secret = makeSecret();
    socketPath = join(dir, 'jwt-auth.sock');
    app = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ user: req.headers['x-auth-user'] ?? null, roles: req.headers['x-auth-roles'] ?? null }));
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    // A socket file left behind by a service that was killed: nothing listens on it any more.
    const killed = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(socketPath)})`], { stdio: 'ignore' });
    while (!existsSync(socketPath)) await delay(20);
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    assert.ok(lstatSync(socketPath).isSocket(), 'the stale socket file is there before the start');

    service = await startServiceProcess({ JWT_SECRET: secret, IDENTITY_HEADERS, SOCKET_PATH: socketPath }, { dir });
    nginx = await startNginx({ dir, jwtAuthAddr: service.addr, appAddr: `127.0.0.1:${(app.address() as AddressInfo).port}` });
  });

  after(async () => {
    await nginx?.stop();
    await service?.stop();
    app?.close();
    removeTempDir(dir);
  });

  it('nginx reaches /check through the socket: an allow passes the identity, a bad token is a 403', async () => {
    assert.equal(service?.addr, `unix:${socketPath}`);
    const token = await mintToken(secret, { sub: 'alice', name: 'Alice', roles: ['admin', 'user'] }, { expiresIn: 600 });
    const allowed = await httpRequest(`${nginx?.url}/`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(allowed.status, 200, allowed.text());
    assert.deepEqual(allowed.json(), { user: 'alice', roles: 'admin,user' });

    const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const denied = await httpRequest(`${nginx?.url}/`, { headers: { Authorization: `Bearer ${forged}` } });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers['x-auth-error'], 'token_signature_invalid');
    const none = await httpRequest(`${nginx?.url}/admin/`);
    assert.equal(none.status, 403);
    assert.equal(none.headers['x-auth-error'], 'token_missing');
  });

  it('listens on the socket only, which nginx workers running as another user may open', async () => {
    assert.equal(await probe(`http://127.0.0.1:${service?.port}/readyz`), undefined, 'nothing answers on HOST:PORT');
    assert.equal((await probe('http://localhost/readyz', 1000, socketPath))?.status, 200);
    assert.equal(statSync(socketPath).mode & 0o777, 0o666);
  });

  it('a second instance refuses to take over the socket of a running one', async () => {
    const second = spawn(process.execPath, [SERVICE_CLI, 'serve'], {
      env: { PATH: process.env.PATH ?? '', JWT_SECRET: secret, SOCKET_PATH: socketPath },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    second.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(second, 'exit')) as [number | null];
    assert.equal(code, 1, stderr);
    assert.match(stderr, /cannot listen on .*jwt-auth\.sock: address already in use/);
    assert.equal((await probe('http://localhost/readyz', 1000, socketPath))?.status, 200, 'the first instance still answers');
  });

  it('removes its socket file when it stops', async () => {
    await service?.stop();
    service = undefined;
    assert.equal(existsSync(socketPath), false);
  });
});
