import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { keySnapshot, replaceableKeySource, staticKeySource, type KeySnapshot, type KeySource } from '../../src/key-source.js';
import { loadKeys, publicJwks, type KeySet } from '../../src/keys.js';
import { createTokenSigner } from '../../src/token/sign.js';
import { createTokenVerifier } from '../../src/token/verify.js';
import { codeOf } from '../../support/check.js';
import { signJws } from '../../support/jws.js';
import { KeyFiles, generatePair } from '../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

const NOW = 1_750_000_000;
const CLOCK = { clockTimestamp: NOW * 1000 };

const oldPair = generatePair('ES256');
const newPair = generatePair('ES256');
// The verify cache is on (its default size): tokens verified once are answered from it afterwards.
const oldEnv = { ...files.env('ES256', oldPair), JWT_KEY_ID: 'old' };
const newEnv = { ...files.env('ES256', newPair), JWT_KEY_ID: 'new' };
const jwt = loadConfig(oldEnv).jwt;
assert.ok(jwt.verifyCacheSize > 0, 'these tests need the verify cache on');

const keysOf = (env: Record<string, string>): KeySet => loadKeys(loadConfig(env).jwt);
const oldKeys = keysOf(oldEnv);
const newKeys = keysOf(newEnv);
/** The new key under the old key's kid: an operator reusing a name. */
const newKeyAsOld = keysOf({ ...newEnv, JWT_KEY_ID: 'old' });

const tokenOf = (keys: KeySet): string => createTokenSigner(jwt, keys.signing ?? assert.fail('no signing key'), { now: () => NOW })('alice', {}).token;
const fromOld = tokenOf(oldKeys);
const fromNew = tokenOf(newKeys);
const withoutKid = (pair: typeof oldPair): string => signJws({ alg: 'ES256', typ: 'JWT' }, { sub: 'alice', iat: NOW, exp: NOW + 600 }, pair.privateKey);

describe('key snapshots', () => {
  test('a snapshot holds the key set and its public JWK Set', () => {
    const snapshot = keySnapshot(oldKeys);
    assert.equal(snapshot.signing, oldKeys.signing);
    assert.equal(snapshot.verification, oldKeys.verification);
    assert.deepEqual(snapshot.jwks, publicJwks(oldKeys));
    assert.ok(Object.isFrozen(snapshot));
  });

  test('a static source is ready and returns the same snapshot every time', () => {
    const source = staticKeySource(oldKeys);
    assert.equal(source.ready, true);
    assert.equal(source.current(), source.current());
    assert.equal(source.onChange, undefined);
  });

  test('a replaceable source without keys is not ready and holds none until the first replace', () => {
    const source = replaceableKeySource();
    assert.equal(source.ready, false);
    assert.deepEqual(source.current().verification, []);
    assert.deepEqual(source.current().jwks, { keys: [] });
    assert.equal(source.current().signing, undefined);
    source.replace(oldKeys);
    assert.equal(source.ready, true);
    assert.equal(source.current().signing, oldKeys.signing);
  });

  test('listeners get each new snapshot once it is current, and stop when told', () => {
    const source = replaceableKeySource(oldKeys);
    const seen: KeySnapshot[] = [];
    const stop = source.onChange((snapshot) => {
      assert.equal(source.current(), snapshot);
      seen.push(snapshot);
    });
    source.replace(newKeys);
    stop();
    source.replace(oldKeys);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.signing, newKeys.signing);
  });
});

describe('the verifier asks its key source on every token', () => {
  test('a key added by a swap verifies on the next token', () => {
    const source = replaceableKeySource(oldKeys);
    const verify = createTokenVerifier(jwt, source, CLOCK);
    assert.equal(codeOf(verify, fromNew), 'token_key_unknown');
    source.replace(newKeys);
    assert.equal(codeOf(verify, fromNew), 'ok');
  });

  test('a key removed by a swap no longer verifies, even a token the verify cache holds as valid', () => {
    const source = replaceableKeySource(oldKeys);
    const verify = createTokenVerifier(jwt, source, CLOCK);
    assert.equal(codeOf(verify, fromOld), 'ok');
    assert.equal(codeOf(verify, fromOld), 'ok'); // now from the cache
    source.replace(newKeys);
    assert.equal(codeOf(verify, fromOld), 'token_key_unknown');
    assert.equal(codeOf(verify, fromNew), 'ok');
  });

  test('a token without kid, cached as valid, is refused once its key is replaced by another of its alg', () => {
    const source = replaceableKeySource(oldKeys);
    const verify = createTokenVerifier(jwt, source, CLOCK);
    const token = withoutKid(oldPair);
    assert.equal(codeOf(verify, token), 'ok');
    assert.equal(codeOf(verify, token), 'ok');
    source.replace(newKeys);
    assert.equal(codeOf(verify, token), 'token_signature_invalid');
    assert.equal(codeOf(verify, withoutKid(newPair)), 'ok');
  });

  test('a token without kid refused under the old key verifies once the key that signed it arrives', () => {
    const source = replaceableKeySource(oldKeys);
    const verify = createTokenVerifier(jwt, source, CLOCK);
    const token = withoutKid(newPair);
    assert.equal(codeOf(verify, token), 'token_signature_invalid');
    assert.equal(codeOf(verify, token), 'token_signature_invalid'); // now a remembered refusal
    source.replace(newKeys);
    assert.equal(codeOf(verify, token), 'ok');
  });

  test("a kid that a swap gives to another key no longer verifies the old key's cached tokens", () => {
    const source = replaceableKeySource(oldKeys);
    const verify = createTokenVerifier(jwt, source, CLOCK);
    assert.equal(codeOf(verify, fromOld), 'ok');
    assert.equal(codeOf(verify, fromOld), 'ok');
    source.replace(newKeyAsOld);
    assert.equal(codeOf(verify, fromOld), 'token_signature_invalid');
    assert.equal(codeOf(verify, tokenOf(newKeyAsOld)), 'ok');
  });

  test('a source that swaps its snapshot without announcing it is still followed', () => {
    let snapshot = keySnapshot(oldKeys);
    const silent: KeySource = { current: () => snapshot, ready: true };
    const verify = createTokenVerifier(jwt, silent, CLOCK);
    assert.equal(codeOf(verify, fromOld), 'ok');
    snapshot = keySnapshot(newKeys);
    assert.equal(codeOf(verify, fromOld), 'token_key_unknown');
    assert.equal(codeOf(verify, fromNew), 'ok');
  });

  test('with no keys yet, every token is refused', () => {
    const verify = createTokenVerifier(jwt, replaceableKeySource(), CLOCK);
    assert.equal(codeOf(verify, fromOld), 'token_key_unknown');
    assert.equal(codeOf(verify, withoutKid(oldPair)), 'token_algorithm_not_allowed');
  });
});
