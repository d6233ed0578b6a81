import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { exportJWK } from 'jose';
import { loadConfig } from '../../src/config/index.js';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { staticKeySource } from '../../src/key-source.js';
import { loadKeys, type KeySet } from '../../src/keys.js';
import { createTokenSigner } from '../../src/token/sign.js';
import { createTokenVerifier, type TokenVerifier } from '../../src/token/verify.js';
import { claimsOf, codeOf, verdictCodeOf } from '../../support/check.js';
import { headerOf, signJws, withForgedPayload, tamperSignature } from '../../support/jws.js';
import { KeyFiles, generatePair, pairFor } from '../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

/** A fixed clock: tests never depend on the wall clock. */
const NOW = 1_750_000_000;
const CLOCK_MS = NOW * 1000;
const ISS = 'https://auth.example';

function setup(env: Record<string, string>, clockTimestamp = CLOCK_MS): { keys: KeySet; verify: TokenVerifier } {
  const config = loadConfig(env);
  const keys = loadKeys(config.jwt);
  return { keys, verify: createTokenVerifier(config.jwt, staticKeySource(keys), { clockTimestamp }) };
}

// Key A signs (RS256, derived kid); the JWK Set adds B (RS256, kid "b"), an ES256 key "es" and an
// HS256 secret "hs": several algorithms and several keys per algorithm.
const A = pairFor('RS256');
const B = generatePair('RS256');
const ES = pairFor('ES256');
const HS_SECRET = Buffer.alloc(32, 9);
const jwks = files.write(
  'verify-jwks.json',
  JSON.stringify({
    keys: [
      { ...(await exportJWK(B.publicKey)), kid: 'b', alg: 'RS256' },
      { ...(await exportJWK(ES.publicKey)), kid: 'es', alg: 'ES256' },
      { kty: 'oct', k: HS_SECRET.toString('base64url'), kid: 'hs', alg: 'HS256' },
    ],
  }),
);
const env = { ...files.env('RS256', A), JWT_VERIFY_JWKS_FILE: jwks, JWT_ISSUER: ISS, JWT_AUDIENCE: 'app1,app2', JWT_MAX_TOKEN_LENGTH: '2048' };
const { keys, verify } = setup(env);
const KID_A = keys.signing?.kid ?? assert.fail('no signing key');

const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'alice', iss: ISS, aud: 'app1', iat: NOW - 10, exp: NOW + 600, ...extra });
const rs = (extra?: Record<string, unknown>, header: Record<string, unknown> = { kid: KID_A }) =>
  signJws({ alg: 'RS256', typ: 'JWT', ...header }, claims(extra), A.privateKey);
const good = rs();

describe('a table of tokens and the code each gets', () => {
  const rows: Array<[name: string, token: string, expected: ErrorCode | 'ok']> = [
    ['a good token with the signing kid', good, 'ok'],
    ['a good token without kid (tried against the RS256 keys)', rs({}, {}), 'ok'],
    // RFC 9068 access tokens, as Keycloak, Auth0 and Okta issue them: typ is not a reason to refuse.
    ['an RFC 9068 access token (typ at+jwt)', rs({}, { kid: KID_A, typ: 'at+jwt' }), 'ok'],
    ['typ application/at+jwt', rs({}, { kid: KID_A, typ: 'application/at+jwt' }), 'ok'],
    ['typ AT+JWT (media types are case-insensitive)', rs({}, { kid: KID_A, typ: 'AT+JWT' }), 'ok'],
    ['no typ at all', signJws({ alg: 'RS256', kid: KID_A }, claims(), A.privateKey), 'ok'],
    // typ is not checked (no other token type shares our keys): another one is judged on everything else, as before.
    ['an unexpected typ (dpop+jwt), otherwise good', rs({}, { kid: KID_A, typ: 'dpop+jwt' }), 'ok'],
    ['an unexpected typ on an expired token is still token_expired', rs({ exp: NOW - 31 }, { kid: KID_A, typ: 'dpop+jwt' }), 'token_expired'],
    ['a token of rotated-in key B with kid b', signJws({ alg: 'RS256', kid: 'b' }, claims(), B.privateKey), 'ok'],
    ['an ES256 token with kid es', signJws({ alg: 'ES256', kid: 'es' }, claims(), ES.privateKey), 'ok'],
    ['an HS256 token with kid hs and the JWK Set secret', signJws({ alg: 'HS256', kid: 'hs' }, claims(), HS_SECRET), 'ok'],
    ['expired beyond the clock tolerance', rs({ exp: NOW - 31 }), 'token_expired'],
    ['expired within the clock tolerance', rs({ exp: NOW - 29 }), 'ok'],
    ['nbf in the future beyond the tolerance', rs({ nbf: NOW + 31 }), 'token_not_yet_valid'],
    ['nbf in the future within the tolerance', rs({ nbf: NOW + 29 }), 'ok'],
    ['a tampered payload', withForgedPayload(good, claims({ sub: 'admin' })), 'token_signature_invalid'],
    ['a tampered signature', tamperSignature(good), 'token_signature_invalid'],
    ['a signature of another token', `${good.split('.').slice(0, 2).join('.')}.${rs({ sub: 'bob' }).split('.')[2]}`, 'token_signature_invalid'],
    ['kid A but signed by key B', signJws({ alg: 'RS256', kid: KID_A }, claims(), B.privateKey), 'token_signature_invalid'],
    ['alg none with the signing kid', signJws({ alg: 'none', kid: KID_A }, claims(), ''), 'token_algorithm_not_allowed'],
    ['alg none without kid', signJws({ alg: 'none' }, claims(), ''), 'token_algorithm_not_allowed'],
    // With an HS256 secret configured (kid hs) the RSA public key is still never used as an HMAC key.
    ['HS256 signed with the RSA public key, no kid', signJws({ alg: 'HS256' }, claims(), A.publicPem), 'token_signature_invalid'],
    ['HS256 signed with the RSA public key, kid A', signJws({ alg: 'HS256', kid: KID_A }, claims(), A.publicPem), 'token_algorithm_not_allowed'],
    ['HS256 signed with the RSA public key, kid hs', signJws({ alg: 'HS256', kid: 'hs' }, claims(), A.publicPem), 'token_signature_invalid'],
    ['an unknown kid', signJws({ alg: 'RS256', kid: 'nope' }, claims(), A.privateKey), 'token_key_unknown'],
    ['RS256 with the kid of the ES256 key', signJws({ alg: 'RS256', kid: 'es' }, claims(), A.privateKey), 'token_algorithm_not_allowed'],
    ['PS256 with kid A (the key is bound to RS256)', signJws({ alg: 'PS256', kid: KID_A }, claims(), A.privateKey), 'token_algorithm_not_allowed'],
    ['ES384, an algorithm no key has', signJws({ alg: 'ES384' }, claims(), pairFor('ES384').privateKey), 'token_algorithm_not_allowed'],
    ['missing exp (required by default)', rs({ exp: undefined }), 'token_claims_invalid'],
    ['exp as a string', rs({ exp: String(NOW + 600) }), 'token_claims_invalid'],
    ['nbf as a string', rs({ nbf: String(NOW) }), 'token_claims_invalid'],
    ['another issuer', rs({ iss: 'https://evil.example' }), 'token_issuer_unknown'],
    ['no issuer while JWT_ISSUER is set', rs({ iss: undefined }), 'token_claims_invalid'],
    ['another audience', rs({ aud: 'app3' }), 'token_claims_invalid'],
    ['no audience while JWT_AUDIENCE is set', rs({ aud: undefined }), 'token_claims_invalid'],
    ['an audience list containing a configured one', rs({ aud: ['other', 'app2'] }), 'ok'],
    ['sub with a leading space (a distinct name)', rs({ sub: ' alice' }), 'ok'],
    ['sub of spaces only (a distinct name)', rs({ sub: '  ' }), 'ok'],
    ['sub a URI (RFC 7519 StringOrURI)', rs({ sub: 'urn:example:alice' }), 'ok'],
    ['no sub at all (no subject, no identity header)', rs({ sub: undefined }), 'ok'],
    ['sub empty', rs({ sub: '' }), 'token_claims_invalid'],
    ['sub a number (RFC 7519: StringOrURI; 42 and "42" would be one header)', rs({ sub: 42 }), 'token_claims_invalid'],
    ['sub null', rs({ sub: null }), 'token_claims_invalid'],
    ['sub true', rs({ sub: true }), 'token_claims_invalid'],
    ['sub an array', rs({ sub: ['alice'] }), 'token_claims_invalid'],
    ['sub an object', rs({ sub: { name: 'alice' } }), 'token_claims_invalid'],
    ['longer than JWT_MAX_TOKEN_LENGTH', rs({ pad: 'x'.repeat(2048) }), 'token_too_long'],
    ['not a JWT at all', 'hello', 'token_malformed'],
    ['a JWT with an empty signature', `${good.split('.').slice(0, 2).join('.')}.`, 'token_algorithm_not_allowed'],
  ];
  for (const [name, token, expected] of rows) {
    // Asked twice each way: the second answer comes from the caches (fast-jwt's, the remembered
    // refusals, the inspected headers), and the verdict is what /check reads.
    test(`${name} → ${expected}`, () => {
      const answers = [codeOf(verify, token), verdictCodeOf(verify, token), codeOf(verify, token), verdictCodeOf(verify, token)];
      assert.deepEqual(answers, [expected, expected, expected, expected]);
    });
  }

  test('a good token returns its claims', () => {
    assert.deepEqual(claimsOf(verify, good), claims());
  });

  test('a token with an empty sub is refused again once fast-jwt has cached its verification', () => {
    const emptySub = rs({ sub: '' });
    assert.deepEqual([codeOf(verify, emptySub), codeOf(verify, emptySub)], ['token_claims_invalid', 'token_claims_invalid']);
  });

  test('the length limit is checked before anything is decoded', () => {
    assert.equal(codeOf(verify, '.'.repeat(2049)), 'token_too_long');
    assert.equal(codeOf(verify, '.'.repeat(2048)), 'token_malformed');
  });
});

describe('exp is optional only when JWT_REQUIRE_EXP=false', () => {
  test('required → token_claims_invalid', () => {
    const { verify: strict } = setup(files.env('HS256'));
    assert.equal(codeOf(strict, signJws({ alg: 'HS256' }, { sub: 'a' }, files.secret('HS256'))), 'token_claims_invalid');
  });
  test('not required → ok, and an exp present is still enforced', () => {
    const { verify: lax } = setup({ ...files.env('HS256'), JWT_REQUIRE_EXP: 'false' });
    assert.equal(codeOf(lax, signJws({ alg: 'HS256' }, { sub: 'a' }, files.secret('HS256'))), 'ok');
    assert.equal(codeOf(lax, signJws({ alg: 'HS256' }, { sub: 'a', exp: NOW - 3600 }, files.secret('HS256'))), 'token_expired');
  });
});

describe('clock tolerance edges (clockTimestamp, ms)', () => {
  const secret = files.secret('HS256');
  const exp = NOW + 100;
  const nbf = NOW + 100;
  const rows: Array<[name: string, tolerance: string, clockMs: number, payload: Record<string, unknown>, expected: ErrorCode | 'ok']> = [
    ['at exp + tolerance exactly', '30s', exp * 1000 + 30_000, { exp }, 'ok'],
    ['1 ms after exp + tolerance', '30s', exp * 1000 + 30_001, { exp }, 'token_expired'],
    ['at nbf - tolerance exactly', '30s', nbf * 1000 - 30_000, { exp: nbf + 3600, nbf }, 'ok'],
    ['1 ms before nbf - tolerance', '30s', nbf * 1000 - 30_001, { exp: nbf + 3600, nbf }, 'token_not_yet_valid'],
    ['no tolerance, 1 ms after exp', '0', exp * 1000 + 1, { exp }, 'token_expired'],
    ['no tolerance, 1 ms before nbf', '0', nbf * 1000 - 1, { exp: nbf + 3600, nbf }, 'token_not_yet_valid'],
    ['a 5m tolerance, 4m59s after exp', '5m', exp * 1000 + 299_000, { exp }, 'ok'],
    ['a 5m tolerance, 5m1s after exp', '5m', exp * 1000 + 301_000, { exp }, 'token_expired'],
  ];
  for (const [name, tolerance, clockMs, payload, expected] of rows) {
    test(`${name} (JWT_CLOCK_TOLERANCE=${tolerance}) → ${expected}`, () => {
      const { verify: atClock } = setup({ ...files.env('HS256'), JWT_CLOCK_TOLERANCE: tolerance }, clockMs);
      assert.equal(codeOf(atClock, signJws({ alg: 'HS256' }, { sub: 'a', ...payload }, secret)), expected);
    });
  }
});

describe('what the verifier remembers of a token', () => {
  const secret = files.secret('HS256');
  const config = loadConfig({ ...files.env('HS256'), JWT_CLOCK_TOLERANCE: '0' });
  const onWallClock = (): TokenVerifier => createTokenVerifier(config.jwt, staticKeySource(loadKeys(config.jwt)));

  test('a token not yet valid is not remembered as refused: it verifies once its nbf has come', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: NOW * 1000 });
    const verify = onWallClock();
    const early = signJws({ alg: 'HS256' }, { sub: 'a', nbf: NOW + 1, exp: NOW + 600 }, secret);
    assert.deepEqual([verdictCodeOf(verify, early), verdictCodeOf(verify, early)], ['token_not_yet_valid', 'token_not_yet_valid']);
    t.mock.timers.tick(1000);
    assert.equal(verdictCodeOf(verify, early), 'ok');
    assert.equal(codeOf(verify, early), 'ok');
  });

  test('a token that expires while cached as valid is refused from then on', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: NOW * 1000 });
    const verify = onWallClock();
    const brief = signJws({ alg: 'HS256' }, { sub: 'a', exp: NOW + 1 }, secret);
    assert.deepEqual([verdictCodeOf(verify, brief), verdictCodeOf(verify, brief)], ['ok', 'ok']);
    t.mock.timers.tick(1001);
    assert.deepEqual([verdictCodeOf(verify, brief), codeOf(verify, brief)], ['token_expired', 'token_expired']);
  });

  test('a verdict is returned, never thrown, and is the error the throwing side throws', () => {
    const forged = tamperSignature(good);
    const verdict = verify.verdict(forged);
    assert.ok(verdict instanceof AppError && verdict.code === 'token_signature_invalid');
    assert.throws(
      () => verify(forged),
      (error) => error === verdict,
    );
  });

  test("fast-jwt's start-up warning about custom cache keys is not printed (the token itself cannot collide), and only that one", async () => {
    const emitWarning = process.emitWarning;
    const warnings: Array<string | undefined> = [];
    const listen = (warning: Error & { code?: string }): void => void warnings.push(warning.code);
    process.on('warning', listen);
    try {
      onWallClock();
      assert.equal(process.emitWarning, emitWarning, 'process.emitWarning is given back');
      process.emitWarning('another warning', { code: 'SOMETHING_ELSE' });
      await new Promise((resolve) => setImmediate(resolve));
      // Node's own (an ExperimentalWarning for the mocked clock above) may come through as well.
      assert.ok(!warnings.includes('FAST_JWT_CACHE_KEY_BUILDER_SECURITY_RISK'));
      assert.ok(warnings.includes('SOMETHING_ELSE'));
    } finally {
      process.off('warning', listen);
    }
  });
});

// Rotation fixtures (top level: describe callbacks cannot await).
const oldPair = generatePair('ES256');
const newPair = generatePair('ES256');
const publicOf = async (pair: typeof oldPair, kid: string) => ({ ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256' });
// Before: old signs, new is published ahead. After: new signs, old still verifies.
const beforeRotation = {
  ...files.env('ES256', oldPair),
  JWT_KEY_ID: 'old',
  JWT_VERIFY_JWKS_FILE: files.write('before.json', JSON.stringify({ keys: [await publicOf(newPair, 'new')] })),
};
const afterRotation = {
  ...files.env('ES256', newPair),
  JWT_KEY_ID: 'new',
  JWT_VERIFY_JWKS_FILE: files.write('after.json', JSON.stringify({ keys: [await publicOf(oldPair, 'old')] })),
};

describe('rotation: sign with one key, verify with all', () => {
  const signerOf = (env: Record<string, string>) => {
    const config = loadConfig(env);
    return createTokenSigner(config.jwt, loadKeys(config.jwt).signing ?? assert.fail('no signing key'), { now: () => NOW });
  };
  const fromOld = signerOf(beforeRotation)('alice', {}).token;
  const fromNew = signerOf(afterRotation)('alice', {}).token;

  for (const [phase, env] of [
    ['before the switch', beforeRotation],
    ['after the switch', afterRotation],
  ] as const) {
    test(`${phase}, a token of the old key verifies`, () => assert.equal(codeOf(setup(env).verify, fromOld), 'ok'));
    test(`${phase}, a token of the new key verifies`, () => assert.equal(codeOf(setup(env).verify, fromNew), 'ok'));
  }

  test('once the old key is dropped, its tokens are refused as an unknown kid', () => {
    const { verify: newOnly } = setup({ ...files.env('ES256', newPair), JWT_KEY_ID: 'new' });
    assert.equal(codeOf(newOnly, fromOld), 'token_key_unknown');
  });

  test('signed tokens carry the signing kid', () => {
    assert.equal(headerOf(fromNew).kid, 'new');
  });
});

describe('a token without kid is tried against the keys of its alg only', () => {
  const other = generatePair('RS256');
  const rows: Array<[name: string, token: string, expected: ErrorCode | 'ok']> = [
    ['RS256 by the signing key', signJws({ alg: 'RS256' }, claims(), A.privateKey), 'ok'],
    ['RS256 by JWK Set key b', signJws({ alg: 'RS256' }, claims(), B.privateKey), 'ok'],
    ['RS256 by an unconfigured key', signJws({ alg: 'RS256' }, claims(), other.privateKey), 'token_signature_invalid'],
    ['ES256 by the es key', signJws({ alg: 'ES256' }, claims(), ES.privateKey), 'ok'],
    ['HS256 by the hs secret', signJws({ alg: 'HS256' }, claims(), HS_SECRET), 'ok'],
    ['HS256 by the RSA public key (never tried as an RS key)', signJws({ alg: 'HS256' }, claims(), A.publicPem), 'token_signature_invalid'],
    ['PS256 by the signing key (no PS256 key configured)', signJws({ alg: 'PS256' }, claims(), A.privateKey), 'token_algorithm_not_allowed'],
    ['EdDSA (no EdDSA key configured)', signJws({ alg: 'EdDSA' }, claims(), pairFor('EdDSA').privateKey), 'token_algorithm_not_allowed'],
  ];
  for (const [name, token, expected] of rows) {
    test(`${name} → ${expected}`, () => assert.equal(codeOf(verify, token), expected));
  }

  test('an expired token is refused as expired, not retried against other keys as a bad signature', () => {
    assert.equal(codeOf(verify, signJws({ alg: 'RS256' }, claims({ exp: NOW - 3600 }), B.privateKey)), 'token_expired');
  });

  test('without an HS256 key, an HS256 token is not allowed at all', () => {
    const { verify: rsOnly } = setup(files.env('RS256', A));
    assert.equal(codeOf(rsOnly, signJws({ alg: 'HS256' }, claims(), A.publicPem)), 'token_algorithm_not_allowed');
  });
});
