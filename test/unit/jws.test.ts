import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { hasDuplicateMemberNames, inspectJws } from '../../src/token/jws.js';
import { b64url } from '../../support/jws.js';

const HEADER = b64url({ alg: 'HS256', typ: 'JWT' });
const PAYLOAD = b64url({ sub: 'alice' });
const SIGNATURE = Buffer.alloc(32, 1).toString('base64url');

function codeOf(token: string): ErrorCode | 'ok' {
  try {
    inspectJws(token);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return error.code;
  }
}

describe('inspectJws', () => {
  test('returns alg and kid of a well-formed compact JWS, and the iss it claims', () => {
    assert.deepEqual(inspectJws(`${b64url({ alg: 'RS256', kid: 'k1' })}.${PAYLOAD}.${SIGNATURE}`), { alg: 'RS256', kid: 'k1', iss: undefined });
    assert.deepEqual(inspectJws(`${HEADER}.${PAYLOAD}.${SIGNATURE}`), { alg: 'HS256', kid: undefined, iss: undefined });
    assert.deepEqual(inspectJws(`${HEADER}.${b64url({ iss: 'https://idp.example' })}.${SIGNATURE}`), {
      alg: 'HS256',
      kid: undefined,
      iss: 'https://idp.example',
    });
  });

  test('an iss that is not a string is refused before any key is chosen', () => {
    assert.equal(codeOf(`${HEADER}.${b64url({ iss: 42 })}.${SIGNATURE}`), 'token_claims_invalid');
  });

  const rows: Array<[name: string, token: string, code: ErrorCode]> = [
    ['empty string', '', 'token_malformed'],
    ['one segment', HEADER, 'token_malformed'],
    ['two segments', `${HEADER}.${PAYLOAD}`, 'token_malformed'],
    ['four segments', `${HEADER}.${PAYLOAD}.${SIGNATURE}.x`, 'token_malformed'],
    ['five segments (a JWE)', `${HEADER}.a.b.c.d`, 'token_malformed'],
    ['an empty header', `.${PAYLOAD}.${SIGNATURE}`, 'token_malformed'],
    ['an empty payload', `${HEADER}..${SIGNATURE}`, 'token_malformed'],
    ['base64 padding', `${HEADER}.${PAYLOAD}=.${SIGNATURE}`, 'token_malformed'],
    ['standard base64 characters', `${HEADER}.${PAYLOAD}.${SIGNATURE.replace(/-|_/g, '+')}+/`, 'token_malformed'],
    ['a segment of length 1 mod 4', `${HEADER}.${PAYLOAD}.${SIGNATURE}AA`, 'token_malformed'],
    ['non-canonical trailing bits', `${HEADER}.${PAYLOAD}.${b64url('ab').slice(0, -1)}z`, 'token_malformed'],
    ['whitespace inside', `${HEADER}.${PAYLOAD} .${SIGNATURE}`, 'token_malformed'],
    ['a header that is not JSON', `${b64url('alg:HS256')}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed'],
    ['a header that is a JSON array', `${b64url(['HS256'])}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed'],
    ['a header that is JSON null', `${b64url('null')}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed'],
    ['a payload that is a JSON string', `${HEADER}.${b64url('"alice"')}.${SIGNATURE}`, 'token_malformed'],
    ['a payload that is not JSON', `${HEADER}.${b64url('sub=alice')}.${SIGNATURE}`, 'token_malformed'],
    [
      'invalid UTF-8 in the payload',
      `${HEADER}.${Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')}.${SIGNATURE}`,
      'token_malformed',
    ],
    ['a duplicate alg in the header', `${b64url('{"alg":"none","alg":"HS256"}')}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed'],
    ['a duplicate sub in the payload', `${HEADER}.${b64url('{"sub":"alice","sub":"admin"}')}.${SIGNATURE}`, 'token_malformed'],
    ['a duplicate written with an escape', `${HEADER}.${b64url('{"sub":"alice","\\u0073ub":"admin"}')}.${SIGNATURE}`, 'token_malformed'],
    ['a NumericDate that JSON reads as Infinity', `${HEADER}.${b64url('{"sub":"alice","exp":1e999}')}.${SIGNATURE}`, 'token_claims_invalid'],
    ['no alg', `${b64url({ typ: 'JWT' })}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed'],
    ['alg that is not a string', `${b64url({ alg: 256 })}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed'],
    ['kid that is not a string', `${b64url({ alg: 'HS256', kid: 7 })}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed'],
    ['alg none with no signature', `${b64url({ alg: 'none' })}.${PAYLOAD}.`, 'token_algorithm_not_allowed'],
    ['alg NONE with no signature', `${b64url({ alg: 'NONE' })}.${PAYLOAD}.`, 'token_algorithm_not_allowed'],
    ['alg None with a signature', `${b64url({ alg: 'None' })}.${PAYLOAD}.${SIGNATURE}`, 'token_algorithm_not_allowed'],
    ['alg HS256 with an empty signature', `${HEADER}.${PAYLOAD}.`, 'token_algorithm_not_allowed'],
    ['a crit header', `${b64url({ alg: 'HS256', crit: ['exp'], exp: 1 })}.${PAYLOAD}.${SIGNATURE}`, 'token_header_invalid'],
    ['b64 false (RFC 7797)', `${b64url({ alg: 'HS256', b64: false, crit: ['b64'] })}.${PAYLOAD}.${SIGNATURE}`, 'token_header_invalid'],
    ['b64 true alone', `${b64url({ alg: 'HS256', b64: true })}.${PAYLOAD}.${SIGNATURE}`, 'token_header_invalid'],
  ];
  for (const [name, token, code] of rows) {
    test(`${name} → ${code}`, () => assert.equal(codeOf(token), code));
  }
});

describe('hasDuplicateMemberNames', () => {
  const rows: Array<[json: string, duplicate: boolean]> = [
    ['{}', false],
    ['{"a":1,"b":2}', false],
    ['{"a":1,"a":2}', true],
    ['{"\\u0061":1,"\\u0061":2}', true],
    ['{"a":{"a":1}}', false],
    ['{"a":{"b":1,"b":2}}', true],
    ['[{"a":1},{"a":1}]', false],
    ['{"a":[1,{"b":1,"b":2}]}', true],
    ['{"a":["a","a"]}', false],
    ['{"a":"\\"b\\":1,\\"b","b":2}', false],
    ['{"a\\\\":1,"a":2}', false],
    ['{"x":{"a":1},"a":2}', false],
    ['{"x":[{"a":1}],"x":2}', true],
  ];
  for (const [json, duplicate] of rows) {
    test(`${json} → ${duplicate}`, () => {
      JSON.parse(json); // every row is valid JSON: the scanner only sees what JSON.parse accepted
      assert.equal(hasDuplicateMemberNames(json), duplicate);
    });
  }

  // "a" and "\u0061" name the same member: the escape is decoded before comparing.
  for (const json of ['{"a":1,"\\u0061":2}', '{"\\u0061":1,"a":2}']) {
    test(`${json} → true`, () => assert.equal(hasDuplicateMemberNames(json), true));
  }

  // Callers parse first, but the scan must end whatever it is given: no input may hang it.
  test('terminates on text that is not JSON: unterminated strings, trailing backslashes, bad escapes', () => {
    const malformed = ['"', '{"a', '{"a":"b', '{"a\\', '{"\\', '"\\', '{"\\u00zz":1,"\\u00zz":2}', '{"a":1,"a', '}}]]{{', '\\"'];
    for (const text of malformed) assert.equal(typeof hasDuplicateMemberNames(text), 'boolean', text);
  });
  test('terminates on every prefix of a valid document', () => {
    const json = '{"a":{"b\\"c":[1,"x\\\\"],"d":"\\u0061"},"e":2}';
    JSON.parse(json);
    for (let end = 0; end <= json.length; end++) assert.equal(typeof hasDuplicateMemberNames(json.slice(0, end)), 'boolean');
  });
});
