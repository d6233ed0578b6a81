import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, type ErrorCode } from '../../../src/errors.js';
import { loginContentType, parseLoginBody, type LoginContentType } from '../../../src/login/body.js';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

function codeOf(run: () => unknown): ErrorCode | 'none' {
  try {
    run();
    return 'none';
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return error.code;
  }
}

describe('loginContentType: only the two login types, with at most charset=utf-8', () => {
  const accepted: Array<[header: string, type: LoginContentType]> = [
    ['application/json', JSON_TYPE],
    ['application/json; charset=utf-8', JSON_TYPE],
    ['Application/JSON;charset=UTF-8', JSON_TYPE],
    ['application/json; charset="utf-8"', JSON_TYPE],
    ['application/x-www-form-urlencoded', FORM_TYPE],
    ['application/x-www-form-urlencoded; charset=utf-8', FORM_TYPE],
    ['APPLICATION/X-WWW-FORM-URLENCODED', FORM_TYPE],
  ];
  for (const [header, type] of accepted) test(`${JSON.stringify(header)} → ${type}`, () => assert.equal(loginContentType(header), type));

  const refused: Array<[name: string, header: string | undefined]> = [
    ['no Content-Type', undefined],
    ['an empty Content-Type', ''],
    ['multipart/form-data', 'multipart/form-data; boundary=x'],
    ['text/plain', 'text/plain'],
    ['a +json type', 'application/vnd.api+json'],
    ['a form type with a json parameter (the polyglot)', 'application/x-www-form-urlencoded; x=json'],
    ['a json type with another parameter', 'application/json; charset=utf-8; x=1'],
    ['another charset', 'application/json; charset=latin1'],
    ['a json type with a suffix', 'application/jsonx'],
    ['two types on one line', 'application/json, application/x-www-form-urlencoded'],
  ];
  for (const [name, header] of refused) {
    test(`${name} → unsupported_media_type`, () =>
      assert.equal(
        codeOf(() => loginContentType(header)),
        'unsupported_media_type',
      ));
  }
});

describe('parseLoginBody: JSON', () => {
  const parse = (body: string | Buffer) => parseLoginBody(Buffer.from(body), JSON_TYPE, 'username');

  test('an object is forwarded re-serialized, with its username', () => {
    const parsed = parse('{ "username" : "alice",\n "password": "p", "note": "é\\u00e9", "n": [1, {"a": null}] }');
    assert.equal(parsed.contentType, JSON_TYPE);
    assert.equal(parsed.username, 'alice');
    assert.equal(parsed.body.toString('utf8'), '{"username":"alice","password":"p","note":"éé","n":[1,{"a":null}]}');
  });

  test('a body without the username field has no username', () => assert.equal(parse('{"user":"alice"}').username, undefined));
  test('the configured field is the one read', () =>
    assert.equal(parseLoginBody(Buffer.from('{"username":"a","email":"b@x"}'), JSON_TYPE, 'email').username, 'b@x'));
  test('an escaped member name is the same name', () => assert.equal(parse('{"\\u0075sername":"alice"}').username, 'alice'));
  test('a "__proto__" member is data, kept as it is', () =>
    assert.equal(parse('{"__proto__":{"x":1},"username":"a"}').body.toString(), '{"__proto__":{"x":1},"username":"a"}'));

  const refused: Array<[name: string, body: string | Buffer]> = [
    ['a UTF-8 byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"username":"alice"}')])],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    ['NaN (Python reads it, JSON does not have it)', '{"username":"alice","password":NaN}'],
    ['Infinity', '{"username":"alice","n":Infinity}'],
    ['a number JSON.parse reads as Infinity', '{"username":"alice","n":1e999}'],
    ['a duplicate username', '{"username":"decoy","username":"alice"}'],
    ['a duplicate spelled with an escape', '{"username":"decoy","\\u0075sername":"alice"}'],
    ['a duplicate member in a nested object', '{"username":"alice","x":{"a":1,"a":2}}'],
    ['a non-string username', '{"username":["alice"]}'],
    ['a null username', '{"username":null}'],
    ['an array', '[{"username":"alice"}]'],
    ['a string', '"alice"'],
    ['null', 'null'],
    ['an empty body', ''],
    ['truncated JSON', '{"username":"alice"'],
    ['two objects', '{"username":"a"}{"username":"b"}'],
    ['single quotes', "{'username':'alice'}"],
  ];
  for (const [name, body] of refused)
    test(`${name} → body_malformed`, () =>
      assert.equal(
        codeOf(() => parse(body)),
        'body_malformed',
      ));
});

describe('parseLoginBody: forms', () => {
  const parse = (body: string | Buffer) => parseLoginBody(Buffer.from(body), FORM_TYPE, 'username');

  test('pairs are decoded and re-encoded in order, every separator escaped', () => {
    const parsed = parse('password=a%26b%3Dc%3Bd&username=al+ice&x=%C3%A9&flag');
    assert.equal(parsed.contentType, FORM_TYPE);
    assert.equal(parsed.username, 'al ice');
    assert.equal(parsed.body.toString(), 'password=a%26b%3Dc%3Bd&username=al+ice&x=%C3%A9&flag=');
  });

  test('raw UTF-8 is percent-encoded on the way', () => assert.equal(parse('username=ålice').body.toString(), 'username=%C3%A5lice'));
  test('empty sequences are skipped', () => assert.equal(parse('&&username=alice&').body.toString(), 'username=alice'));
  test('a form without the field has no username', () => assert.equal(parse('user=alice&password=x').username, undefined));
  test('other fields may repeat, and are kept', () => assert.equal(parse('username=a&scope=x&scope=y').body.toString(), 'username=a&scope=x&scope=y'));
  test('a JSON-looking form is a form', () => {
    const parsed = parse('{"username":"decoy","a":"&username=alice&password=x&"}');
    assert.equal(parsed.username, 'alice');
    assert.equal(parsed.body.toString(), '%7B%22username%22%3A%22decoy%22%2C%22a%22%3A%22=&username=alice&password=x&%22%7D=');
  });

  const refused: Array<[name: string, body: string | Buffer]> = [
    ['the username twice', 'username=decoy&username=alice'],
    ['the username twice, once percent-encoded', 'username=decoy&%75sername=alice'],
    ['a lone %', 'username=alice&password=100%'],
    ['a truncated escape', 'username=alice%2'],
    ['a non-hex escape', 'username=%zzalice'],
    ['percent-encoded bytes that are not UTF-8', 'username=%FFalice'],
    ['an overlong encoding', 'username=%C0%AFalice'],
    ['an encoded surrogate', 'username=%ED%A0%80'],
    ['raw bytes that are not UTF-8', Buffer.from([0x75, 0x3d, 0xff])],
    ['a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('username=alice')])],
  ];
  for (const [name, body] of refused)
    test(`${name} → body_malformed`, () =>
      assert.equal(
        codeOf(() => parse(body)),
        'body_malformed',
      ));
});
