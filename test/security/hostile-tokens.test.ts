/**
 * Hostile tokens and requests at /check: every row is a deny with its reason code — the
 * operator's unauthenticated status (403, or 401 in RFC 6750 mode) — never a 200 and never a 5xx, which
 * nginx would turn into its own 500. Tokens that carry a valid signature by the configured key are
 * signed over exactly the bytes shown, so each row tests the rule it names and not merely the signature.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { b64url, signJws, signSegments } from '../../support/jws.js';
import { KeyFiles } from '../../support/keys.js';
import { rawCheck, rawHeader, rawRequest, type RawReply } from '../../support/raw-http.js';
import { containsToken, startApp, startHttpStub, now, type App, type Stub } from './support.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const RSA_KID = 'rsa-1';
const EC_KID = 'ec-1';
/** The order of the P-256 group: r = s = n is as invalid as r = s = 0. */
const P256_N = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');

const exp = now() + 3600;
const claims = { sub: 'alice', roles: ['user'], exp };
const rsaHeader = { alg: 'RS256', typ: 'JWT', kid: RSA_KID };

/** A token signed by the configured RSA key over the given header and payload (objects or raw JSON). */
const byRsa = (header: Readonly<Record<string, unknown>> | string, payload: Readonly<Record<string, unknown>> | string | Buffer): string =>
  signJws(header, payload, rsa.privateKey);

const validRsa = byRsa(rsaHeader, claims);
const validEc = signJws({ alg: 'ES256', typ: 'JWT', kid: EC_KID }, claims, ec.privateKey);

/** The segment with its unused low bits set: decodes to the same bytes, but is not the canonical spelling. */
function withSpareBits(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  if (segment.length % 4 === 0) throw new Error('segment has no spare bits');
  const last = alphabet.indexOf(segment.at(-1) as string);
  return segment.slice(0, -1) + (alphabet[last | 1] as string);
}

/** The canonical encoding of `value` plus a `pad` member sized so the segment has spare bits. */
function encodedWithSpareBits(value: Readonly<Record<string, unknown>>): string {
  for (let pad = 0; ; pad++) {
    const segment = b64url({ ...value, pad: 'x'.repeat(pad) });
    if (segment.length % 4 !== 0) return segment;
  }
}

/** The standard-alphabet (+ /) spelling of a base64url segment; throws if it has neither - nor _. */
function standardBase64(segment: string): string {
  if (!/[-_]/.test(segment)) throw new Error('segment reads the same in both alphabets');
  return segment.replace(/-/g, '+').replace(/_/g, '/');
}

function padded(segment: string): string {
  return segment + '='.repeat((4 - (segment.length % 4)) % 4 || 4);
}

const signatureOf = (token: string): string => token.split('.')[2] as string;
const inputOf = (token: string): string => token.split('.').slice(0, 2).join('.');

interface Row {
  readonly name: string;
  /** The Authorization value (default), or the raw header lines to send instead. */
  readonly token?: string;
  readonly lines?: readonly string[];
  /** The X-Auth-Error the deny must carry (request_malformed when node's parser refuses the request). */
  readonly code: string;
}

/** Rows that need the attacker's listener port (jku / x5u). */
function hostileRows(listenerUrl: string): Row[] {
  const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const rsaPkcs1Pem = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const rsaDer = rsa.publicKey.export({ type: 'spki', format: 'der' });
  const rsaJwk = JSON.stringify({ ...rsa.publicKey.export({ format: 'jwk' }), kid: RSA_KID, alg: 'RS256' });
  const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const ecDer = ec.publicKey.export({ type: 'spki', format: 'der' });
  const ecJwk = JSON.stringify({ ...ec.publicKey.export({ format: 'jwk' }), kid: EC_KID, alg: 'ES256' });
  const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'RS256' };
  const attackerDer = attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const admin = { sub: 'admin', roles: ['admin'], exp };
  const byAttacker = (header: Readonly<Record<string, unknown>>): string => signJws(header, admin, attacker.privateKey);
  const unsigned = (alg: string): string => `${b64url({ alg, typ: 'JWT' })}.${b64url(admin)}.`;
  const ecInput = `${b64url({ alg: 'ES256', typ: 'JWT', kid: EC_KID })}.${b64url(admin)}`;
  const rsaSignature = signatureOf(validRsa);
  const slashy = byRsa(rsaHeader, { ...claims, note: '???>>>' });

  return [
    // alg none in any letter case, with and without a signature (RFC 7515 §A.5; RFC 8725 §3.1).
    ...['none', 'None', 'NONE', 'nOnE'].flatMap((alg): Row[] => [
      { name: `alg ${alg}, empty signature`, token: unsigned(alg), code: 'token_algorithm_not_allowed' },
      { name: `alg ${alg}, with a signature`, token: unsigned(alg) + rsaSignature, code: 'token_algorithm_not_allowed' },
      { name: `alg ${alg} naming the configured kid`, token: `${b64url({ alg, kid: RSA_KID })}.${b64url(admin)}.`, code: 'token_algorithm_not_allowed' },
    ]),
    { name: 'no alg at all', token: `${b64url({ typ: 'JWT' })}.${b64url(admin)}.${rsaSignature}`, code: 'token_malformed' },

    // Algorithm confusion: HMAC keyed with the verifier's own public key (RFC 8725 §2.1).
    { name: 'HS256 keyed with the RSA public key as SPKI PEM', token: signJws({ alg: 'HS256' }, admin, rsaPublicPem), code: 'token_algorithm_not_allowed' },
    {
      name: 'HS256 keyed with the RSA public key as SPKI PEM, configured kid',
      token: signJws({ alg: 'HS256', kid: RSA_KID }, admin, rsaPublicPem),
      code: 'token_algorithm_not_allowed',
    },
    { name: 'HS256 keyed with the RSA public key as PKCS#1 PEM', token: signJws({ alg: 'HS256' }, admin, rsaPkcs1Pem), code: 'token_algorithm_not_allowed' },
    { name: 'HS256 keyed with the RSA public key as DER', token: signJws({ alg: 'HS256' }, admin, rsaDer), code: 'token_algorithm_not_allowed' },
    { name: 'HS256 keyed with the RSA public key as JWK', token: signJws({ alg: 'HS256', kid: RSA_KID }, admin, rsaJwk), code: 'token_algorithm_not_allowed' },
    {
      name: 'HS256 keyed with the EC public key as SPKI PEM',
      token: signJws({ alg: 'HS256', kid: EC_KID }, admin, ecPem),
      code: 'token_algorithm_not_allowed',
    },
    { name: 'HS256 keyed with the EC public key as DER', token: signJws({ alg: 'HS256' }, admin, ecDer), code: 'token_algorithm_not_allowed' },
    { name: 'HS256 keyed with the EC public key as JWK', token: signJws({ alg: 'HS256' }, admin, ecJwk), code: 'token_algorithm_not_allowed' },
    { name: 'HS512 keyed with the RSA public key as SPKI PEM', token: signJws({ alg: 'HS512' }, admin, rsaPublicPem), code: 'token_algorithm_not_allowed' },
    { name: 'RS256 header on the ES256 key', token: signJws({ alg: 'RS256', kid: EC_KID }, admin, attacker.privateKey), code: 'token_algorithm_not_allowed' },

    // kid is a lookup key in our own table, never a path or a query.
    {
      name: 'kid ../../dev/null, HS256 with an empty key',
      token: signJws({ alg: 'HS256', kid: '../../dev/null' }, admin, Buffer.alloc(0)),
      code: 'token_key_unknown',
    },
    { name: 'kid ../../dev/null, RS256', token: signJws({ alg: 'RS256', kid: '../../dev/null' }, admin, attacker.privateKey), code: 'token_key_unknown' },
    { name: "kid ' OR 1=1 --", token: signJws({ alg: 'RS256', kid: "' OR 1=1 --" }, admin, attacker.privateKey), code: 'token_key_unknown' },
    { name: 'kid as a number', token: signJws({ alg: 'RS256', kid: 1 }, admin, attacker.privateKey), code: 'token_malformed' },
    { name: 'kid as an object', token: signJws({ alg: 'RS256', kid: { $ne: '' } }, admin, attacker.privateKey), code: 'token_malformed' },

    // Key-carrying headers: never fetched, never trusted (RFC 8725 §3.10).
    { name: 'jku to the attacker JWKS, no kid', token: byAttacker({ alg: 'RS256', jku: `${listenerUrl}/jwks.json` }), code: 'token_signature_invalid' },
    {
      name: 'jku to the attacker JWKS, attacker kid',
      token: byAttacker({ alg: 'RS256', kid: 'attacker', jku: `${listenerUrl}/jwks.json` }),
      code: 'token_key_unknown',
    },
    {
      name: 'jku to the attacker JWKS, configured kid',
      token: byAttacker({ alg: 'RS256', kid: RSA_KID, jku: `${listenerUrl}/jwks.json` }),
      code: 'token_signature_invalid',
    },
    { name: 'x5u to the attacker certificate', token: byAttacker({ alg: 'RS256', x5u: `${listenerUrl}/cert.pem` }), code: 'token_signature_invalid' },
    {
      name: 'x5u to the attacker certificate, configured kid',
      token: byAttacker({ alg: 'RS256', kid: RSA_KID, x5u: `${listenerUrl}/cert.pem` }),
      code: 'token_signature_invalid',
    },
    { name: 'jwk embedding the attacker key', token: byAttacker({ alg: 'RS256', jwk: attackerJwk }), code: 'token_signature_invalid' },
    {
      name: 'jwk embedding the attacker key, configured kid',
      token: byAttacker({ alg: 'RS256', kid: RSA_KID, jwk: attackerJwk }),
      code: 'token_signature_invalid',
    },
    { name: 'x5c carrying the attacker key', token: byAttacker({ alg: 'RS256', x5c: [attackerDer] }), code: 'token_signature_invalid' },

    // Extensions we do not implement, signed by the configured key (RFC 7515 §4.1.11, RFC 7797).
    {
      name: 'crit naming an unknown extension',
      token: byRsa({ ...rsaHeader, crit: ['urn:example:ext'], 'urn:example:ext': true }, claims),
      code: 'token_header_invalid',
    },
    { name: 'crit as an empty list', token: byRsa({ ...rsaHeader, crit: [] }, claims), code: 'token_header_invalid' },
    { name: 'crit naming exp', token: byRsa({ ...rsaHeader, crit: ['exp'] }, claims), code: 'token_header_invalid' },
    { name: 'b64 false with crit b64', token: byRsa({ ...rsaHeader, b64: false, crit: ['b64'] }, claims), code: 'token_header_invalid' },
    { name: 'b64 false without crit', token: byRsa({ ...rsaHeader, b64: false }, claims), code: 'token_header_invalid' },
    {
      name: 'b64 false, unencoded payload',
      token: `${b64url({ ...rsaHeader, b64: false, crit: ['b64'] })}.{"sub":"admin"}.${rsaSignature}`,
      code: 'token_malformed',
    },

    // ECDSA "psychic signatures" (CVE-2022-21449) and other out-of-range values.
    { name: 'ES256 with r = s = 0', token: `${ecInput}.${b64url(Buffer.alloc(64))}`, code: 'token_signature_invalid' },
    {
      name: 'ES256 with r = s = 0, no kid',
      token: `${b64url({ alg: 'ES256' })}.${b64url(admin)}.${b64url(Buffer.alloc(64))}`,
      code: 'token_signature_invalid',
    },
    { name: 'ES256 with r = s = n', token: `${ecInput}.${b64url(Buffer.concat([P256_N, P256_N]))}`, code: 'token_signature_invalid' },
    { name: 'ES256 with a DER-encoded zero signature', token: `${ecInput}.${b64url(Buffer.from('3006020100020100', 'hex'))}`, code: 'token_signature_invalid' },
    { name: 'ES256 with an empty signature', token: `${ecInput}.`, code: 'token_algorithm_not_allowed' },

    // One token, one spelling: non-canonical base64url signed over exactly those characters.
    {
      name: 'header with spare bits set',
      token: signSegments('RS256', withSpareBits(encodedWithSpareBits(rsaHeader)), b64url(claims), rsa.privateKey),
      code: 'token_malformed',
    },
    {
      name: 'payload with spare bits set',
      token: signSegments('RS256', b64url(rsaHeader), withSpareBits(encodedWithSpareBits(claims)), rsa.privateKey),
      code: 'token_malformed',
    },
    { name: 'signature with spare bits set', token: `${inputOf(validRsa)}.${withSpareBits(rsaSignature)}`, code: 'token_malformed' },
    { name: 'header with = padding', token: signSegments('RS256', padded(b64url(rsaHeader)), b64url(claims), rsa.privateKey), code: 'token_malformed' },
    { name: 'payload with = padding', token: signSegments('RS256', b64url(rsaHeader), padded(b64url(claims)), rsa.privateKey), code: 'token_malformed' },
    { name: 'signature with = padding', token: `${inputOf(validRsa)}.${padded(rsaSignature)}`, code: 'token_malformed' },
    {
      name: 'payload with + and / (standard base64)',
      token: (() => {
        const [header, payload] = slashy.split('.') as [string, string];
        return signSegments('RS256', header, standardBase64(payload), rsa.privateKey);
      })(),
      code: 'token_malformed',
    },
    { name: 'signature with + and / (standard base64)', token: `${inputOf(validRsa)}.${standardBase64(rsaSignature)}`, code: 'token_malformed' },
    {
      name: 'signature of length 1 mod 4',
      token: `${inputOf(validRsa)}.${rsaSignature}${'A'.repeat((((1 - rsaSignature.length) % 4) + 4) % 4 || 4)}`,
      code: 'token_malformed',
    },
    { name: 'four segments', token: `${validRsa}.${rsaSignature}`, code: 'token_malformed' },
    { name: 'two segments', token: inputOf(validRsa), code: 'token_malformed' },
    { name: 'empty header segment', token: `.${b64url(claims)}.${rsaSignature}`, code: 'token_malformed' },

    // Duplicate member names: JSON.parse keeps the last one; the issuer may have meant the first.
    { name: 'header with two alg (none, then RS256)', token: byRsa(`{"alg":"none","alg":"RS256","kid":"${RSA_KID}"}`, claims), code: 'token_malformed' },
    { name: 'header with two kid', token: byRsa(`{"alg":"RS256","kid":"other","kid":"${RSA_KID}"}`, claims), code: 'token_malformed' },
    { name: 'payload with two sub, the second an admin', token: byRsa(rsaHeader, `{"sub":"alice","sub":"admin","exp":${exp}}`), code: 'token_malformed' },
    { name: 'payload with sub and an escaped \\u0073ub', token: byRsa(rsaHeader, `{"sub":"alice","\\u0073ub":"admin","exp":${exp}}`), code: 'token_malformed' },
    { name: 'payload with two exp', token: byRsa(rsaHeader, `{"sub":"alice","exp":1,"exp":${exp}}`), code: 'token_malformed' },
    {
      name: 'payload with a nested duplicate',
      token: byRsa(rsaHeader, `{"sub":"alice","exp":${exp},"org":{"role":"user","role":"admin"}}`),
      code: 'token_malformed',
    },

    // Invalid UTF-8 (RFC 7519 §7.2 step 10: a completely valid UTF-8 JSON object).
    {
      name: 'header with a 0xff byte',
      token: signSegments(
        'RS256',
        b64url(Buffer.concat([Buffer.from(`{"alg":"RS256","kid":"${RSA_KID}","x":"`), Buffer.from([0xff]), Buffer.from('"}')])),
        b64url(claims),
        rsa.privateKey,
      ),
      code: 'token_malformed',
    },
    {
      name: 'payload with a truncated sequence',
      token: byRsa(rsaHeader, Buffer.concat([Buffer.from('{"sub":"al'), Buffer.from([0xc3, 0x28]), Buffer.from(`ice","exp":${exp}}`)])),
      code: 'token_malformed',
    },
    {
      name: 'payload with an overlong /',
      token: byRsa(rsaHeader, Buffer.concat([Buffer.from('{"sub":"..'), Buffer.from([0xc0, 0xaf]), Buffer.from(`","exp":${exp}}`)])),
      code: 'token_malformed',
    },
    {
      name: 'payload with an encoded surrogate',
      token: byRsa(rsaHeader, Buffer.concat([Buffer.from('{"sub":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(`","exp":${exp}}`)])),
      code: 'token_malformed',
    },
    {
      name: 'payload with a UTF-8 BOM',
      token: byRsa(rsaHeader, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(claims))])),
      code: 'token_malformed',
    },
    { name: 'payload that is a JSON array', token: byRsa(rsaHeader, '[{"sub":"admin"}]'), code: 'token_malformed' },
    { name: 'payload that is JSON null', token: byRsa(rsaHeader, 'null'), code: 'token_malformed' },

    // exp / nbf of the wrong type (RFC 7519 §4.1.4: a NumericDate), all signed by the configured key.
    ...(
      [
        ['exp as a string', `"${exp}"`],
        ['exp as null', 'null'],
        ['exp as an array', `[${exp}]`],
        ['exp as an object', `{"value":${exp}}`],
        ['exp as true', 'true'],
        ['exp as "NaN"', '"NaN"'],
        ['exp as 1e999 (Infinity)', '1e999'],
      ] as const
    ).map(([name, value]): Row => ({ name, token: byRsa(rsaHeader, `{"sub":"admin","exp":${value}}`), code: 'token_claims_invalid' })),
    ...(
      [
        ['nbf as a string', '"0"'],
        ['nbf as null', 'null'],
        ['nbf as an array', '[0]'],
        ['nbf as -1e999 (-Infinity)', '-1e999'],
      ] as const
    ).map(([name, value]): Row => ({ name, token: byRsa(rsaHeader, `{"sub":"admin","exp":${exp},"nbf":${value}}`), code: 'token_claims_invalid' })),
    { name: 'nbf as 1e999 (never valid)', token: byRsa(rsaHeader, `{"sub":"admin","exp":${exp},"nbf":1e999}`), code: 'token_claims_invalid' },
    { name: 'no exp', token: byRsa(rsaHeader, { sub: 'admin' }), code: 'token_claims_invalid' },
    { name: 'exp in the past', token: byRsa(rsaHeader, { sub: 'admin', exp: now() - 3600 }), code: 'token_expired' },

    // Size and framing of the credential.
    { name: 'a 100 KB token', token: byRsa(rsaHeader, { ...claims, filler: 'x'.repeat(100 * 1024) }), code: 'token_too_long' },
    { name: 'two Authorization lines, both valid', lines: [`Authorization: Bearer ${validRsa}`, `Authorization: Bearer ${validRsa}`], code: 'token_ambiguous' },
    {
      name: 'two Authorization lines, valid and forged',
      lines: [`Authorization: Bearer ${validRsa}`, `Authorization: Bearer ${byAttacker({ alg: 'RS256' })}`],
      code: 'token_ambiguous',
    },
    { name: 'two Authorization lines, empty and valid', lines: ['Authorization:', `Authorization: Bearer ${validRsa}`], code: 'token_ambiguous' },
    { name: 'Bearer a, Bearer b', lines: [`Authorization: Bearer ${validRsa}, Bearer ${validEc}`], code: 'token_ambiguous' },
    { name: 'Bearer a b', lines: [`Authorization: Bearer ${validRsa} ${validEc}`], code: 'token_ambiguous' },
    { name: 'Bearer a,', lines: [`Authorization: Bearer ${validRsa},`], code: 'token_ambiguous' },
    { name: 'Bearer with a tab inside the token', lines: [`Authorization: Bearer ${validRsa.slice(0, 20)}\t${validRsa.slice(20)}`], code: 'token_ambiguous' },
    { name: 'empty bearer', lines: ['Authorization: Bearer'], code: 'token_malformed' },
    { name: 'empty bearer with trailing spaces', lines: ['Authorization: Bearer   '], code: 'token_malformed' },
    { name: 'empty Authorization', lines: ['Authorization:'], code: 'token_malformed' },
    { name: 'Basic credentials', lines: [`Authorization: Basic ${Buffer.from('admin:admin').toString('base64')}`], code: 'token_malformed' },
    { name: 'a valid token without a scheme', lines: [`Authorization: ${validRsa}`], code: 'token_malformed' },
    { name: 'non-ASCII bytes in the token', lines: [`Authorization: Bearer ${validRsa.slice(0, 30)}é${validRsa.slice(30)}`], code: 'token_malformed' },

    // CR / LF / NUL in the Authorization value: node's parser refuses the request before the app,
    // and the server answers with the deny nginx needs (any other status is a 500 through nginx).
    { name: 'bare LF injecting a header', lines: [`Authorization: Bearer ${validRsa}\nX-Auth-User: admin`], code: 'request_malformed' },
    {
      name: 'bare LF injecting a second Authorization',
      lines: [`Authorization: Bearer ${byAttacker({ alg: 'RS256' })}\nAuthorization: Bearer ${validRsa}`],
      code: 'request_malformed',
    },
    { name: 'bare CR inside the value', lines: [`Authorization: Bearer ${validRsa}\rX-Auth-User: admin`], code: 'request_malformed' },
    { name: 'obs-fold continuation line', lines: ['Authorization: Bearer', ` ${validRsa}`], code: 'request_malformed' },
    { name: 'NUL inside the value', lines: [`Authorization: Bearer ${validRsa}\0`], code: 'request_malformed' },
    { name: 'CR LF split inside the token', lines: [`Authorization: Bearer ${validRsa.slice(0, 40)}`, validRsa.slice(40)], code: 'request_malformed' },
  ];
}

function assertDeny(reply: RawReply, row: Row, denyStatus: number): void {
  assert.notEqual(reply.status, 200, 'never an allow');
  assert.ok(reply.status < 500, `never a 5xx (got ${reply.status})`);
  assert.equal(reply.status, denyStatus, reply.head);
  assert.deepEqual(rawHeader(reply, 'x-auth-error'), [row.code]);
  assert.deepEqual(rawHeader(reply, 'x-auth-user'), [], 'no identity on a deny');
  assert.deepEqual(JSON.parse(reply.body), { error: row.code });
  const error = row.code === 'request_malformed' ? 'invalid_request' : 'invalid_token';
  if (denyStatus === 401) assert.deepEqual(rawHeader(reply, 'www-authenticate'), [`Bearer realm="nginx-jwt-auth", error="${error}"`]);
}

let dir: KeyFiles;
let listener: Stub;
const env = (): Record<string, string> => {
  const jwks = { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: EC_KID, alg: 'ES256' }] };
  return {
    JWT_ALGORITHM: 'RS256',
    JWT_PRIVATE_KEY_FILE: dir.write('private.pem', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    JWT_KEY_ID: RSA_KID,
    // Every deny of the table is looked for in the log: none summarised.
    LOG_DENY_RATE: '0',
    JWT_VERIFY_JWKS_FILE: dir.write('jwks.json', JSON.stringify(jwks)),
    IDENTITY_HEADERS: 'sub:X-Auth-User,name:X-Auth-Name,roles:X-Auth-Roles,email:X-Auth-Email',
  };
};

before(async () => {
  dir = new KeyFiles();
  // The attacker's server: serves a JWKS and a certificate, and counts every request it gets.
  const attackerJwks = JSON.stringify({ keys: [{ ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'RS256' }] });
  listener = await startHttpStub((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(req.url === '/jwks.json' ? attackerJwks : attacker.publicKey.export({ type: 'spki', format: 'pem' }));
  });
});

after(async () => {
  await listener.close();
  dir.remove();
});

for (const denyStatus of [403, 401] as const) {
  describe(`/check with CHECK_UNAUTHENTICATED_STATUS=${denyStatus}: hostile tokens are denied`, () => {
    let app: App;
    let rows: Row[];
    before(async () => {
      // A 100 KB header must reach the app to be judged by it; node's own limit is tested below.
      app = await startApp({ ...env(), CHECK_UNAUTHENTICATED_STATUS: String(denyStatus) }, { maxHeaderSize: 256 * 1024 });
      rows = hostileRows(`http://127.0.0.1:${listener.port}`);
    });
    after(() => app.close());

    test('the configured RS256 and ES256 keys do allow their own well-formed tokens (the table is not vacuous)', async () => {
      for (const token of [validRsa, validEc]) {
        const reply = await rawRequest(app.port, rawCheck([`Authorization: Bearer ${token}`]));
        assert.equal(reply.status, 200, reply.raw);
        assert.deepEqual(rawHeader(reply, 'x-auth-user'), ['alice']);
      }
    });

    // node:test needs the rows when the suite is declared; they need the listener port, known in before().
    test('every row of the hostile table is a deny with its reason code', async (t) => {
      for (const row of rows) {
        await t.test(row.name, async () => {
          const lines = row.lines ?? [`Authorization: Bearer ${row.token}`];
          assertDeny(await rawRequest(app.port, rawCheck(lines)), row, denyStatus);
        });
      }
    });

    test('jku and x5u are never fetched: the attacker listener received zero requests', () => {
      assert.equal(listener.received, 0);
    });

    test('each deny is logged with its reason code and without the token', () => {
      const denials = app.logs.filter((line) => line.event === 'check' && line.result === 'deny');
      assert.ok(denials.length >= rows.length);
      for (const line of denials) assert.equal(typeof line.code, 'string');
      const leaking = app.logs.filter((line) => containsToken(JSON.stringify(line)));
      assert.deepEqual(leaking, [], 'no token in the logs');
    });
  });
}

describe("/check behind the server's header size limit", () => {
  test('a 100 KB Authorization header is refused before the app with a request_malformed deny (a 431 would be a 500 through nginx)', async () => {
    const app = await startApp(env());
    try {
      const token = byRsa(rsaHeader, { ...claims, filler: 'x'.repeat(100 * 1024) });
      const reply = await rawRequest(app.port, rawCheck([`Authorization: Bearer ${token}`]));
      assert.equal(reply.status, 403, reply.head);
      assert.deepEqual(rawHeader(reply, 'x-auth-error'), ['request_malformed']);
    } finally {
      await app.close();
    }
  });
});

describe('claim values that become identity headers are encoded or refused', () => {
  let app: App;
  before(async () => {
    app = await startApp({ ...env(), CHECK_UNAUTHENTICATED_STATUS: '401' });
  });
  after(() => app.close());

  const identityRows: ReadonlyArray<{ name: string; claims: Record<string, unknown>; headers: Record<string, string> }> = [
    { name: 'CR LF in sub', claims: { sub: 'alice\r\nX-Auth-Roles: admin' }, headers: { 'x-auth-user': 'alice%0D%0AX-Auth-Roles: admin' } },
    { name: 'a lone LF in name', claims: { sub: 'alice', name: 'A\nB' }, headers: { 'x-auth-user': 'alice', 'x-auth-name': 'A%0AB' } },
    { name: 'NUL in sub', claims: { sub: 'ali\u0000ce' }, headers: { 'x-auth-user': 'ali%00ce' } },
    { name: 'DEL and other controls', claims: { sub: 'a\u007f\u0001\u001bb' }, headers: { 'x-auth-user': 'a%7F%01%1Bb' } },
    { name: 'é in name', claims: { sub: 'jose', name: 'José' }, headers: { 'x-auth-user': 'jose', 'x-auth-name': 'Jos%C3%A9' } },
    { name: 'an emoji in name', claims: { sub: 'alice', name: 'Alice 😀' }, headers: { 'x-auth-user': 'alice', 'x-auth-name': 'Alice %F0%9F%98%80' } },
    { name: 'a lone surrogate in name', claims: { sub: 'alice', name: 'x\ud800y' }, headers: { 'x-auth-user': 'alice', 'x-auth-name': 'x%EF%BF%BDy' } },
    { name: 'a percent sign stays unambiguous', claims: { sub: 'a%0Db' }, headers: { 'x-auth-user': 'a%250Db' } },
    {
      name: 'roles with commas, CR LF and non-strings',
      claims: { sub: 'alice', roles: ['admin,root', 'a\r\nb', 7, { x: 1 }] },
      headers: { 'x-auth-user': 'alice', 'x-auth-roles': 'admin%2Croot,a%0D%0Ab,7,{"x":1}' },
    },
    {
      name: 'an object in email',
      claims: { sub: 'alice', email: { '\r\n': 'é' } },
      headers: { 'x-auth-user': 'alice', 'x-auth-email': '{"\\r\\n":"%C3%A9"}' },
    },
    {
      name: 'every mapped claim at once',
      claims: { sub: 'a\r\n', name: 'é', roles: ['\u0000'], email: 'e@x' },
      headers: { 'x-auth-user': 'a%0D%0A', 'x-auth-name': '%C3%A9', 'x-auth-roles': '%00', 'x-auth-email': 'e@x' },
    },
  ];

  for (const row of identityRows) {
    test(`${row.name}: allowed, with visible-ASCII header values and no injected line`, async () => {
      const token = byRsa(rsaHeader, { ...row.claims, exp });
      const reply = await rawRequest(app.port, rawCheck([`Authorization: Bearer ${token}`]));
      assert.equal(reply.status, 200, reply.raw);
      for (const line of reply.head.split('\r\n')) assert.match(line, /^[\x20-\x7e]*$/, 'every response line is visible ASCII');
      const identity = reply.head.split('\r\n').filter((line) => /^x-auth-/i.test(line));
      assert.equal(identity.length, Object.keys(row.headers).length, identity.join(' | '));
      for (const [name, value] of Object.entries(row.headers)) assert.deepEqual(rawHeader(reply, name), [value]);
    });
  }

  const longRows: ReadonlyArray<{ name: string; claims: Record<string, unknown> }> = [
    { name: 'a 3000-character sub', claims: { sub: 'a'.repeat(3000) } },
    { name: 'a 1000-emoji name (4000 characters once encoded)', claims: { sub: 'alice', name: '😀'.repeat(1000) } },
    { name: 'a 500-element roles list', claims: { sub: 'alice', roles: Array.from({ length: 500 }, (_, i) => `role-${i}`) } },
  ];
  for (const row of longRows) {
    test(`${row.name}: refused with 403 identity_too_large rather than truncated`, async () => {
      const token = byRsa(rsaHeader, { ...row.claims, exp });
      const reply = await rawRequest(app.port, rawCheck([`Authorization: Bearer ${token}`]));
      assert.equal(reply.status, 403, reply.head);
      assert.deepEqual(rawHeader(reply, 'x-auth-error'), ['identity_too_large']);
      assert.deepEqual(rawHeader(reply, 'x-auth-user'), []);
    });
  }
});

describe('operator-controlled values in deny headers', () => {
  // A character outside latin1 would make node refuse the WWW-Authenticate header on the first 401.
  test('a CHECK_REALM outside visible ASCII is refused at start or encoded, never a failure on the first 401', async () => {
    let app: App | undefined;
    try {
      app = await startApp({ ...env(), CHECK_UNAUTHENTICATED_STATUS: '401', CHECK_REALM: 'caf\u00e9 \u{1F600}' });
    } catch (error) {
      assert.equal((error as Error).name, 'ConfigError');
      return;
    }
    try {
      const reply = await rawRequest(app.port, rawCheck([]), 1000);
      assert.equal(reply.status, 401, reply.raw);
      assert.match(rawHeader(reply, 'www-authenticate')[0] ?? '', /^Bearer realm="[\x20-\x7e]*"$/);
    } finally {
      await app.close();
    }
  });
});
