/**
 * The nginx decision cache and revocation: an allow nginx has cached is reused without asking the
 * service, so a token revoked after it was cached still passes through nginx for at most
 * CHECK_CACHE_MAX_AGE (never longer), while the service itself denies it at once. The default,
 * CHECK_CACHE_MAX_AGE=0, caches nothing: a revocation is honoured on the next request.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startNodeAuthenticator, type AuthenticatorInstance } from '../../support/authenticator.js';
import { json, request } from '../../support/http.js';
import { startNginx, type NginxInstance } from '../../support/nginx.js';
import { pollUntil } from '../../support/poll.js';
import { nginxPrerequisite, njsPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { makeSecret } from '../../support/tokens.js';

const skip = requireOrSkip(nginxPrerequisite(), njsPrerequisite());
const MAX_AGE_S = 2;
/** nginx counts cache validity in whole seconds, from when it stored the answer. */
const NGINX_GRANULARITY_MS = 1000;

describe('a revoked token and the nginx decision cache', { skip, timeout: 60_000 }, () => {
  let dir = '';
  let authenticator: AuthenticatorInstance;
  let app: http.Server;
  let service: ServiceProcess;
  let nginx: NginxInstance;

  before(async () => {
    dir = makeTempDir('cache-revocation');
    authenticator = await startNodeAuthenticator({ dir });
    app = http.createServer((_req, res) => res.end('app'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    service = await startServiceProcess({ JWT_SECRET: makeSecret(), AUTHENTICATOR_URL: authenticator.loginUrl, CHECK_CACHE_MAX_AGE: `${MAX_AGE_S}s` }, { dir });
    nginx = await startNginx({ dir, jwtAuthAddr: service.addr, appAddr: `127.0.0.1:${(app.address() as AddressInfo).port}`, cache: true });
  });
  after(async () => {
    await nginx?.stop();
    await service?.stop();
    app?.close();
    await authenticator?.stop();
    removeTempDir(dir);
  });

  test('the default caches nothing: CHECK_CACHE_MAX_AGE is 0', () => {
    assert.equal(loadConfig({ JWT_SECRET: makeSecret() }).check.cacheMaxAgeMs, 0);
  });

  test(`cached, then revoked: the service denies at once, nginx passes it for at most CHECK_CACHE_MAX_AGE (${MAX_AGE_S}s)`, async () => {
    const login = await request(`${service.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
    });
    const headers = { authorization: `Bearer ${String(json(login).token)}` };
    assert.equal((await request(`${nginx.url}/`, { headers })).status, 200, 'allowed, and now cached by nginx');

    assert.equal((await request(`${service.url}/logout`, { method: 'POST', headers })).status, 204);
    const revokedAt = performance.now();
    assert.equal((await request(`${service.url}/check`, { headers })).headers['x-auth-error'], 'token_revoked');
    const cachedPass = (await request(`${nginx.url}/`, { headers })).status;
    await pollUntil(async () => (await request(`${nginx.url}/`, { headers })).status === 403, {
      timeoutMs: 10 * MAX_AGE_S * 1000,
      what: 'nginx denies the revoked token once its cached allow expires',
    });
    const sinceRevocation = performance.now() - revokedAt;
    assert.ok(sinceRevocation <= MAX_AGE_S * 1000 + NGINX_GRANULARITY_MS, `nginx denied it ${Math.round(sinceRevocation)} ms after the revocation`);
    assert.equal(cachedPass, 200, 'right after the revocation the cached allow still passes: the documented trade-off');
  });
});
