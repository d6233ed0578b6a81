import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { replaceableKeySource, staticKeySource } from '../../src/key-source.js';
import { loadKeys } from '../../src/keys.js';
import { REGISTERED_CLAIMS, createFollowingSigner, createTokenSigner, newSessionId } from '../../src/token/sign.js';
import { createTokenVerifier } from '../../src/token/verify.js';
import { claimsOf } from '../../support/check.js';
import { headerOf, payloadOf } from '../../support/jws.js';
import { KeyFiles, generatePair } from '../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

const NOW = 1_750_000_000;

function setup(env: Record<string, string> = {}) {
  const config = loadConfig({ ...files.env('ES256'), ...env });
  const keys = loadKeys(config.jwt);
  const signer = createTokenSigner(config.jwt, keys.signing ?? assert.fail('no signing key'), { now: () => NOW });
  const verify = createTokenVerifier(config.jwt, staticKeySource(keys), { clockTimestamp: NOW * 1000 });
  return { keys, signer, verify };
}

describe('createTokenSigner', () => {
  test('sets sub, iat, nbf, exp and jti itself, a new session (auth_time, sid), and the header alg and kid', () => {
    const { keys, signer } = setup();
    const { token, expiresIn, jti, session } = signer('alice', { name: 'Alice' });
    assert.deepEqual(headerOf(token), { alg: 'ES256', typ: 'JWT', kid: keys.signing?.kid });
    const claims = payloadOf(token);
    assert.match(session.sid, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(
      { ...claims, jti: undefined },
      { name: 'Alice', sub: 'alice', iat: NOW, nbf: NOW, exp: NOW + 3600, jti: undefined, auth_time: NOW, sid: session.sid },
    );
    assert.equal(claims.jti, jti);
    assert.equal(expiresIn, 3600);
  });

  test('iss and aud come from JWT_ISSUER and JWT_AUDIENCE (one audience as a string, several as a list)', () => {
    const claims = payloadOf(setup({ JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a' }).signer('s', {}).token);
    assert.equal(claims.iss, 'https://i');
    assert.equal(claims.aud, 'a');
    assert.deepEqual(payloadOf(setup({ JWT_AUDIENCE: 'a,b' }).signer('s', {}).token).aud, ['a', 'b']);
  });

  test('without JWT_ISSUER / JWT_AUDIENCE there is no iss / aud', () => {
    const claims = payloadOf(setup().signer('s', {}).token);
    assert.equal(Object.hasOwn(claims, 'iss'), false);
    assert.equal(Object.hasOwn(claims, 'aud'), false);
  });

  test('registered claims in the private claims are dropped, never copied', () => {
    const hostile = {
      iss: 'evil',
      sub: 'admin',
      aud: 'all',
      exp: 9_999_999_999,
      nbf: 9_999_999_999,
      iat: 1,
      jti: 'fixed',
      role: 'user',
      auth_time: 1,
      sid: 'mine',
    };
    const claims = payloadOf(setup({ JWT_ISSUER: 'https://i' }).signer('alice', hostile).token);
    assert.deepEqual(
      { ...claims, jti: undefined, sid: undefined },
      { role: 'user', sub: 'alice', iss: 'https://i', iat: NOW, nbf: NOW, exp: NOW + 3600, jti: undefined, auth_time: NOW, sid: undefined },
    );
    assert.notEqual(claims.sid, 'mine');
    assert.notEqual(claims.jti, 'fixed');
    assert.deepEqual([...REGISTERED_CLAIMS].sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub']);
  });

  test('a ttl argument replaces JWT_TTL', () => {
    const signed = setup({ JWT_TTL: '15m' }).signer('s', {}, 60);
    assert.equal(signed.expiresIn, 60);
    assert.equal(payloadOf(signed.token).exp, NOW + 60);
    assert.equal(setup({ JWT_TTL: '15m' }).signer('s', {}).expiresIn, 900);
  });

  test('what it signs, the service verifies', () => {
    const { signer, verify } = setup({ JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a' });
    assert.equal(claimsOf(verify, signer('alice', { roles: ['x'] }).token).sub, 'alice');
  });

  test('a token of a given session carries its auth_time and sid, and never lives past its end', () => {
    const { signer } = setup({ JWT_TTL: '15m' });
    const session = { sid: 'session-1', authTime: NOW - 100, endsAt: NOW + 60 };
    const signed = signer('alice', {}, undefined, session);
    const claims = payloadOf(signed.token);
    assert.deepEqual([claims.auth_time, claims.sid, claims.exp, signed.expiresIn], [NOW - 100, 'session-1', NOW + 60, 60]);
    assert.equal(payloadOf(signer('alice', {}, undefined, { ...session, endsAt: NOW + 7200 }).token).exp, NOW + 900);
  });

  test('each token has its own jti', () => {
    const { signer } = setup();
    assert.notEqual(signer('s', {}).jti, signer('s', {}).jti);
  });
});

describe('newSessionId', () => {
  test('is 128 bits, base64url, and never repeats, across many refills of its entropy', () => {
    const ids = Array.from({ length: 5000 }, () => newSessionId());
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(Buffer.from(ids[0] as string, 'base64url').length, 16);
  });
});

describe('createFollowingSigner: /login after a key reload', () => {
  test('signs with the key the source holds now, and is absent when the source has no signing key', () => {
    const first = loadKeys(loadConfig({ ...files.env('ES256'), JWT_KEY_ID: 'first' }).jwt);
    const second = loadKeys(loadConfig({ ...files.env('ES256', generatePair('ES256')), JWT_KEY_ID: 'second' }).jwt);
    const source = replaceableKeySource(first);
    const config = loadConfig({ ...files.env('ES256'), JWT_KEY_ID: 'first' });
    const signer = createFollowingSigner(config.jwt, source) ?? assert.fail('a signing key is there');
    assert.equal(headerOf(signer('alice', {}).token).kid, 'first');
    source.replace(second);
    assert.equal(headerOf(signer('alice', {}).token).kid, 'second');
    assert.equal(createFollowingSigner(config.jwt, replaceableKeySource({ signing: undefined, verification: second.verification })), undefined);
  });
});
