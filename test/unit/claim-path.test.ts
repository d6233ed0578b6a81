import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClaimPathError, parseClaimPath, splitOutsideQuotes } from '../../src/claim-path.js';

describe('parseClaimPath: one syntax for flat, nested and namespaced claims', () => {
  const rows: Array<[text: string, segments: string[]]> = [
    ['sub', ['sub']],
    ['preferred_username', ['preferred_username']],
    ['realm_access.roles', ['realm_access', 'roles']],
    ['resource_access.my-app.roles', ['resource_access', 'my-app', 'roles']],
    ['["https://example.org/roles"]', ['https://example.org/roles']],
    ['["urn:zitadel:iam:org:project:roles"]', ['urn:zitadel:iam:org:project:roles']],
    ['resource_access["my.app"].roles', ['resource_access', 'my.app', 'roles']],
    ['["https://example.org/claims"]["a.b"]', ['https://example.org/claims', 'a.b']],
    ['["with \\"quote\\" and \\\\"]', ['with "quote" and \\']],
    ['["caf\\u00e9"]', ['café']],
    ['["a,b:c;d=e"]', ['a,b:c;d=e']],
  ];
  for (const [text, segments] of rows) {
    test(`${text} → ${JSON.stringify(segments)}`, () => {
      const path = parseClaimPath(text);
      assert.deepEqual(path.segments, segments);
      assert.equal(path.text, text);
    });
  }

  const refused: Array<[text: string, why: string]> = [
    ['', 'empty'],
    ['https://example.org/roles', 'a bare name with : / .'],
    ['urn:example:tenant', 'a bare name with :'],
    ['a b', 'a space'],
    ['a..b', 'an empty segment'],
    ['.a', 'a leading .'],
    ['a.', 'a trailing .'],
    ['a.["b"]', '. before a quoted segment'],
    ['["a"]b', 'a bare name right after ]'],
    ['["a"', 'no ]'],
    ['["a', 'an unterminated string'],
    ['[a]', 'brackets without a string'],
    ['[0]', 'an index'],
    ['[""]', 'an empty quoted name'],
    ['["\\x"]', 'an invalid JSON escape'],
    ['["a\tb"]', 'a raw control character'],
    ['café', 'a bare non-ASCII name'],
  ];
  for (const [text, why] of refused) {
    test(`${JSON.stringify(text)} is refused (${why})`, () => assert.throws(() => parseClaimPath(text), ClaimPathError));
  }

  test('the message for a bare name with other characters shows its quoted spelling', () => {
    assert.throws(() => parseClaimPath('https://example.org/roles'), /\["https:\/\/example\.org\/roles"\]/);
  });
});

describe('ClaimPath.read', () => {
  const claims = JSON.parse(
    '{"sub":"alice","realm_access":{"roles":["admin"]},"https://example.org/roles":["ops"],"groups":["/a"],"n":null,"s":"text","own":{"__proto__":"mine"}}',
  ) as Record<string, unknown>;
  const rows: Array<[text: string, expected: unknown]> = [
    ['sub', 'alice'],
    ['realm_access.roles', ['admin']],
    ['realm_access', { roles: ['admin'] }],
    ['["https://example.org/roles"]', ['ops']],
    ['missing', undefined],
    ['realm_access.missing', undefined],
    ['missing.deeper', undefined],
    ['n', null],
    ['n.x', undefined],
    ['s.length', undefined],
    ['groups.length', undefined],
    ['constructor', undefined],
    ['__proto__', undefined],
    ['toString', undefined],
    ['realm_access.constructor', undefined],
    ['realm_access.roles.length', undefined],
    ['own["__proto__"]', 'mine'],
  ];
  for (const [text, expected] of rows) {
    test(`${text} → ${JSON.stringify(expected)}`, () => assert.deepEqual(parseClaimPath(text).read(claims), expected));
  }
});

describe('splitOutsideQuotes', () => {
  test('splits on the separator outside quoted names only, trims and drops empty entries', () => {
    assert.deepEqual(splitOutsideQuotes(' sub:X-A , ["a,b"]:X-B,, realm_access.roles:X-C ', ','), ['sub:X-A', '["a,b"]:X-B', 'realm_access.roles:X-C']);
  });
  test('an escaped quote does not end a quoted name', () => {
    assert.deepEqual(splitOutsideQuotes('["a\\",b"],c', ','), ['["a\\",b"]', 'c']);
  });
  test('an unterminated quote runs to the end (the path parser then refuses it)', () => {
    assert.deepEqual(splitOutsideQuotes('["a,b', ','), ['["a,b']);
  });
});
