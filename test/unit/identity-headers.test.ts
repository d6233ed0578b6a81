import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { AppError } from '../../src/errors.js';
import { createIdentityHeaders, headerValue } from '../../src/identity-headers.js';
import { hmacSecret } from '../../support/keys.js';

describe('headerValue', () => {
  const rows: Array<[name: string, value: unknown, expected: string | undefined]> = [
    ['a plain string', 'alice', 'alice'],
    ['a string with spaces and punctuation', 'Alice Liddell <alice@example.org>', 'Alice Liddell <alice@example.org>'],
    ['CR LF (header injection)', 'alice\r\nX-Auth-Roles: admin', 'alice%0D%0AX-Auth-Roles: admin'],
    ['a lone LF', 'a\nb', 'a%0Ab'],
    ['NUL', 'a\u0000b', 'a%00b'],
    ['a tab', 'a\tb', 'a%09b'],
    ['DEL', 'a\u007fb', 'a%7Fb'],
    ['non-ASCII as UTF-8 percent-encoding', 'Zoë', 'Zo%C3%AB'],
    ['a percent sign (so encoded values stay unambiguous)', '100%', '100%25'],
    ['a lone surrogate (replaced, never thrown)', 'a\ud800b', 'a%EF%BF%BDb'],
    ['the empty string', '', ''],
    ['a leading space (nginx would trim it)', ' alice', '%20alice'],
    ['a trailing space', 'alice ', 'alice%20'],
    ['spaces at both ends, inner ones kept', '  alice b ', '%20%20alice b%20'],
    ['only spaces', '   ', '%20%20%20'],
    ['a leading tab (encoded as any control character)', '\talice', '%09alice'],
    ['a trailing space after a non-ASCII character', 'Zoë ', 'Zo%C3%AB%20'],
    ['an encoded look-alike stays distinct from a real space', '%20alice', '%2520alice'],
    ['an array with edge spaces inside elements', [' admin', 'user ', 'a b'], '%20admin,user%20,a b'],
    ['an array whose element is only a space', [' '], '%20'],
    ['an integer', 42, '42'],
    ['a float', 1.5, '1.5'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['an array of strings joined with commas', ['admin', 'editor'], 'admin,editor'],
    ['an array with a comma inside an element', ['a,b', 'c'], 'a%2Cb,c'],
    ['an array with CR/LF inside an element', ['a\r\nb'], 'a%0D%0Ab'],
    ['an array of numbers', [1, 2], '1,2'],
    ['an empty array', [], ''],
    ['an object as JSON', { a: 1 }, '{"a":1}'],
    ['an object with a newline in a value', { a: 'x\ny' }, '{"a":"x\\ny"}'],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
  ];
  for (const [name, value, expected] of rows) {
    test(`${name} → ${JSON.stringify(expected)}`, () => assert.equal(headerValue(value), expected));
  }

  test('distinct strings that differ only in edge spaces stay distinct once trimmed as nginx does', () => {
    const subjects = ['alice', ' alice', 'alice ', ' alice ', '  alice', 'alice\t', ' ', '  '];
    const arrived = subjects.map((subject) => (headerValue(subject) ?? '').trim());
    assert.equal(new Set(arrived).size, subjects.length, arrived.join(' | '));
    for (const value of arrived) assert.notEqual(value, '');
  });

  test('no value ever contains CR, LF or NUL', () => {
    for (const value of ['\r', '\n', '\u0000', ['\r\n'], { '\n': '\r' }, '\u2028\u2029', 'é\r\n']) {
      // The control characters are the point of this pattern.
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(headerValue(value) ?? '', /[\r\n\u0000]/);
    }
  });
});

describe('createIdentityHeaders', () => {
  const base = { JWT_SECRET: hmacSecret() };
  const builderFor = (env: Record<string, string> = {}) => createIdentityHeaders(loadConfig({ ...base, ...env }).identityHeaders);

  test('the default maps sub, roles and name (what jwt-auth-protect.conf ships)', () => {
    assert.deepEqual(builderFor()({ sub: 'alice', roles: ['admin'] }), ['x-auth-user', 'alice', 'x-auth-roles', 'admin']);
  });

  test('maps every configured claim, in order, and skips absent ones', () => {
    const build = builderFor({ IDENTITY_HEADERS: 'sub:X-Auth-User,roles:X-Auth-Roles,email:X-Auth-Email,level:X-Auth-Level' });
    assert.deepEqual(build({ sub: 'alice', roles: ['admin', 'editor'], level: 3 }), [
      'x-auth-user',
      'alice',
      'x-auth-roles',
      'admin,editor',
      'x-auth-level',
      '3',
    ]);
  });

  test('nested and namespaced claims, as a Keycloak or Auth0 token carries them', () => {
    const build = builderFor({
      IDENTITY_HEADERS:
        'preferred_username:X-Auth-User,realm_access.roles:X-Auth-Roles,resource_access.my-app.roles:X-Auth-App-Roles,["https://example.org/roles"]:X-Auth-Org-Roles,groups:X-Auth-Groups',
    });
    const claims = {
      sub: 'f1e2',
      preferred_username: 'alice',
      realm_access: { roles: ['admin', 'offline_access'] },
      resource_access: { 'my-app': { roles: ['editor'] } },
      'https://example.org/roles': ['ops'],
      groups: ['/ops'],
    };
    assert.deepEqual(build(claims), [
      'x-auth-user',
      'alice',
      'x-auth-roles',
      'admin,offline_access',
      'x-auth-app-roles',
      'editor',
      'x-auth-org-roles',
      'ops',
      'x-auth-groups',
      '/ops',
    ]);
  });

  test('a nested path that is absent, or runs through an array or a string, gives no header', () => {
    const build = builderFor({ IDENTITY_HEADERS: 'realm_access.roles:X-A,groups.length:X-B,sub.length:X-C,realm_access.constructor:X-D' });
    assert.deepEqual(build({ sub: 'alice', groups: ['/ops'], realm_access: {} }), []);
  });

  test('a claim named like an Object.prototype member is not invented', () => {
    const build = builderFor({ IDENTITY_HEADERS: 'constructor:X-A,toString:X-B,__proto__:X-C' });
    assert.deepEqual(build({ sub: 'alice' }), []);
  });

  test('a value longer than IDENTITY_HEADER_MAX_LENGTH is identity_too_large, not truncated', () => {
    const build = builderFor({ IDENTITY_HEADER_MAX_LENGTH: '16' });
    assert.deepEqual(build({ sub: 'a'.repeat(16) }), ['x-auth-user', 'a'.repeat(16)]);
    assert.throws(
      () => build({ sub: 'a'.repeat(17) }),
      (error: unknown) => error instanceof AppError && error.code === 'identity_too_large',
    );
  });

  test('the limit applies to the encoded value', () => {
    const build = builderFor({ IDENTITY_HEADER_MAX_LENGTH: '16' });
    // 6 characters, 18 once percent-encoded.
    assert.throws(
      () => build({ sub: 'éééééé' }),
      (error: unknown) => error instanceof AppError && error.code === 'identity_too_large',
    );
  });

  test('identity header lines together over IDENTITY_HEADERS_MAX_TOTAL are identity_too_large, counted as sent', () => {
    const build = builderFor({ IDENTITY_HEADERS: 'sub:X-Auth-User,name:X-Auth-Name', IDENTITY_HEADERS_MAX_TOTAL: '100' });
    // "x-auth-user: " + value + CRLF is 15 bytes plus the value; "x-auth-name" is as long.
    assert.deepEqual(build({ sub: 'a'.repeat(35), name: 'b'.repeat(35) }), ['x-auth-user', 'a'.repeat(35), 'x-auth-name', 'b'.repeat(35)]);
    assert.throws(
      () => build({ sub: 'a'.repeat(35), name: 'b'.repeat(36) }),
      (error: unknown) => error instanceof AppError && error.code === 'identity_too_large',
    );
    // Each value alone is far under IDENTITY_HEADER_MAX_LENGTH: only their sum is refused.
    assert.throws(
      () => build({ sub: 'a'.repeat(60), name: 'b'.repeat(60) }),
      (error: unknown) => error instanceof AppError && error.code === 'identity_too_large',
    );
  });

  test('IDENTITY_HEADERS_MAX_TOTAL defaults to 8 KiB: far under the 16k proxy_buffer_size nginx/ sets', () => {
    const build = builderFor({ IDENTITY_HEADERS: 'sub:X-Auth-User,name:X-Auth-Name,email:X-Auth-Email,org:X-Auth-Org,team:X-Auth-Team' });
    const claims = { sub: 'a'.repeat(2000), name: 'b'.repeat(2000), email: 'c'.repeat(2000), org: 'd'.repeat(1900) };
    assert.equal(build(claims).length, 8);
    assert.throws(
      () => build({ ...claims, team: 'e'.repeat(300) }),
      (error: unknown) => error instanceof AppError && error.code === 'identity_too_large',
    );
  });

  test('returns a fresh list each time (callers append to it)', () => {
    const build = builderFor();
    const first = build({ sub: 'alice' });
    first.push('x', 'y');
    assert.deepEqual(build({ sub: 'alice' }), ['x-auth-user', 'alice']);
  });
});
