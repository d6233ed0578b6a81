import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, type Config } from '../../src/config/index.js';
import { readCheckInputs, readRequestSite } from '../../src/credentials.js';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { hmacSecret } from '../../support/keys.js';

const T = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln';
const U = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiIn0.c2ln';

const checkConfig = (env: Record<string, string> = {}): Config => loadConfig({ JWT_SECRET: hmacSecret(), ...env });
const plain = checkConfig();
const withCookie = checkConfig({ TOKEN_COOKIE: 'jwt' });
const withRaw = checkConfig({ CHECK_ACCEPT_RAW_TOKEN: 'true' });

function outcome(rawHeaders: string[], check: Config): string | undefined | ErrorCode {
  try {
    return readCheckInputs(rawHeaders, check).token;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return `error:${error.code}`;
  }
}

describe('readCheckInputs: the one credential of a request', () => {
  const rows: Array<[name: string, rawHeaders: string[], check: Config, expected: string | undefined]> = [
    ['no headers → no token', [], plain, undefined],
    ['unrelated headers → no token', ['Host', 'app', 'Accept', '*/*'], plain, undefined],
    ['Authorization: Bearer', ['Authorization', `Bearer ${T}`], plain, T],
    ['the scheme in lower case', ['Authorization', `bearer ${T}`], plain, T],
    ['the scheme in upper case', ['Authorization', `BEARER ${T}`], plain, T],
    ['the header name in upper case', ['AUTHORIZATION', `Bearer ${T}`], plain, T],
    ['several spaces and a tab after the scheme', ['authorization', `Bearer \t ${T}`], plain, T],
    ['surrounding whitespace', ['authorization', `  Bearer ${T}  `], plain, T],
    ['two Authorization lines', ['Authorization', `Bearer ${T}`, 'Authorization', `Bearer ${U}`], plain, 'error:token_ambiguous'],
    ['two identical Authorization lines', ['Authorization', `Bearer ${T}`, 'authorization', `Bearer ${T}`], plain, 'error:token_ambiguous'],
    ['"Bearer a, Bearer b" on one line', ['Authorization', `Bearer ${T}, Bearer ${U}`], plain, 'error:token_ambiguous'],
    ['"Bearer a,b" on one line', ['Authorization', `Bearer ${T},${U}`], plain, 'error:token_ambiguous'],
    ['"Bearer a b" on one line', ['Authorization', `Bearer ${T} ${U}`], plain, 'error:token_ambiguous'],
    ['an empty Bearer credential', ['Authorization', 'Bearer '], plain, 'error:token_malformed'],
    ['an empty Authorization header', ['Authorization', ''], plain, 'error:token_malformed'],
    ['Basic credentials', ['Authorization', 'Basic YWxpY2U6d29uZGVybGFuZA=='], plain, 'error:token_malformed'],
    ['Basic credentials even with raw tokens accepted', ['Authorization', 'Basic YWxpY2U6d29uZGVybGFuZA=='], withRaw, 'error:token_malformed'],
    ['"Bearerx" is not the Bearer scheme', ['Authorization', `Bearer${T}`], plain, 'error:token_malformed'],
    ['a raw token, refused by default', ['Authorization', T], plain, 'error:token_malformed'],
    ['a raw token with CHECK_ACCEPT_RAW_TOKEN=true', ['Authorization', T], withRaw, T],
    ['Bearer still works with CHECK_ACCEPT_RAW_TOKEN=true', ['Authorization', `Bearer ${T}`], withRaw, T],
    ['two raw tokens with CHECK_ACCEPT_RAW_TOKEN=true', ['Authorization', `${T},${U}`], withRaw, 'error:token_ambiguous'],
    ['a token cookie', ['Cookie', `theme=dark; jwt=${T}; lang=en`], withCookie, T],
    ['a quoted token cookie', ['Cookie', `jwt="${T}"`], withCookie, T],
    ['the token cookie on a second Cookie line', ['Cookie', 'theme=dark', 'cookie', `jwt=${T}`], withCookie, T],
    ['a cookie whose name only ends like the token cookie', ['Cookie', `xjwt=${T}`], withCookie, undefined],
    ['the token cookie set twice with different values', ['Cookie', `jwt=${T}; jwt=${U}`], withCookie, 'error:token_ambiguous'],
    ['the token cookie set twice with one value', ['Cookie', `jwt=${T}`, 'Cookie', `jwt=${T}`], withCookie, T],
    ['an empty token cookie', ['Cookie', 'jwt='], withCookie, undefined],
    ['a cookie when no TOKEN_COOKIE is configured', ['Cookie', `jwt=${T}`], plain, undefined],
    ['header and cookie agreeing', ['Authorization', `Bearer ${T}`, 'Cookie', `jwt=${T}`], withCookie, T],
    ['header and cookie disagreeing', ['Authorization', `Bearer ${T}`, 'Cookie', `jwt=${U}`], withCookie, 'error:token_ambiguous'],
    ['a header when a cookie is configured but absent', ['Authorization', `Bearer ${T}`], withCookie, T],
  ];
  for (const [name, rawHeaders, check, expected] of rows) {
    test(`${name} → ${expected ?? 'none'}`, () => assert.equal(outcome(rawHeaders, check), expected));
  }
});

describe('readCheckInputs: the policy requirement', () => {
  test('an X-Auth-Require line is returned as is', () => {
    assert.equal(readCheckInputs(['X-Auth-Require', 'role=admin'], plain).requirement, 'role=admin');
  });

  test('several X-Auth-Require lines are joined with ; (every term still applies)', () => {
    assert.equal(readCheckInputs(['X-Auth-Require', 'role=admin', 'x-auth-require', 'scope=read'], plain).requirement, 'role=admin;scope=read');
  });

  test('no X-Auth-Require → the empty requirement', () => {
    assert.equal(readCheckInputs(['Authorization', `Bearer ${T}`], plain).requirement, '');
  });
});

describe('readCheckInputs: whether the token came from the cookie alone', () => {
  const rows: Array<[name: string, rawHeaders: string[], fromCookie: boolean]> = [
    ['the cookie alone', ['Cookie', `jwt=${T}`], true],
    ['the header alone', ['Authorization', `Bearer ${T}`], false],
    ['header and cookie agreeing (a script of the site set the header)', ['Authorization', `Bearer ${T}`, 'Cookie', `jwt=${T}`], false],
    ['no token', [], false],
  ];
  for (const [name, rawHeaders, fromCookie] of rows) {
    test(`${name} → ${fromCookie}`, () => assert.equal(readCheckInputs(rawHeaders, withCookie).fromCookie, fromCookie));
  }
});

describe('readRequestSite: the headers that tell a cross-site request', () => {
  test('each is read whatever its case; others are ignored', () => {
    const site = readRequestSite([
      'ORIGIN',
      'https://a.example',
      'Sec-Fetch-Site',
      'cross-site',
      'host',
      'a',
      'X-Forwarded-Host',
      'a:8443',
      'x-forwarded-proto',
      'https',
      'X-Original-Method',
      'POST',
      'constructor',
      'x',
      '__proto__',
      'y',
    ]);
    assert.deepEqual(
      { ...site },
      { origin: 'https://a.example', secFetchSite: 'cross-site', host: 'a', forwardedHost: 'a:8443', forwardedProto: 'https', originalMethod: 'POST' },
    );
  });

  test('a repeated line is joined with ", ", as node joins it', () => {
    assert.equal(readRequestSite(['Origin', 'https://a.example', 'origin', 'https://a.example']).origin, 'https://a.example, https://a.example');
  });

  test('absent headers are undefined', () => assert.deepEqual({ ...readRequestSite([]) }, {}));
});
