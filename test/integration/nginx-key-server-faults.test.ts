/**
 * A provider's key server having a bad day, seen through a real nginx with the shipped snippets:
 * whatever it does, a client gets an allow or a deny from /check, never nginx's 500, and tokens of
 * keys already known never wait for it.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startJwksServer, type JwksServer } from '../../support/jwks-server.js';
import { nowSeconds, signJws } from '../../support/jws.js';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startStack, withDiagnostics, type Stack } from '../../support/stack.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite());
const known = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const rotated = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const jwk = (pair: typeof known, kid: string) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' });

describe('a slow or failing key server, through nginx', { skip, timeout: 120_000 }, () => {
  let keys: JwksServer;
  let stack: Stack;
  before(async () => {
    keys = await startJwksServer({ keys: [jwk(known, 'k1')] });
    stack = await startStack('key-server-faults', {
      serviceEnv: { OIDC_ISSUER: keys.issuer, OIDC_AUDIENCE: 'orders-api', JWKS_UNKNOWN_KID_COOLDOWN: '100ms', JWKS_UNKNOWN_KID_WAIT: '1s' },
    });
  });
  after(async () => {
    await stack?.stop();
    await keys?.close();
  });
  const spec = (name: string, body: () => Promise<void>) =>
    test(
      name,
      withDiagnostics(() => stack, body),
    );
  const token = (pair: typeof known, kid: string) =>
    signJws(
      { alg: 'ES256', kid, typ: 'at+jwt' },
      { sub: 'svc', iss: keys.issuer, aud: 'orders-api', iat: nowSeconds(), exp: nowSeconds() + 300 },
      pair.privateKey,
    );
  const get = (jwt: string) => stack.request('/whoami', { headers: { authorization: `Bearer ${jwt}` } });

  spec('a rotated kid is fetched and allowed on its first request', async () => {
    keys.serveKeys([jwk(known, 'k1'), jwk(rotated, 'k2')]);
    assert.equal((await get(token(rotated, 'k2'))).status, 200);
  });

  spec('a key server slower than nginx will wait: the unknown kid is a 403 token_key_unknown, never a 5xx', async () => {
    keys.answer({ keys: [jwk(known, 'k1')], delayMs: 8000 });
    const res = await get(token(rotated, 'k3'));
    assert.equal(res.status, 403, res.text());
    assert.equal(res.headers['x-auth-error'], 'token_key_unknown');
  });

  spec('meanwhile tokens of known keys pass without waiting for it', async () => {
    assert.equal((await get(token(known, 'k1'))).status, 200);
  });

  for (const [name, answer] of [
    ['a 500', { status: 500, body: 'oops' }],
    ['garbage', { body: 'not json{' }],
    ['a 10 MB body', { hugeBytes: 10 * 1024 * 1024 }],
    ['a redirect to another origin', { redirect: 'https://evil.example/jwks' }],
    ['a dropped connection', { reset: true }],
  ] as const) {
    spec(`${name} for an unknown kid: 403 token_key_unknown; known keys keep passing`, async () => {
      keys.answer(answer);
      await new Promise((resolve) => setTimeout(resolve, 150)); // past the cooldown: this kid may fetch
      const res = await get(token(rotated, `k-${name.length}`));
      assert.equal(res.status, 403, res.text());
      assert.equal(res.headers['x-auth-error'], 'token_key_unknown');
      assert.equal((await get(token(known, 'k1'))).status, 200);
    });
  }
});
