import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { replaceableKeySource } from '../../src/key-source.js';
import { loadKeys, type KeySet } from '../../src/keys.js';
import { createTokenSigner } from '../../src/token/sign.js';
import { json, request } from '../../support/http.js';
import { headerOf } from '../../support/jws.js';
import { KeyFiles, generatePair } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';

const files = new KeyFiles();
let stub: StubAuthenticator;
let hmac: InProcessService;

before(async () => {
  stub = await startStubAuthenticator();
  hmac = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url });
});
after(async () => {
  await hmac?.close();
  await stub?.close();
  files.remove();
});

/** /readyz's revocation detail of a single process without Redis (test/integration/revocation-redis.test.ts has Redis's). */
const IN_MEMORY = { store: 'memory', state: 'ok', entries: { jti: 0, sid: 0, sub: 0 } };

describe('/healthz and /readyz', { timeout: 30_000 }, () => {
  test('/healthz → 200 {"status":"ok"}', async () => {
    const reply = await request(`${hmac.url}/healthz`);
    assert.equal(reply.status, 200);
    assert.equal(json(reply).status, 'ok');
  });

  test('/readyz follows the lifecycle: starting → ready → shutting down', async () => {
    const { lifecycle } = hmac.service.deps;
    try {
      lifecycle.ready = false;
      const starting = await request(`${hmac.url}/readyz`);
      assert.equal(starting.status, 503);
      assert.equal(json(starting).status, 'starting');

      lifecycle.ready = true;
      const ready = await request(`${hmac.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(json(ready).status, 'ready');
      // Each trusted issuer and its keys: here only the service's own.
      assert.deepEqual(json(ready).issuers, [{ issuer: 'local', state: 'fresh', keys: 1 }]);
      assert.deepEqual(json(ready).revocations, IN_MEMORY);

      lifecycle.shuttingDown = true;
      const draining = await request(`${hmac.url}/readyz`);
      assert.equal(draining.status, 503);
      assert.equal(json(draining).status, 'shutting_down');
      // Keep-alive clients (nginx) are told to reconnect elsewhere.
      assert.equal(draining.headers.connection, 'close');
    } finally {
      lifecycle.ready = false;
      lifecycle.shuttingDown = false;
    }
  });
});

describe('/readyz asks the key source', { timeout: 30_000 }, () => {
  test('listening but without keys yet → 503 starting; once the source has keys → 200 ready', async () => {
    const keySource = replaceableKeySource();
    const svc = await startServiceInProcess({ ...files.env('ES256'), AUTHENTICATOR_URL: stub.url }, {}, { keySource });
    try {
      svc.service.deps.lifecycle.ready = true;
      const starting = await request(`${svc.url}/readyz`);
      assert.equal(starting.status, 503);
      assert.equal(json(starting).status, 'starting');

      keySource.replace(loadKeys(svc.config.jwt));
      const ready = await request(`${svc.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(json(ready).status, 'ready');
    } finally {
      await svc.close();
    }
  });
});

describe('/metrics', { timeout: 30_000 }, () => {
  test('Prometheus text with the decision, login and authenticator counters', async () => {
    await request(`${hmac.url}/check`);
    await request(`${hmac.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":"alice","password":"wonderland"}',
    });
    const reply = await request(`${hmac.url}/metrics`);
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain/);
    assert.match(reply.body, /# TYPE jwt_auth_check_decisions_total counter/);
    assert.match(reply.body, /jwt_auth_check_decisions_total\{result="deny",reason="token_missing"\} [1-9]/);
    assert.match(reply.body, /jwt_auth_login_total\{outcome="ok"\} 1/);
    assert.match(reply.body, /jwt_auth_authenticator_requests_total\{outcome="user"\} 1/);
    assert.match(reply.body, /jwt_auth_build_info\{version="[^"]+",node="v\d+/);
  });
});

describe('/.well-known/jwks.json', { timeout: 60_000 }, () => {
  test('404 for an HMAC-only setup', async () => {
    const reply = await request(`${hmac.url}/.well-known/jwks.json`);
    assert.equal(reply.status, 404);
    assert.deepEqual(json(reply), { error: 'not_found' });
  });

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    test(`${alg}: the public key, whose kid /login tokens carry`, async () => {
      const svc = await startServiceInProcess({ ...files.env(alg), AUTHENTICATOR_URL: stub.url });
      try {
        const reply = await request(`${svc.url}/.well-known/jwks.json`);
        assert.equal(reply.status, 200);
        assert.match(String(reply.headers['content-type']), /^application\/json/);
        assert.match(String(reply.headers['cache-control']), /max-age=\d+/);
        const { keys } = json(reply) as { keys: Array<Record<string, unknown>> };
        assert.equal(keys.length, 1);
        const [key] = keys;
        assert.equal(key?.alg, alg);
        assert.equal(key?.use, 'sig');
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(key?.[member], undefined, `${member} published`);

        const login = await request(`${svc.url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"username":"alice","password":"wonderland"}',
        });
        const token = String(json(login).token);
        assert.equal(headerOf(token).kid, key?.kid);
      } finally {
        await svc.close();
      }
    });
  }
});

describe('keys swapped while running', { timeout: 30_000 }, () => {
  const oldEnv = { ...files.env('ES256', generatePair('ES256')), JWT_KEY_ID: 'old' };
  const keysOf = (env: Record<string, string>): KeySet => loadKeys(loadConfig(env).jwt);

  test('/.well-known/jwks.json and /check follow the source: the new key is published and verifies, the old one neither', async () => {
    const oldKeys = keysOf(oldEnv);
    const newKeys = keysOf({ ...files.env('ES256', generatePair('ES256')), JWT_KEY_ID: 'new' });
    const keySource = replaceableKeySource(oldKeys);
    const svc = await startServiceInProcess({ ...oldEnv, AUTHENTICATOR_URL: stub.url }, {}, { keySource });
    const tokenOf = (keys: KeySet): string => createTokenSigner(svc.config.jwt, keys.signing ?? assert.fail('no signing key'))('alice', {}).token;
    const kids = async (): Promise<unknown[]> =>
      (json(await request(`${svc.url}/.well-known/jwks.json`)) as { keys: Array<{ kid?: unknown }> }).keys.map((key) => key.kid);
    const check = (token: string) => request(`${svc.url}/check`, { headers: { authorization: `Bearer ${token}` } });
    try {
      const fromOld = tokenOf(oldKeys);
      assert.deepEqual(await kids(), ['old']);
      assert.equal((await check(fromOld)).status, 200);
      assert.equal((await check(fromOld)).status, 200);

      keySource.replace(newKeys);
      assert.deepEqual(await kids(), ['new']);
      const refused = await check(fromOld);
      assert.equal(refused.status, 403);
      assert.equal(refused.headers['x-auth-error'], 'token_key_unknown');
      assert.equal((await check(tokenOf(newKeys))).status, 200);
    } finally {
      await svc.close();
    }
  });

  test('a swap to HMAC-only keys takes the JWK Set down: 404', async () => {
    const keySource = replaceableKeySource(keysOf(oldEnv));
    const svc = await startServiceInProcess({ ...oldEnv, AUTHENTICATOR_URL: stub.url }, {}, { keySource });
    try {
      assert.equal((await request(`${svc.url}/.well-known/jwks.json`)).status, 200);
      keySource.replace(keysOf(files.env('HS256')));
      const reply = await request(`${svc.url}/.well-known/jwks.json`);
      assert.equal(reply.status, 404);
      assert.deepEqual(json(reply), { error: 'not_found' });
    } finally {
      await svc.close();
    }
  });
});

describe('anything else', { timeout: 30_000 }, () => {
  test('an unknown path → 404 JSON', async () => {
    const reply = await request(`${hmac.url}/nope`);
    assert.equal(reply.status, 404);
    assert.deepEqual(json(reply), { error: 'not_found' });
  });

  test('POST /healthz is not served', async () => {
    const reply = await request(`${hmac.url}/healthz`, { method: 'POST' });
    assert.ok(reply.status === 404 || reply.status === 405, `status ${reply.status}`);
  });
});
