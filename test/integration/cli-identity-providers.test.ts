/**
 * The command line with identity providers: check-config validates without any network and says
 * what it would fetch; check-config --online fetches and reports each provider's keys (and what it
 * ignored, and why); verify says what /check would, the provider's keys fetched.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../support/cli.js';
import { startJwksServer, type JwksServer } from '../../support/jwks-server.js';
import { nowSeconds, signJws } from '../../support/jws.js';
import { hmacSecret } from '../../support/keys.js';

const cli = runCli;

const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const encryption = generateKeyPairSync('rsa', { modulusLength: 2048 });
let server: JwksServer;
let env: Record<string, string>;

before(async () => {
  server = await startJwksServer({
    keys: [
      { ...signing.publicKey.export({ format: 'jwk' }), kid: 'sig-1', alg: 'ES256', use: 'sig' },
      { ...encryption.publicKey.export({ format: 'jwk' }), kid: 'enc-1', alg: 'RSA-OAEP', use: 'enc' },
    ],
  });
  env = { OIDC_ISSUER: server.issuer, OIDC_AUDIENCE: 'orders-api' };
});
after(() => server?.close());

describe('check-config with an identity provider', { timeout: 60_000 }, () => {
  test('offline: a verify-only service is valid, the provider is listed, and nothing is fetched', async () => {
    const before = server.count();
    const run = await cli(['check-config'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /no keys of its own \(verify only, \/login answers 404\)/);
    assert.match(run.stdout, new RegExp(`issuer ${server.issuer}: keys from OpenID discovery, audiences \\[orders-api\\]`));
    assert.match(run.stdout, /check-config --online/);
    assert.equal(server.count(), before, 'no request reached the provider');
  });

  test("beside the service's own keys without JWT_ISSUER: valid, with a warning that those keys take any unclaimed iss", async () => {
    const withOwnKeys = { ...env, JWT_SECRET: hmacSecret('HS256') };
    const run = await cli(['check-config'], withOwnKeys);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: JWT_ISSUER is unset/);
    const named = await cli(['check-config'], { ...withOwnKeys, JWT_ISSUER: 'https://auth.example' });
    assert.doesNotMatch(named.stderr, /warning/);
  });

  test('--online: the keys found, with kid, alg and type, and the ignored key with why', async () => {
    const run = await cli(['check-config', '--online'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`1 key\\(s\\) from ${server.jwksUrl}`));
    assert.match(run.stdout, /sig-1 ES256 EC/);
    assert.match(run.stdout, /ignored enc-1: .*enc/);
  });

  test('--online with the provider down: exit 1 and the reason', async () => {
    await server.down();
    try {
      const run = await cli(['check-config', '--online'], env);
      assert.equal(run.code, 1);
      assert.match(run.stderr, new RegExp(`${server.issuer}: no keys \\(network\\)`));
    } finally {
      await server.up();
    }
  });
});

describe('verify with an identity provider', { timeout: 60_000 }, () => {
  const token = (claims: Record<string, unknown>) =>
    signJws(
      { alg: 'ES256', kid: 'sig-1', typ: 'at+jwt' },
      { sub: 'svc', iss: server.issuer, iat: nowSeconds(), exp: nowSeconds() + 300, ...claims },
      signing.privateKey,
    );

  test("a provider's token: its claims, and who issued it", async () => {
    const run = await cli(['verify', token({ aud: 'orders-api' })], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { sub: string }).sub, 'svc');
    assert.match(run.stderr, new RegExp(`issued by ${server.issuer}`));
  });

  test('one for another audience: token_claims_invalid, exit 1', async () => {
    const run = await cli(['verify', token({ aud: 'other-api' })], env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /token_claims_invalid/);
  });
});
