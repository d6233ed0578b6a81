import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALGORITHMS, factsOf, isAlgorithm } from '../../src/algorithms.js';

describe('the algorithm table', () => {
  test('lists the RFC 7518 signature algorithms the service supports, in the order messages name them', () => {
    assert.deepEqual(ALGORITHMS, ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);
    assert.equal(isAlgorithm('none'), false);
    assert.equal(isAlgorithm('hs256'), false);
    assert.equal(isAlgorithm('toString'), false);
  });

  test('HMAC secrets: at least the hash size (RFC 7518 §3.2); keygen makes twice that', () => {
    for (const [alg, bytes] of [
      ['HS256', 32],
      ['HS384', 48],
      ['HS512', 64],
    ] as const) {
      assert.equal(factsOf(alg).family, 'HMAC');
      assert.equal(factsOf(alg).minimumSecretBytes, bytes);
      assert.deepEqual(factsOf(alg).keygen, { kind: 'secret', bytes: bytes * 2 });
    }
  });

  test('RSA and RSA-PSS: at least 2048 bits (NIST SP 800-131A); keygen makes 3072', () => {
    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const) {
      assert.equal(factsOf(alg).family, alg.startsWith('PS') ? 'RSA-PSS' : 'RSA');
      assert.equal(factsOf(alg).minimumRsaBits, 2048);
      assert.deepEqual(factsOf(alg).keygen, { kind: 'rsa', modulusLength: 3072 });
    }
  });

  test('EC: one curve per algorithm (RFC 7518 §3.4), which keygen uses', () => {
    for (const [alg, curve] of [
      ['ES256', 'prime256v1'],
      ['ES384', 'secp384r1'],
      ['ES512', 'secp521r1'],
    ] as const) {
      assert.equal(factsOf(alg).curve, curve);
      assert.deepEqual(factsOf(alg).keygen, { kind: 'ec', namedCurve: curve });
    }
  });

  test('EdDSA: keygen makes Ed25519', () => {
    assert.equal(factsOf('EdDSA').family, 'EdDSA');
    assert.deepEqual(factsOf('EdDSA').keygen, { kind: 'ed25519' });
  });

  test('only HMAC algorithms take a secret', () => {
    for (const alg of ALGORITHMS) assert.equal(factsOf(alg).minimumSecretBytes !== undefined, factsOf(alg).family === 'HMAC', alg);
  });
});
