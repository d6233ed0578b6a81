import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { exportJWK } from 'jose';
import { ALGORITHMS, type Algorithm } from '../../../src/algorithms.js';
import { MAX_KEYS, parseKeySet, type ParsedKeySet } from '../../../src/jwks/parse.js';
import { generatePair, hmacSecret, pairFor, type AsymmetricAlgorithm } from '../../../support/keys.js';

const ALL = ALGORITHMS;
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;

async function jwkOf(alg: AsymmetricAlgorithm, members: Record<string, unknown> = {}, pair = pairFor(alg)): Promise<Record<string, unknown>> {
  return { ...(await exportJWK(pair.publicKey)), alg, use: 'sig', ...members };
}

const reasons = (parsed: ParsedKeySet): string[] => parsed.ignored.map((key) => `${key.kid ?? `#${key.index}`}: ${key.reason}`);
const pairsOf = (parsed: ParsedKeySet): string[] => parsed.keys.map((key) => `${key.kid} ${key.alg}`);

describe('a remote JWK Set', () => {
  test('anything but {"keys": [...]} is not a JWK Set', () => {
    for (const document of [null, [], 'keys', 42, {}, { keys: {} }, { keys: 'x' }]) {
      assert.throws(() => parseKeySet(document, ALL), /not a JWK Set/, JSON.stringify(document));
    }
  });

  test('an empty set holds no keys and ignores none', () => {
    assert.deepEqual(parseKeySet({ keys: [] }, ALL), { keys: [], ignored: [] });
  });

  test('a key with kid and alg becomes one verification key for that algorithm, its material an SPKI PEM', async () => {
    const parsed = parseKeySet({ keys: [await jwkOf('ES256', { kid: 'k1' })] }, ALL);
    assert.deepEqual(pairsOf(parsed), ['k1 ES256']);
    assert.equal(parsed.keys[0]?.material, pairFor('ES256').publicPem);
    assert.deepEqual(parsed.ignored, []);
  });

  test('an RSA key without alg (as Entra ID publishes them) becomes one key per allowed RSA algorithm', async () => {
    const jwk = await jwkOf('RS256', { kid: 'entra', alg: undefined });
    delete jwk.alg;
    assert.deepEqual(
      pairsOf(parseKeySet({ keys: [jwk] }, ALL)),
      RSA_ALGORITHMS.map((alg) => `entra ${alg}`),
    );
    assert.deepEqual(pairsOf(parseKeySet({ keys: [jwk] }, ['RS256', 'ES256'])), ['entra RS256']);
  });

  test('an EC or OKP key without alg fits exactly the algorithm of its curve', async () => {
    for (const alg of ['ES256', 'ES384', 'ES512', 'EdDSA'] as const) {
      const jwk = await jwkOf(alg, { kid: alg });
      delete jwk.alg;
      assert.deepEqual(pairsOf(parseKeySet({ keys: [jwk] }, ALL)), [`${alg} ${alg}`]);
    }
  });

  test('a key without alg that no allowed algorithm fits is ignored, saying so', async () => {
    const jwk = await jwkOf('ES384', { kid: 'p384' });
    delete jwk.alg;
    const parsed = parseKeySet({ keys: [jwk] }, ['ES256', 'RS256']);
    assert.deepEqual(parsed.keys, []);
    assert.match(reasons(parsed)[0] ?? '', /^p384: EC P-384 key: no allowed algorithm \(ES256, RS256\) fits it/);
  });

  test('HMAC algorithms in the allow-list never apply to remote keys; an oct key is refused outright', async () => {
    const secret = { kty: 'oct', k: Buffer.from(hmacSecret('HS256')).toString('base64url'), kid: 'shared', alg: 'HS256' };
    const parsed = parseKeySet({ keys: [secret, { ...secret, kid: 'no-alg', alg: undefined }] }, ['HS256', 'RS256']);
    assert.deepEqual(parsed.keys, []);
    assert.deepEqual(
      parsed.ignored.map((key) => key.kid),
      ['shared', 'no-alg'],
    );
    for (const reason of reasons(parsed)) assert.match(reason, /shared secret \(kty "oct"\) from a key server is refused/);
  });

  test('an RSA key cannot be used for HS256 by listing it with alg HS256', async () => {
    const parsed = parseKeySet({ keys: [await jwkOf('RS256', { kid: 'confused', alg: 'HS256' })] }, ALL);
    assert.deepEqual(parsed.keys, []);
    assert.match(reasons(parsed)[0] ?? '', /alg "HS256" is not one of the allowed RS256/);
  });

  test('keys for encryption, for other operations, of unknown types, curves or algorithms are ignored, each with its reason', async () => {
    const x25519 = { ...generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }), kid: 'x25519', use: 'sig' };
    const secp256k1 = { ...generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256K' };
    const keys = [
      await jwkOf('RS256', { kid: 'enc', use: 'enc' }),
      await jwkOf('RS256', { kid: 'ops', key_ops: ['encrypt'] }),
      await jwkOf('RS256', { kid: 'alg', alg: 'RSA-OAEP' }),
      await jwkOf('ES256', { kid: 'not-allowed', alg: 'ES256' }),
      { kty: 'DSA', kid: 'dsa' },
      x25519,
      secp256k1,
      await jwkOf('ES256', { kid: 'wrong-curve', alg: 'ES384' }),
      { kty: 'RSA', kid: 'garbage', n: 'AQAB', e: '!!' },
      await jwkOf('RS256', { kid: 'ok' }),
    ];
    const parsed = parseKeySet({ keys }, ['RS256', 'EdDSA', 'ES384']);
    assert.deepEqual(pairsOf(parsed), ['ok RS256']);
    const byKid = Object.fromEntries(parsed.ignored.map((key) => [key.kid, key.reason]));
    assert.match(byKid.enc ?? '', /"use" is "enc", not "sig"/);
    assert.match(byKid.ops ?? '', /"key_ops" does not include "verify"/);
    assert.match(byKid.alg ?? '', /alg "RSA-OAEP" is not one of the allowed/);
    assert.match(byKid['not-allowed'] ?? '', /alg "ES256" is not one of the allowed RS256, EdDSA, ES384/);
    assert.match(byKid.dsa ?? '', /unsupported kty "DSA"/);
    assert.match(byKid.x25519 ?? '', /OKP X25519 key: no allowed algorithm \(RS256, EdDSA, ES384\) fits it: EdDSA needs an Ed25519 or Ed448 key, got x25519/);
    assert.match(byKid.k1 ?? '', /alg "ES256K"/);
    assert.match(byKid['wrong-curve'] ?? '', /ES384 needs an EC key on secp384r1/);
    assert.match(byKid.garbage ?? '', /no allowed algorithm \(RS256, EdDSA, ES384\) fits it: RSA keys must have at least 2048 bits, got 17/);
    assert.equal(parsed.ignored.length, keys.length - 1);
  });

  test('RSA keys under 2048 bits are ignored, as for local keys', async () => {
    const small = generatePair('RS256', 1024);
    const parsed = parseKeySet({ keys: [await jwkOf('RS256', { kid: 'small' }, small)] }, ALL);
    assert.deepEqual(parsed.keys, []);
    assert.match(reasons(parsed)[0] ?? '', /at least 2048 bits, got 1024/);
  });

  test('a key without kid, or not an object, is ignored: tokens could not name it', async () => {
    const parsed = parseKeySet({ keys: [await jwkOf('ES256'), await jwkOf('ES256', { kid: '' }), 'key', null] }, ALL);
    assert.deepEqual(parsed.keys, []);
    assert.deepEqual(reasons(parsed), [
      '#0: it has no "kid" (tokens could not name it)',
      '#1: it has no "kid" (tokens could not name it)',
      '#2: not a JSON object',
      '#3: not a JSON object',
    ]);
  });

  test('a key that publishes its private members is not trusted', async () => {
    const leaked = { ...generatePair('ES256').privateKey.export({ format: 'jwk' }), kid: 'leaked', alg: 'ES256' };
    const parsed = parseKeySet({ keys: [leaked] }, ALL);
    assert.deepEqual(parsed.keys, []);
    assert.match(reasons(parsed)[0] ?? '', /publishes the private member "d"/);
  });

  test('two different keys under one kid are both ignored; the same key listed twice is kept once', async () => {
    const a = await jwkOf('ES256', { kid: 'dup' });
    const b = await jwkOf('ES256', { kid: 'dup' }, generatePair('ES256'));
    const twin = await jwkOf('RS256', { kid: 'twin' });
    const parsed = parseKeySet({ keys: [a, twin, b, twin] }, ALL);
    assert.deepEqual(pairsOf(parsed), ['twin RS256']);
    assert.deepEqual(
      parsed.ignored.map((key) => [key.index, key.kid]),
      [
        [0, 'dup'],
        [2, 'dup'],
      ],
    );
    for (const key of parsed.ignored) assert.match(key.reason, /another key in the set has the same kid/);
  });

  test('one key listed for two algorithms under one kid is one kid with two algorithms', async () => {
    const parsed = parseKeySet({ keys: [await jwkOf('RS256', { kid: 'both' }), await jwkOf('RS256', { kid: 'both', alg: 'PS256' })] }, ALL);
    assert.deepEqual(pairsOf(parsed), ['both RS256', 'both PS256']);
  });

  test(`at most ${MAX_KEYS} keys of a set are read; the rest are ignored`, async () => {
    const jwk = await jwkOf('ES256');
    const keys = Array.from({ length: MAX_KEYS + 2 }, (_, i) => ({ ...jwk, kid: `k${i}` }));
    const parsed = parseKeySet({ keys }, ALL);
    assert.equal(parsed.keys.length, MAX_KEYS);
    assert.deepEqual(
      parsed.ignored.map((key) => key.kid),
      [`k${MAX_KEYS}`, `k${MAX_KEYS + 1}`],
    );
  });

  test('every asymmetric algorithm of the table is read from a JWK with its alg', async () => {
    for (const alg of ALGORITHMS.filter((name): name is AsymmetricAlgorithm & Algorithm => !name.startsWith('HS'))) {
      const parsed = parseKeySet({ keys: [await jwkOf(alg, { kid: alg })] }, ALL);
      assert.deepEqual(pairsOf(parsed), [`${alg} ${alg}`]);
    }
  });
});
