import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { createCheckAnswers } from '../../src/check/answer.js';
import { createAccessDecider } from '../../src/check/decision.js';
import { loadConfig } from '../../src/config/index.js';
import type { ErrorCode } from '../../src/errors.js';
import { createIdentityHeaders } from '../../src/identity-headers.js';
import { staticKeySource } from '../../src/key-source.js';
import { loadKeys } from '../../src/keys.js';
import { RevocationList, decodeRevocation, encodeRevocation, revocationOfSession, revocationOfSubject, revocationOfToken } from '../../src/revocation/list.js';
import { createTokenVerifier } from '../../src/token/verify.js';
import { checkOutcomes, type CheckOutcome } from '../../support/check.js';
import { signJws, tamperSignature } from '../../support/jws.js';
import { KeyFiles } from '../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

const NOW = 1_750_000_000;
const SECRET = files.secret('HS256');

type Check = ReturnType<typeof checkOutcomes>;

function checkFor(env: Record<string, string> = {}, now = NOW, revocations = new RevocationList(() => now * 1000)): Check {
  const config = loadConfig({ ...files.env('HS256'), ...env });
  const keys = loadKeys(config.jwt);
  const decideAccess = createAccessDecider({
    config,
    verify: createTokenVerifier(config.jwt, staticKeySource(keys), { clockTimestamp: now * 1000 }),
    identityHeaders: createIdentityHeaders(config.identityHeaders),
    revocations,
    now: () => now,
  });
  return checkOutcomes(decideAccess, createCheckAnswers(config));
}

/** Header list → lower-case name → values, so duplicates show. */
function headersOf(decision: CheckOutcome): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (let i = 0; i < decision.headers.length; i += 2) (map[(decision.headers[i] as string).toLowerCase()] ??= []).push(decision.headers[i + 1] as string);
  return map;
}

const token = (claims: Record<string, unknown> = {}) =>
  signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', roles: ['editor'], exp: NOW + 3600, ...claims }, SECRET);
const bearer = (value: string) => ['Authorization', `Bearer ${value}`];

const REALM = 'Bearer realm="nginx-jwt-auth"';

describe('denials: status in 403 and 401 modes, WWW-Authenticate per RFC 6750', () => {
  const deny403 = checkFor();
  const deny401 = checkFor({ CHECK_UNAUTHENTICATED_STATUS: '401' });
  const rows: Array<{
    name: string;
    rawHeaders: string[];
    query?: string;
    code: ErrorCode;
    status401: number;
    challenge401: string | undefined;
    challenge403?: string;
  }> = [
    { name: 'no credentials', rawHeaders: [], code: 'token_missing', status401: 401, challenge401: REALM },
    {
      name: 'an expired token',
      rawHeaders: bearer(token({ exp: NOW - 3600 })),
      code: 'token_expired',
      status401: 401,
      challenge401: `${REALM}, error="invalid_token"`,
    },
    {
      name: 'a token not yet valid',
      rawHeaders: bearer(token({ nbf: NOW + 3600 })),
      code: 'token_not_yet_valid',
      status401: 401,
      challenge401: `${REALM}, error="invalid_token"`,
    },
    {
      name: 'a tampered signature',
      rawHeaders: bearer(tamperSignature(token())),
      code: 'token_signature_invalid',
      status401: 401,
      challenge401: `${REALM}, error="invalid_token"`,
    },
    {
      name: 'alg none',
      rawHeaders: bearer(signJws({ alg: 'none' }, { sub: 'alice', exp: NOW + 60 }, '')),
      code: 'token_algorithm_not_allowed',
      status401: 401,
      challenge401: `${REALM}, error="invalid_token"`,
    },
    { name: 'garbage', rawHeaders: bearer('garbage'), code: 'token_malformed', status401: 401, challenge401: `${REALM}, error="invalid_token"` },
    {
      name: 'two Authorization lines',
      rawHeaders: [...bearer(token()), ...bearer(token())],
      code: 'token_ambiguous',
      status401: 401,
      challenge401: `${REALM}, error="invalid_token"`,
    },
    {
      name: 'a token over the length limit',
      rawHeaders: bearer(token({ pad: 'x'.repeat(9000) })),
      code: 'token_too_long',
      status401: 401,
      challenge401: `${REALM}, error="invalid_token"`,
    },
    {
      name: 'a missing exp',
      rawHeaders: bearer(token({ exp: undefined })),
      code: 'token_claims_invalid',
      status401: 401,
      challenge401: `${REALM}, error="invalid_token"`,
    },
    {
      name: 'a crit header',
      rawHeaders: bearer(signJws({ alg: 'HS256', crit: ['x'], x: 1 }, { sub: 'a', exp: NOW + 60 }, SECRET)),
      code: 'token_header_invalid',
      status401: 401,
      challenge401: `${REALM}, error="invalid_token"`,
    },
    {
      name: 'a valid token failing the policy',
      rawHeaders: [...bearer(token()), 'X-Auth-Require', 'role=admin'],
      code: 'insufficient_scope',
      status401: 403,
      challenge401: `${REALM}, error="insufficient_scope"`,
      challenge403: `${REALM}, error="insufficient_scope"`,
    },
    {
      name: 'a valid token failing a query policy',
      rawHeaders: bearer(token()),
      query: 'scope=write',
      code: 'insufficient_scope',
      status401: 403,
      challenge401: `${REALM}, error="insufficient_scope"`,
      challenge403: `${REALM}, error="insufficient_scope"`,
    },
    {
      name: 'an unparseable policy',
      rawHeaders: [...bearer(token()), 'X-Auth-Require', 'rolez=admin'],
      code: 'policy_invalid',
      status401: 403,
      challenge401: undefined,
    },
    { name: 'an unparseable policy and no token', rawHeaders: ['X-Auth-Require', 'rolez=admin'], code: 'token_missing', status401: 401, challenge401: REALM },
    {
      name: 'an identity claim too large to pass on',
      rawHeaders: bearer(token({ sub: 'a'.repeat(3000) })),
      code: 'identity_too_large',
      status401: 403,
      challenge401: undefined,
    },
  ];

  for (const row of rows) {
    test(`${row.name} → 403 ${row.code} in the default mode`, () => {
      const decision = deny403({ rawHeaders: row.rawHeaders, query: row.query ?? '' });
      assert.equal(decision.status, 403);
      assert.equal(decision.code, row.code);
      assert.deepEqual(headersOf(decision)['www-authenticate'], row.challenge403 === undefined ? undefined : [row.challenge403]);
    });
    test(`${row.name} → ${row.status401} ${row.code} in the 401 mode`, () => {
      const decision = deny401({ rawHeaders: row.rawHeaders, query: row.query ?? '' });
      assert.equal(decision.status, row.status401);
      assert.equal(decision.code, row.code);
      assert.deepEqual(headersOf(decision)['www-authenticate'], row.challenge401 === undefined ? undefined : [row.challenge401]);
    });
    test(`${row.name}: X-Auth-Error, a JSON body with the code only, X-Accel-Expires 0`, () => {
      for (const check of [deny403, deny401]) {
        const decision = check({ rawHeaders: row.rawHeaders, query: row.query ?? '' });
        const headers = headersOf(decision);
        assert.deepEqual(headers['x-auth-error'], [row.code]);
        assert.deepEqual(headers['content-type'], ['application/json']);
        assert.deepEqual(headers['cache-control'], ['no-store']);
        assert.deepEqual(headers['x-accel-expires'], ['0']);
        assert.deepEqual(JSON.parse(decision.body), { error: row.code });
        assert.equal(decision.claims, undefined);
        assert.equal(headers['x-auth-user'], undefined);
      }
    });
  }

  test('the realm comes from CHECK_REALM, with quotes and backslashes removed', () => {
    const decision = checkFor({ CHECK_UNAUTHENTICATED_STATUS: '401', CHECK_REALM: 'my "app"\\' })({ rawHeaders: [], query: '' });
    assert.deepEqual(headersOf(decision)['www-authenticate'], ['Bearer realm="my app"']);
  });

  test('an unexpected failure is still a deny (check_failed, 403), with its cause kept for the log', () => {
    const config = loadConfig({ ...files.env('HS256'), CHECK_UNAUTHENTICATED_STATUS: '401' });
    const bug = new TypeError('boom');
    const decideAccess = createAccessDecider({
      config,
      verify: Object.assign(
        () => {
          throw bug;
        },
        {
          verdict: () => {
            throw bug;
          },
        },
      ),
      identityHeaders: createIdentityHeaders(config.identityHeaders),
      revocations: new RevocationList(),
    });
    const check = checkOutcomes(decideAccess, createCheckAnswers(config));
    const decision = check({ rawHeaders: bearer(token()), query: '' });
    assert.equal(decision.status, 403);
    assert.equal(decision.code, 'check_failed');
    assert.equal(decision.cause, bug);
    assert.deepEqual(JSON.parse(decision.body), { error: 'check_failed' });
    assert.ok(!decision.body.includes('boom'));
  });
});

describe('allows', () => {
  test('200, the identity headers, an empty body and the claims', () => {
    const decision = checkFor({ IDENTITY_HEADERS: 'sub:X-Auth-User,roles:X-Auth-Roles' })({ rawHeaders: bearer(token()), query: '' });
    assert.equal(decision.status, 200);
    assert.equal(decision.code, undefined);
    assert.equal(decision.body, '');
    const headers = headersOf(decision);
    assert.deepEqual(headers['x-auth-user'], ['alice']);
    assert.deepEqual(headers['x-auth-roles'], ['editor']);
    assert.equal(headers['x-auth-error'], undefined);
    assert.equal(headers['www-authenticate'], undefined);
    assert.equal(decision.claims?.sub, 'alice');
  });

  test('a policy that holds (header and query together) allows', () => {
    const decision = checkFor()({ rawHeaders: [...bearer(token({ scope: 'read write' })), 'X-Auth-Require', 'role=admin,editor'], query: 'scope=read' });
    assert.equal(decision.status, 200);
  });

  test('identity headers are sanitised: a CR/LF in a claim cannot add a header', () => {
    const decision = checkFor({ IDENTITY_HEADERS: 'sub:X-Auth-User' })({ rawHeaders: bearer(token({ sub: 'alice\r\nX-Auth-Roles: admin' })), query: '' });
    const headers = headersOf(decision);
    assert.deepEqual(headers['x-auth-user'], ['alice%0D%0AX-Auth-Roles: admin']);
    assert.ok(decision.headers.every((part) => !/[\r\n]/.test(part)));
    assert.equal(headers['x-auth-roles'], undefined);
  });

  test('the token from the configured cookie is accepted', () => {
    const decision = checkFor({ TOKEN_COOKIE: 'jwt' })({ rawHeaders: ['Cookie', `a=b; jwt=${token()}`], query: '' });
    assert.equal(decision.status, 200);
  });

  test('a raw token is accepted only with CHECK_ACCEPT_RAW_TOKEN=true', () => {
    assert.equal(checkFor()({ rawHeaders: ['Authorization', token()], query: '' }).code, 'token_malformed');
    assert.equal(checkFor({ CHECK_ACCEPT_RAW_TOKEN: 'true' })({ rawHeaders: ['Authorization', token()], query: '' }).status, 200);
  });
});

describe('X-Accel-Expires on allows never reaches past exp', () => {
  const rows: Array<[name: string, maxAge: string, claims: Record<string, unknown>, expected: string]> = [
    ['a long-lived token: the configured bound', '60s', { exp: NOW + 3600 }, '60'],
    ['a token expiring sooner than the bound: its remaining life', '60s', { exp: NOW + 10 }, '10'],
    ['a fractional exp is rounded down', '60s', { exp: NOW + 10.9 }, '10'],
    ['a token one second from exp', '5m', { exp: NOW + 1 }, '1'],
    ['a token at its exp (still inside the clock tolerance): 0', '60s', { exp: NOW }, '0'],
    ['a token past exp but inside the clock tolerance: 0, never negative', '60s', { exp: NOW - 20 }, '0'],
  ];
  for (const [name, maxAge, claims, expected] of rows) {
    test(`${name} → ${expected}`, () => {
      const decision = checkFor({ CHECK_CACHE_MAX_AGE: maxAge })({ rawHeaders: bearer(token(claims)), query: '' });
      assert.equal(decision.status, 200);
      assert.deepEqual(headersOf(decision)['x-accel-expires'], [expected]);
    });
  }

  test('a token without exp (JWT_REQUIRE_EXP=false): the configured bound', () => {
    const decision = checkFor({ CHECK_CACHE_MAX_AGE: '30s', JWT_REQUIRE_EXP: 'false' })({ rawHeaders: bearer(token({ exp: undefined })), query: '' });
    assert.deepEqual(headersOf(decision)['x-accel-expires'], ['30']);
  });

  test('denials carry 0 even when caching is configured', () => {
    const decision = checkFor({ CHECK_CACHE_MAX_AGE: '60s' })({ rawHeaders: bearer(token({ exp: NOW - 3600 })), query: '' });
    assert.deepEqual(headersOf(decision)['x-accel-expires'], ['0']);
  });

  // Without the header, an auth location with proxy_cache_valid would cache allows past exp.
  test('without CHECK_CACHE_MAX_AGE an allow says X-Accel-Expires: 0', () => {
    const decision = checkFor()({ rawHeaders: bearer(token()), query: '' });
    assert.deepEqual(headersOf(decision)['x-accel-expires'], ['0']);
  });
});

describe('a malformed anything is a deny, never a 5xx', () => {
  const names = fc.constantFrom('Authorization', 'authorization', 'Cookie', 'X-Auth-Require', 'x-auth-require', 'Host', 'X-Other');
  const value = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string().map((text) => `Bearer ${text}`),
    fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((parts) => `Bearer ${parts.join('.')}`),
    fc.constantFrom('role=', 'role=admin', 'claim.=', ';;;', '=', 'scope=read'),
  );
  const rawHeaders = fc.array(fc.tuple(names, value), { maxLength: 6 }).map((pairs) => pairs.flat());
  const query = fc.oneof(fc.constant(''), fc.string({ unit: 'binary', maxLength: 50 }), fc.constantFrom('role=admin', '%', '%E0%A4%A', 'a=b&&&'));

  for (const [mode, check] of [
    ['403', checkFor({ TOKEN_COOKIE: 'jwt' })],
    ['401', checkFor({ TOKEN_COOKIE: 'jwt', CHECK_UNAUTHENTICATED_STATUS: '401' })],
  ] as const) {
    test(`random headers and queries (${mode} mode) → 401 or 403 with a code`, () => {
      fc.assert(
        fc.property(rawHeaders, query, (headers, q) => {
          const decision = check({ rawHeaders: headers, query: q });
          assert.ok(decision.status === 401 || decision.status === 403, `status ${decision.status}`);
          assert.ok(decision.code !== undefined && decision.code !== 'check_failed', `code ${decision.code}`);
          assert.deepEqual(JSON.parse(decision.body), { error: decision.code });
        }),
        { numRuns: 500 },
      );
    });
  }
});

describe('revocation at /check: its own code, after the signature, before any reused allow', () => {
  const lifetimes = { clockToleranceMs: 30_000, maxTokenLifetimeMs: 86_400_000, maxSessionLifetimeMs: 43_200_000 };
  const revocations = new RevocationList(() => NOW * 1000);
  // The verify cache and the allow memo are on by default: a token allowed once is a cached claims object.
  const check = checkFor({}, NOW, revocations);
  const alice1 = token({ jti: 'a-1', iat: NOW - 60 });
  const alice2 = token({ jti: 'a-2', iat: NOW - 30 });
  const bob = token({ sub: 'bob', jti: 'b-1', iat: NOW - 60 });

  test('a token revoked by its jti after it was allowed (and cached) is denied token_revoked', () => {
    assert.equal(check({ rawHeaders: bearer(alice1), query: '' }).status, 200);
    assert.ok(revocations.add(revocationOfToken('a-1', NOW + 3600, lifetimes, NOW * 1000) as never));
    const decision = check({ rawHeaders: bearer(alice1), query: '' });
    assert.equal(decision.code, 'token_revoked');
    assert.equal(decision.status, 403);
    assert.deepEqual(headersOf(decision)['x-auth-error'], ['token_revoked']);
    assert.equal(check({ rawHeaders: bearer(alice2), query: '' }).status, 200, 'another token of the same subject still passes');
  });

  test('a subject revocation denies every token of that subject issued up to its second, and none issued after', () => {
    revocations.add(revocationOfSubject('alice', lifetimes, NOW * 1000));
    assert.equal(check({ rawHeaders: bearer(alice2), query: '' }).code, 'token_revoked');
    assert.equal(check({ rawHeaders: bearer(token({ jti: 'a-3', iat: NOW })), query: '' }).code, 'token_revoked', 'the same second counts as before');
    assert.equal(check({ rawHeaders: bearer(token({ jti: 'a-4' })), query: '' }).code, 'token_revoked', 'without iat: could be from before');
    assert.equal(check({ rawHeaders: bearer(token({ jti: 'a-5', iat: NOW + 1 })), query: '' }).status, 200, 'a login after the revocation passes');
    assert.equal(check({ rawHeaders: bearer(bob), query: '' }).status, 200);
  });

  test('a session revocation (a logout) denies every token of that session, whatever its jti, and no other session', () => {
    const session = (jti: string, sid: string) => token({ sub: 'carol', jti, sid, auth_time: NOW - 600, iat: NOW - 10 });
    assert.equal(check({ rawHeaders: bearer(session('c-1', 'session-1')), query: '' }).status, 200);
    assert.ok(revocations.add(revocationOfSession('session-1', NOW - 600, NOW + 3600, lifetimes, NOW * 1000) as never));
    assert.equal(check({ rawHeaders: bearer(session('c-1', 'session-1')), query: '' }).code, 'token_revoked');
    assert.equal(check({ rawHeaders: bearer(session('c-2', 'session-1')), query: '' }).code, 'token_revoked', 'a token renewed or refreshed from it');
    assert.equal(check({ rawHeaders: bearer(session('c-3', 'session-2')), query: '' }).status, 200, 'another login of the same user');
  });

  test('a forged token naming a revoked jti is still denied for its signature, not told about revocation', () => {
    assert.equal(check({ rawHeaders: bearer(tamperSignature(alice1)), query: '' }).code, 'token_signature_invalid');
  });
});

describe('the revocation list', () => {
  const lifetimes = { clockToleranceMs: 30_000, maxTokenLifetimeMs: 3_600_000, maxSessionLifetimeMs: 7_200_000 };
  test('an entry stays until its token expires (exp plus the clock tolerance), then the sweep removes it', () => {
    let now = 1_000_000_000_000;
    const list = new RevocationList(() => now);
    const entry = revocationOfToken('j', now / 1000 + 60, lifetimes, now);
    assert.deepEqual(entry, { kind: 'jti', jti: 'j', untilMs: now + 60_000 + 30_000 });
    list.add(entry as never);
    now += 89_000;
    assert.equal(list.sweep(), 0);
    assert.equal(list.isRevoked({ jti: 'j' }), true);
    now += 2_000;
    assert.equal(list.sweep(), 1);
    assert.deepEqual(list.size, { jti: 0, sid: 0, sub: 0 });
  });
  test('without exp (revoke --jti without --exp) a token id is kept as long as any token can live', () => {
    assert.deepEqual(revocationOfToken('j', undefined, lifetimes, 1000), { kind: 'jti', jti: 'j', untilMs: 1000 + 3_600_000 + 30_000 });
  });
  test('a token without jti gives no revocation', () => assert.equal(revocationOfToken(undefined, 1, lifetimes), undefined));
  test('a session is kept until it has ended: its login plus SESSION_MAX_LIFETIME, or the token exp if later; without auth_time as long as anything lasts', () => {
    const now = 1_000_000_000_000;
    assert.deepEqual(revocationOfSession('s', now / 1000 - 60, now / 1000 + 600, lifetimes, now), {
      kind: 'sid',
      sid: 's',
      untilMs: now - 60_000 + 7_200_000 + 30_000,
    });
    assert.deepEqual(revocationOfSession('s', now / 1000 - 7_200, now / 1000 + 600, lifetimes, now), {
      kind: 'sid',
      sid: 's',
      untilMs: now + 600_000 + 30_000,
    });
    assert.deepEqual(revocationOfSession('s', undefined, undefined, lifetimes, now), { kind: 'sid', sid: 's', untilMs: now + 7_200_000 + 30_000 });
    assert.equal(revocationOfSession(undefined, 1, 1, lifetimes), undefined);
    assert.equal(revocationOfSession('', 1, 1, lifetimes), undefined);
  });
  test('a subject revocation lasts as long as the longest token or session begun before it (refresh tokens included)', () => {
    assert.equal(revocationOfSubject('s', lifetimes, 1000).untilMs, 1000 + 7_200_000 + 30_000);
    assert.equal(revocationOfSubject('s', { ...lifetimes, maxSessionLifetimeMs: 60_000 }, 1000).untilMs, 1000 + 3_600_000 + 30_000);
  });
  test('an expired entry is not added; a later subject cut-off replaces an earlier one', () => {
    const list = new RevocationList(() => 10_000_000);
    assert.equal(list.add({ kind: 'jti', jti: 'old', untilMs: 9_999_999 }), false);
    assert.equal(list.add({ kind: 'sub', sub: 's', issuedUpToSec: 100, untilMs: 20_000_000 }), true);
    assert.equal(list.add({ kind: 'sub', sub: 's', issuedUpToSec: 50, untilMs: 15_000_000 }), false, 'an earlier one changes nothing');
    assert.equal(list.add({ kind: 'sub', sub: 's', issuedUpToSec: 200, untilMs: 20_000_000 }), true);
    assert.equal(list.isRevoked({ sub: 's', iat: 150 }), true);
    assert.equal(list.isRevoked({ sub: 's', iat: 201 }), false);
  });
  test('entries survive their encoding for Redis; anything else decodes to nothing', () => {
    const list = new RevocationList(() => 0);
    const entries = [
      { kind: 'jti', jti: 'with spaces and : colons', untilMs: 5 },
      { kind: 'sid', sid: 'a session: id', untilMs: 6 },
      { kind: 'sub', sub: 'user:with:colons\nand a newline', issuedUpToSec: 7, untilMs: 9 },
    ] as const;
    for (const entry of entries) {
      list.add(entry);
      assert.deepEqual(decodeRevocation(encodeRevocation(entry), entry.untilMs), entry);
    }
    for (const garbage of ['', 'j:', 'x:', 'y:1', 's:abc:u', 's:1:']) assert.equal(decodeRevocation(garbage, 5), undefined, garbage);
    assert.equal(decodeRevocation('j:ok', Number.NaN), undefined);
  });
});
