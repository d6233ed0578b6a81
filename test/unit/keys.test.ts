import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { jwkThumbprint, loadKeys, publicJwks, type KeySet } from '../../src/keys.js';
import {
  CERTIFICATE_PEM,
  SUPPORTED_ALGORITHMS,
  KeyFiles,
  generatePair,
  isHmac,
  opensshPublicLine,
  pairFor,
  type AsymmetricAlgorithm,
} from '../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

function keysFor(env: Record<string, string>): KeySet {
  return loadKeys(loadConfig(env).jwt);
}

/** The problems of the ConfigError that loadConfig or loadKeys throws for `env`. */
function keyProblems(env: Record<string, string>): readonly string[] {
  try {
    keysFor(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the keys to be refused');
}

function jwksFile(keys: readonly object[]): string {
  return files.write(`jwks-${Math.random().toString(36).slice(2)}.json`, JSON.stringify({ keys }));
}

/** A public JWK with kid and alg, as an operator would put in JWT_VERIFY_JWKS_FILE. */
async function publicJwk(alg: AsymmetricAlgorithm, kid: string, pair = generatePair(alg)): Promise<JsonWebKey> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg } as JsonWebKey;
}

describe('every supported algorithm loads as a signing key and its verification key', () => {
  for (const alg of SUPPORTED_ALGORITHMS) {
    test(alg, async () => {
      const keys = keysFor(files.env(alg));
      assert.equal(keys.signing?.alg, alg);
      assert.equal(keys.verification.length, 1);
      const [verification] = keys.verification;
      assert.equal(verification?.alg, alg);
      assert.equal(verification?.kid, keys.signing?.kid);
      // The derived kid is the RFC 7638 thumbprint of the (public) key, as jose computes it.
      const jwk = isHmac(alg) ? { kty: 'oct', k: Buffer.from(files.secret(alg)).toString('base64url') } : await exportJWK(pairFor(alg).publicKey);
      assert.equal(verification?.kid, await calculateJwkThumbprint(jwk));
    });
  }
});

describe('PEM keys', () => {
  test('JWT_KEY_ID replaces the derived kid on the signing and verification key', () => {
    const keys = keysFor({ ...files.env('ES256'), JWT_KEY_ID: '2024-06' });
    assert.equal(keys.signing?.kid, '2024-06');
    assert.deepEqual(
      keys.verification.map((key) => key.kid),
      ['2024-06'],
    );
  });

  test('a public key alone is a verify-only setup: no signing key', () => {
    const keys = keysFor({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY_FILE: files.write('verify-only.pem', pairFor('RS256').publicPem) });
    assert.equal(keys.signing, undefined);
    assert.equal(keys.verification.length, 1);
  });

  test('a private key and its own public key are one verification key', () => {
    const pair = pairFor('ES384');
    const keys = keysFor({ ...files.env('ES384', pair), JWT_PUBLIC_KEY_FILE: files.write('twin.pem', pair.publicPem) });
    assert.equal(keys.verification.length, 1);
  });

  test('a private key and another public key are two verification keys (rotation)', () => {
    const keys = keysFor({ ...files.env('ES256'), JWT_PUBLIC_KEY_FILE: files.write('other.pem', generatePair('ES256').publicPem) });
    assert.equal(keys.verification.length, 2);
    assert.notEqual(keys.verification[0]?.kid, keys.verification[1]?.kid);
  });

  test('an RSA-PSS-restricted key is refused with a clear reason (it has no JWK form to publish)', () => {
    const { privateKey } = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    const path = files.write('pss.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const problems = keyProblems({ JWT_ALGORITHM: 'PS256', JWT_PRIVATE_KEY_FILE: path });
    assert.ok(
      problems.some((problem) => problem.includes('PS256 needs an RSA key') && problem.includes('rsa-pss')),
      problems.join('\n'),
    );
  });

  test('garbage in a PEM file is refused, naming the variable', () => {
    const problems = keyProblems({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: files.write('garbage.pem', 'not a key') });
    assert.ok(
      problems.some((problem) => problem.startsWith('JWT_PRIVATE_KEY_FILE:')),
      problems.join('\n'),
    );
  });
});

describe("a key file of the wrong kind is refused with what to do, never OpenSSL's reason", () => {
  const es = pairFor('ES256');
  const ed = pairFor('EdDSA');
  const jwk = JSON.stringify(es.publicKey.export({ format: 'jwk' }));
  const encrypted = es.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString();
  const rows: Array<[variable: 'JWT_PRIVATE_KEY_FILE' | 'JWT_PUBLIC_KEY_FILE', alg: AsymmetricAlgorithm, name: string, content: string, expected: RegExp]> = [
    ['JWT_PRIVATE_KEY_FILE', 'ES256', 'a public key', es.publicPem, /this is a public key .*set it as JWT_PUBLIC_KEY_FILE for a verify-only setup/],
    ['JWT_PRIVATE_KEY_FILE', 'EdDSA', 'a certificate', CERTIFICATE_PEM, /this is a public key \(or certificate\).*JWT_PUBLIC_KEY_FILE/],
    ['JWT_PRIVATE_KEY_FILE', 'ES256', 'an encrypted PKCS#8 key', encrypted, /encrypted .*openssl pkey/],
    [
      'JWT_PRIVATE_KEY_FILE',
      'RS256',
      'a legacy encrypted RSA key',
      pairFor('RS256').privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'secret' }).toString(),
      /encrypted/,
    ],
    [
      'JWT_PRIVATE_KEY_FILE',
      'EdDSA',
      'an OpenSSH private key',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      /OpenSSH private key.*ssh-keygen -p -m PKCS8/,
    ],
    ['JWT_PRIVATE_KEY_FILE', 'ES256', 'a JWK', jwk, /not a PEM private key .*got a JWK/],
    [
      'JWT_PRIVATE_KEY_FILE',
      'ES256',
      'a PEM block that does not parse',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      /"PRIVATE KEY" block that does not parse/,
    ],
    [
      'JWT_PRIVATE_KEY_FILE',
      'ES256',
      'text',
      'not a key',
      /not a PEM private key \(expected -----BEGIN PRIVATE KEY-----\): make a pair with `node dist\/src\/cli\.js keygen --alg ES256`/,
    ],
    [
      'JWT_PUBLIC_KEY_FILE',
      'ES256',
      'a PKCS#8 private key',
      es.privatePem,
      /this is a private key, and a verify-only setup must not hold one: .*-pubout.*JWT_PRIVATE_KEY_FILE/,
    ],
    ['JWT_PUBLIC_KEY_FILE', 'ES256', 'a SEC1 EC private key', es.privateKey.export({ type: 'sec1', format: 'pem' }).toString(), /this is a private key/],
    ['JWT_PUBLIC_KEY_FILE', 'ES256', 'an encrypted private key', encrypted, /this is a private key/],
    ['JWT_PUBLIC_KEY_FILE', 'ES256', 'a certificate followed by its private key', `${CERTIFICATE_PEM}${es.privatePem}`, /this is a private key/],
    [
      'JWT_PUBLIC_KEY_FILE',
      'EdDSA',
      'an OpenSSH public key',
      opensshPublicLine(ed.publicKey),
      /an OpenSSH public key, which node cannot read: .*ssh-keygen -e -m PKCS8/,
    ],
    ['JWT_PUBLIC_KEY_FILE', 'ES256', 'a JWK', jwk, /a JWK: list JWKs, each with kid and alg, in JWT_VERIFY_JWKS_FILE/],
    ['JWT_PUBLIC_KEY_FILE', 'ES256', 'text', 'not a key', /not a PEM public key \(expected -----BEGIN PUBLIC KEY-----\)/],
  ];
  for (const [variable, alg, name, content, expected] of rows) {
    test(`${name} as ${variable}`, () => {
      const problems = keyProblems({ JWT_ALGORITHM: alg, [variable]: files.write(`${variable}-${name.replace(/\W+/g, '-')}.pem`, content) });
      assert.equal(problems.length, 1, problems.join('\n'));
      const [problem = ''] = problems;
      assert.ok(problem.startsWith(`${variable}: `), problem);
      assert.match(problem, expected);
      assert.doesNotMatch(problem, /routines|error:[0-9A-F]{8}/, "OpenSSL's reason leaked into the message");
    });
  }

  test('a certificate as JWT_PUBLIC_KEY_FILE is read as its public key', () => {
    const keys = keysFor({ JWT_ALGORITHM: 'EdDSA', JWT_PUBLIC_KEY_FILE: files.write('certificate.pem', CERTIFICATE_PEM) });
    assert.equal(keys.signing, undefined);
    assert.equal(keys.verification[0]?.alg, 'EdDSA');
  });
});

describe('a key of the wrong type for the algorithm is refused', () => {
  const rows: Array<[alg: AsymmetricAlgorithm, keyOf: AsymmetricAlgorithm, description: string]> = [
    ['RS256', 'ES256', 'an EC key'],
    ['RS384', 'EdDSA', 'an Ed25519 key'],
    ['PS256', 'ES256', 'an EC key'],
    ['ES256', 'ES384', 'a P-384 key'],
    ['ES384', 'ES256', 'a P-256 key'],
    ['ES256', 'RS256', 'an RSA key'],
    ['EdDSA', 'ES256', 'an EC key'],
    ['EdDSA', 'RS256', 'an RSA key'],
  ];
  for (const [alg, keyOf, description] of rows) {
    test(`${alg} with ${description} as JWT_PRIVATE_KEY_FILE`, () => {
      const problems = keyProblems({ JWT_ALGORITHM: alg, JWT_PRIVATE_KEY_FILE: files.write(`${alg}-${keyOf}.pem`, pairFor(keyOf).privatePem) });
      assert.ok(
        problems.some((problem) => problem.startsWith('JWT_PRIVATE_KEY_FILE:') && problem.includes(alg)),
        problems.join('\n'),
      );
    });
    test(`${alg} with ${description} as JWT_PUBLIC_KEY_FILE`, () => {
      const problems = keyProblems({ JWT_ALGORITHM: alg, JWT_PUBLIC_KEY_FILE: files.write(`${alg}-${keyOf}.pub.pem`, pairFor(keyOf).publicPem) });
      assert.ok(
        problems.some((problem) => problem.startsWith('JWT_PUBLIC_KEY_FILE:')),
        problems.join('\n'),
      );
    });
  }

  test('RSA keys below 2048 bits are refused', () => {
    const weak = generatePair('RS256', 1024);
    const problems = keyProblems({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: files.write('rsa-1024.pem', weak.privatePem) });
    assert.ok(
      problems.some((problem) => problem.includes('2048')),
      problems.join('\n'),
    );
  });

  test('RSA keys below 2048 bits are refused in a JWK Set too', async () => {
    const weak = generatePair('RS256', 1024);
    const problems = keyProblems({ ...files.env('RS256'), JWT_VERIFY_JWKS_FILE: jwksFile([await publicJwk('RS256', 'weak', weak)]) });
    assert.ok(
      problems.some((problem) => problem.includes('"weak"') && problem.includes('2048')),
      problems.join('\n'),
    );
  });

  test('an RSA key of exactly 2048 bits is accepted', () => {
    assert.equal(keysFor(files.env('RS256', generatePair('RS256', 2048))).signing?.alg, 'RS256');
  });
});

describe('JWT_VERIFY_JWKS_FILE', () => {
  test('adds keys selected by their kid, each bound to its own alg (rotation across algorithms)', async () => {
    const jwks = jwksFile([
      await publicJwk('ES256', 'old-es'),
      await publicJwk('RS256', 'old-rs'),
      { kty: 'oct', k: Buffer.alloc(48, 7).toString('base64url'), kid: 'old-hs', alg: 'HS384' },
    ]);
    const keys = keysFor({ ...files.env('EdDSA'), JWT_KEY_ID: 'current', JWT_VERIFY_JWKS_FILE: jwks });
    assert.deepEqual(
      keys.verification.map((key) => [key.kid, key.alg]),
      [
        ['current', 'EdDSA'],
        ['old-es', 'ES256'],
        ['old-rs', 'RS256'],
        ['old-hs', 'HS384'],
      ],
    );
    assert.equal(keys.signing?.kid, 'current');
  });

  const badSets: Array<[name: string, content: () => Promise<string>, expected: RegExp]> = [
    ['not JSON', async () => '{"keys": [', /not valid JSON/],
    ['not a JWK Set', async () => '[]', /JWK Set/],
    ['a key without kid', async () => JSON.stringify({ keys: [{ ...(await publicJwk('ES256', 'x')), kid: undefined }] }), /key 0 needs a "kid"/],
    ['a key without alg', async () => JSON.stringify({ keys: [{ ...(await publicJwk('ES256', 'x')), alg: undefined }] }), /key 0 needs .*"alg"/],
    ['a key with alg none', async () => JSON.stringify({ keys: [{ ...(await publicJwk('ES256', 'x')), alg: 'none' }] }), /key 0 needs/],
    [
      'a key whose alg does not fit it',
      async () => JSON.stringify({ keys: [{ ...(await publicJwk('ES256', 'x')), alg: 'RS256' }] }),
      /key "x": RS256 needs an RSA key/,
    ],
    [
      'an oct key for an asymmetric alg',
      async () => JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.alloc(64).toString('base64url'), kid: 'x', alg: 'RS256' }] }),
      /key "x"/,
    ],
    [
      'an oct key whose bytes are a PEM public key',
      async () => JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from(pairFor('RS256').publicPem).toString('base64url'), kid: 'x', alg: 'HS256' }] }),
      /key "x": its "k" holds PEM text .*could sign HS256 tokens .*RSA, EC or OKP JWK/,
    ],
    [
      'an oct key whose bytes are an OpenSSH public key',
      async () =>
        JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from(opensshPublicLine(pairFor('EdDSA').publicKey)).toString('base64url'), kid: 'x', alg: 'HS512' }] }),
      /key "x": its "k" holds an OpenSSH public key/,
    ],
    [
      'an oct key shorter than its hash',
      async () => JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.alloc(31).toString('base64url'), kid: 'x', alg: 'HS256' }] }),
      /key "x": HS256 needs at least 32 bytes/,
    ],
  ];
  for (const [name, content, expected] of badSets) {
    test(`${name} is refused, naming JWT_VERIFY_JWKS_FILE`, async () => {
      const problems = keyProblems({ ...files.env('ES256'), JWT_VERIFY_JWKS_FILE: files.write(`bad-${name.replace(/\W+/g, '-')}.json`, await content()) });
      assert.ok(
        problems.some((problem) => problem.startsWith('JWT_VERIFY_JWKS_FILE') && expected.test(problem)),
        problems.join('\n'),
      );
    });
  }

  test('a duplicate kid with different material is refused', async () => {
    const jwks = jwksFile([await publicJwk('ES256', 'same'), await publicJwk('ES256', 'same')]);
    const problems = keyProblems({ ...files.env('ES256'), JWT_VERIFY_JWKS_FILE: jwks });
    assert.ok(
      problems.some((problem) => problem.includes('share kid "same"')),
      problems.join('\n'),
    );
  });

  test("a JWKS key reusing the signing key's kid with other material is refused", async () => {
    const problems = keyProblems({ ...files.env('ES256'), JWT_KEY_ID: 'k1', JWT_VERIFY_JWKS_FILE: jwksFile([await publicJwk('ES256', 'k1')]) });
    assert.ok(
      problems.some((problem) => problem.includes('share kid "k1"')),
      problems.join('\n'),
    );
  });

  test('a duplicate kid with the same material but another alg is refused', async () => {
    const pair = generatePair('RS256');
    const problems = keyProblems({
      ...files.env('ES256'),
      JWT_VERIFY_JWKS_FILE: jwksFile([await publicJwk('RS256', 'r', pair), await publicJwk('PS256', 'r', pair)]),
    });
    assert.ok(
      problems.some((problem) => problem.includes('share kid "r"')),
      problems.join('\n'),
    );
  });

  test('the same key listed twice under one kid is accepted once', async () => {
    const pair = generatePair('ES256');
    const keys = keysFor({
      ...files.env('ES256'),
      JWT_VERIFY_JWKS_FILE: jwksFile([await publicJwk('ES256', 'dup', pair), await publicJwk('ES256', 'dup', pair)]),
    });
    assert.deepEqual(keys.verification.filter((key) => key.kid === 'dup').length, 1);
  });

  test('every bad key of a set is reported at once', async () => {
    const jwks = jwksFile([{ kty: 'EC' }, await publicJwk('ES256', 'ok'), { ...(await publicJwk('ES256', 'y')), alg: 'ES384' }]);
    const problems = keyProblems({ ...files.env('ES256'), JWT_VERIFY_JWKS_FILE: jwks });
    assert.equal(problems.length, 2, problems.join('\n'));
  });
});

describe('derived kid (RFC 7638)', () => {
  const jwks: Array<[string, () => Promise<JsonWebKey>]> = [
    ['RSA', async () => (await exportJWK(pairFor('RS256').publicKey)) as JsonWebKey],
    ['EC P-256', async () => (await exportJWK(pairFor('ES256').publicKey)) as JsonWebKey],
    ['EC P-384', async () => (await exportJWK(pairFor('ES384').publicKey)) as JsonWebKey],
    ['OKP Ed25519', async () => (await exportJWK(pairFor('EdDSA').publicKey)) as JsonWebKey],
    ['oct', async () => ({ kty: 'oct', k: Buffer.from('a'.repeat(32)).toString('base64url') })],
  ];
  for (const [name, make] of jwks) {
    test(`jwkThumbprint equals jose's calculateJwkThumbprint for ${name}`, async () => {
      const jwk = await make();
      assert.equal(jwkThumbprint(jwk), await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0]));
    });
  }

  test("the RFC 7638 §3.1 example key has the RFC's thumbprint", () => {
    const jwk = {
      kty: 'RSA',
      n:
        '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9y' +
        'BXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0' +
        'fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    assert.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  test('the derived kid does not depend on how the PEM was written', () => {
    const pair = pairFor('ES256');
    const pkcs8 = keysFor(files.env('ES256', pair));
    const sec1 = keysFor({
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY_FILE: files.write('sec1.pem', pair.privateKey.export({ type: 'sec1', format: 'pem' }).toString()),
    });
    assert.equal(pkcs8.signing?.kid, sec1.signing?.kid);
  });
});

describe('publicJwks', () => {
  const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

  for (const alg of ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const) {
    test(`${alg}: the public key only, with kid, alg and use`, () => {
      const keys = keysFor(files.env(alg));
      const { keys: published } = publicJwks(keys);
      assert.equal(published.length, 1);
      const [jwk] = published;
      for (const member of PRIVATE_MEMBERS) assert.equal(jwk?.[member], undefined, `${member} published`);
      assert.equal(jwk?.kid, keys.signing?.kid);
      assert.equal(jwk?.alg, alg);
      assert.equal(jwk?.use, 'sig');
      // And it is the right public key.
      const published_ = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      assert.ok(published_.equals(pairFor(alg).publicKey));
    });
  }

  test('a private JWK in JWT_VERIFY_JWKS_FILE is published without its private members', async () => {
    const pair = generatePair('ES256');
    const privateJwk = { ...(await exportJWK(pair.privateKey)), kid: 'leaky', alg: 'ES256' };
    const keys = keysFor({ ...files.env('ES256'), JWT_VERIFY_JWKS_FILE: jwksFile([privateJwk]) });
    const leaky = publicJwks(keys).keys.find((jwk) => jwk.kid === 'leaky');
    assert.ok(leaky);
    assert.equal(leaky.d, undefined);
  });

  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    test(`${alg}: empty`, () => {
      assert.deepEqual(publicJwks(keysFor(files.env(alg))), { keys: [] });
    });
  }

  test('HMAC keys from a JWK Set are never published', async () => {
    const jwks = jwksFile([{ kty: 'oct', k: Buffer.alloc(32, 1).toString('base64url'), kid: 'hs', alg: 'HS256' }, await publicJwk('ES256', 'es')]);
    const published = publicJwks(keysFor({ ...files.env('RS256'), JWT_VERIFY_JWKS_FILE: jwks })).keys;
    assert.deepEqual(published.map((jwk) => jwk.kid).sort(), ['es', keysFor(files.env('RS256', pairFor('RS256'))).signing?.kid].sort());
  });
});

describe('the key set', () => {
  test('is frozen', () => {
    const keys = keysFor(files.env('ES256'));
    assert.ok(Object.isFrozen(keys));
    assert.ok(Object.isFrozen(keys.verification));
  });

  test('without any key material it is empty: a verify-only service, which the config allows only beside an identity provider', () => {
    const jwt = { ...loadConfig(files.env('HS256')).jwt, secret: undefined };
    assert.deepEqual(loadKeys(jwt), { signing: undefined, verification: [] });
  });

  test('a JWK Set file without keys is refused', () => {
    const jwt = { ...loadConfig(files.env('HS256')).jwt, secret: undefined, verifyJwks: '{"keys": []}' };
    assert.throws(
      () => loadKeys(jwt),
      (error: unknown) => error instanceof ConfigError && error.problems.some((problem) => problem.includes('no verification key')),
    );
  });
});
