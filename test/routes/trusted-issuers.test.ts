/**
 * A service that trusts identity providers, over a real socket, with the providers' fetched keys
 * driven by the test: /readyz waits for every issuer, the issuer denials carry their own codes in
 * X-Auth-Error, the log line and the metric, and a service without keys of its own signs nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { loadKeys } from '../../src/keys.js';
import { controlledKeysFactory, type ControlledKeys } from '../../support/controlled-keys.js';
import { request } from '../../support/http.js';
import { nowSeconds, signJws } from '../../support/jws.js';
import { KeyFiles, generatePair } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';

const files = new KeyFiles();
const IDP = 'https://idp.example/realms/main';
const idpPair = generatePair('RS256');
const idpKeys = loadKeys(loadConfig({ ...files.env('RS256', idpPair), JWT_KEY_ID: 'idp-1' }).jwt);
const factory = controlledKeysFactory();
let service: InProcessService;
let keys: ControlledKeys;

before(async () => {
  // Verify-only: no key of its own, one provider.
  service = await startServiceInProcess({ OIDC_ISSUER: IDP, OIDC_AUDIENCE: 'orders-api', LOG_DENY_RATE: '0' }, {}, { remoteKeys: factory.make });
  keys = factory.byIssuer.get(IDP) ?? assert.fail('the provider has a key set');
  // The socket listens: what serve marks once it does.
  service.service.deps.lifecycle.ready = true;
});
after(async () => {
  await service?.close();
  files.remove();
});

const idpToken = (claims: Record<string, unknown> = {}, kid = 'idp-1'): string =>
  signJws(
    { alg: 'RS256', typ: 'at+jwt', kid },
    { sub: 'svc', iss: IDP, aud: 'orders-api', iat: nowSeconds(), exp: nowSeconds() + 300, ...claims },
    idpPair.privateKey,
  );
const check = (token: string) => request(`${service.url}/check`, { headers: { authorization: `Bearer ${token}` } });

describe('a verify-only service for one provider', () => {
  test('fetching starts with the service', () => assert.ok(keys.started));

  test('/readyz is 503 until the provider has keys, and names its state', async () => {
    const reply = await request(`${service.url}/readyz`);
    assert.equal(reply.status, 503);
    assert.deepEqual((JSON.parse(reply.body) as { issuers: unknown }).issuers, [{ issuer: IDP, state: 'unavailable', keys: 0 }]);
  });

  test('before keys arrive, its tokens are denied issuer_keys_unavailable, counted by issuer, logged with the issuer and never the token', async () => {
    const token = idpToken();
    const reply = await check(token);
    assert.equal(reply.status, 403);
    assert.equal(reply.headers['x-auth-error'], 'issuer_keys_unavailable');
    const metrics = (await request(`${service.url}/metrics`)).body;
    assert.match(metrics, new RegExp(`jwt_auth_check_issuer_denials_total\\{issuer="${IDP}",reason="issuer_keys_unavailable"\\} 1`));
    const line = service.logs.find((entry) => entry.includes('issuer_keys_unavailable'));
    assert.ok(line?.includes(`"issuer":"${IDP}"`), line);
    assert.ok(!service.logs.join('\n').includes(token.split('.')[2] as string), 'no signature in any log line');
  });

  test('once the keys arrive it is ready, and its tokens pass', async () => {
    keys.deliver(idpKeys);
    assert.equal((await request(`${service.url}/readyz`)).status, 200);
    assert.equal((await check(idpToken())).status, 200);
  });

  test('a token claiming another issuer is token_issuer_unknown: logged with the iss it claims, counted as "unknown"', async () => {
    const token = idpToken({ iss: 'https://evil.example/' });
    const reply = await check(token);
    assert.equal(reply.headers['x-auth-error'], 'token_issuer_unknown');
    assert.ok(service.logs.some((entry) => entry.includes('token_issuer_unknown') && entry.includes('"issuer":"https://evil.example/"')));
    assert.match((await request(`${service.url}/metrics`)).body, /jwt_auth_check_issuer_denials_total\{issuer="unknown",reason="token_issuer_unknown"\} 1/);
  });

  test('a token without iss belongs to nobody here', async () => {
    const reply = await check(idpToken({ iss: undefined }));
    assert.equal(reply.headers['x-auth-error'], 'token_issuer_unknown');
  });

  test('a rotated key is asked for once and honoured on the first request that needs it', async () => {
    const rotated = generatePair('RS256');
    keys.next = loadKeys(loadConfig({ ...files.env('RS256', rotated), JWT_KEY_ID: 'idp-2' }).jwt);
    const token = signJws(
      { alg: 'RS256', typ: 'at+jwt', kid: 'idp-2' },
      { sub: 'svc', iss: IDP, aud: 'orders-api', iat: nowSeconds(), exp: nowSeconds() + 300 },
      rotated.privateKey,
    );
    assert.equal((await check(token)).status, 200);
    assert.equal(keys.refreshes, 1);
  });

  test('it signs nothing: /login and the JWK Set are not there', async () => {
    assert.equal(
      (await request(`${service.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"a","password":"b"}' }))
        .status,
      404,
    );
    assert.equal((await request(`${service.url}/.well-known/jwks.json`)).status, 404);
  });

  test('once its keys are past their staleness bound, its tokens are denied again; the service stays ready and says why', async () => {
    keys.usable = false;
    assert.equal((await check(idpToken())).headers['x-auth-error'], 'issuer_keys_unavailable');
    const readyz = await request(`${service.url}/readyz`);
    assert.equal(readyz.status, 200);
    assert.equal((JSON.parse(readyz.body) as { issuers: Array<{ state: string }> }).issuers[0]?.state, 'unavailable');
  });
});

describe("the service's own keys beside a provider", () => {
  for (const [name, extra, warned] of [
    ['without JWT_ISSUER: a warning at start, since they take any iss no provider claims', {}, true],
    ['with JWT_ISSUER: no warning', { JWT_ISSUER: 'https://auth.example' }, false],
  ] as const) {
    test(name, async () => {
      const own = await startServiceInProcess(
        { ...files.env('HS256'), OIDC_ISSUER: IDP, OIDC_AUDIENCE: 'orders-api', ...extra },
        {},
        { remoteKeys: controlledKeysFactory().make },
      );
      try {
        assert.equal(
          own.logs.some((line) => line.includes('"event":"own_issuer_unnamed"')),
          warned,
        );
      } finally {
        await own.close();
      }
    });
  }
});
