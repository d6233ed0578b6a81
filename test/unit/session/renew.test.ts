/**
 * Session renewal as /check decides it, on a fixed clock: which tokens are re-signed (a cookie token
 * of ours, in its renewal window, with life left in its session), what the new token is (same
 * subject, claims and session, a later exp that never passes the session's end), and what the allow
 * that carries it looks like (a Set-Cookie, never cacheable). Through a real nginx in
 * test/integration/nginx-session-renewal.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createCheckAnswers } from '../../../src/check/answer.js';
import { createAccessDecider } from '../../../src/check/decision.js';
import { loadConfig } from '../../../src/config/index.js';
import { createIdentityHeaders } from '../../../src/identity-headers.js';
import { staticKeySource } from '../../../src/key-source.js';
import { loadKeys } from '../../../src/keys.js';
import { createLogger } from '../../../src/logging.js';
import { createTokenIssuer } from '../../../src/login/issue.js';
import { RevocationList } from '../../../src/revocation/list.js';
import { createSessionRenewer } from '../../../src/session/renew.js';
import { createTokenSigner } from '../../../src/token/sign.js';
import { createTokenVerifier } from '../../../src/token/verify.js';
import { checkOutcomes, type CheckOutcome } from '../../../support/check.js';
import { headerOf, payloadOf, signJws } from '../../../support/jws.js';
import { KeyFiles } from '../../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

const LOGIN = 1_750_000_000;
/** JWT_TTL 10m, renewed in its last 4m, sessions of at most 30m. */
const ENV = { TOKEN_COOKIE: 'jwt', LOGIN_SET_COOKIE: 'true', JWT_TTL: '10m', SESSION_RENEW_BEFORE: '4m', SESSION_MAX_LIFETIME: '30m' };

/** A service's /check at `now`, and its issuer at the time of login. */
function serviceAt(now: number, env: Record<string, string> = {}) {
  const config = loadConfig({ ...files.env('HS256'), ...ENV, ...env });
  const keys = loadKeys(config.jwt);
  const signing = keys.signing ?? assert.fail('no signing key');
  const logs: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(line) });
  const issuerAt = (at: number) =>
    createTokenIssuer({
      signer: createTokenSigner(config.jwt, signing, { now: () => at }),
      jwt: config.jwt,
      cookie: config.cookie,
      session: config.session,
      now: () => at,
    });
  const renew = createSessionRenewer({
    session: config.session,
    cookie: config.cookie,
    signingKid: () => signing.kid,
    issue: issuerAt(now),
    logger,
    now: () => now,
  });
  const decide = createAccessDecider({
    config,
    verify: createTokenVerifier(config.jwt, staticKeySource(keys), { clockTimestamp: now * 1000 }),
    identityHeaders: createIdentityHeaders(config.identityHeaders),
    revocations: new RevocationList(() => now * 1000),
    renew,
    now: () => now,
  });
  const check = checkOutcomes(decide, createCheckAnswers(config));
  /** A login's token at `at`, as /login would issue it. */
  const login = (at = LOGIN, claims: Record<string, unknown> = { name: 'Alice' }) => issuerAt(at)('alice', claims, logger, 'login succeeded').body.token;
  return { check, login, logs, kid: signing.kid, secret: files.secret('HS256'), renewer: renew };
}

const cookie = (token: string) => ['Cookie', `jwt=${token}`];

function headerValues(outcome: CheckOutcome, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < outcome.headers.length; i += 2) if ((outcome.headers[i] as string).toLowerCase() === name) values.push(outcome.headers[i + 1] as string);
  return values;
}

/** The token of a renewal answer's Set-Cookie, and its attributes. */
function renewedToken(outcome: CheckOutcome): { token: string; attributes: string[] } {
  const [setCookie, ...more] = headerValues(outcome, 'set-cookie');
  assert.ok(setCookie !== undefined, 'expected a Set-Cookie');
  assert.equal(more.length, 0);
  const [pair = '', ...attributes] = setCookie.split('; ');
  assert.ok(pair.startsWith('jwt='));
  return { token: pair.slice('jwt='.length), attributes };
}

describe('which cookie tokens are renewed', () => {
  test('outside the renewal window: a plain allow, no Set-Cookie', () => {
    const { check, login } = serviceAt(LOGIN + 5 * 60);
    const outcome = check({ rawHeaders: cookie(login()), query: '' });
    assert.equal(outcome.code, undefined);
    assert.deepEqual(headerValues(outcome, 'set-cookie'), []);
  });

  test('in the window: the allow carries a new token of the same session, with a later exp; the old one still passes', () => {
    const at = LOGIN + 7 * 60;
    const { check, login, logs } = serviceAt(at);
    const old = login();
    const outcome = check({ rawHeaders: cookie(old), query: '' });
    assert.equal(outcome.code, undefined);
    assert.equal(headerValues(outcome, 'x-auth-user')[0], 'alice');
    const { token, attributes } = renewedToken(outcome);
    const before = payloadOf(old);
    const after = payloadOf(token);
    assert.deepEqual(
      { sub: after.sub, name: after.name, auth_time: after.auth_time, sid: after.sid },
      { sub: 'alice', name: 'Alice', auth_time: LOGIN, sid: before.sid },
    );
    assert.equal(after.iat, at);
    assert.equal(after.exp, at + 600);
    assert.notEqual(after.jti, before.jti);
    assert.ok(attributes.includes('Max-Age=600') && attributes.includes('HttpOnly'), attributes.join('; '));
    // The renewed token passes, outside its own window; the old one still does until its exp.
    assert.deepEqual(headerValues(serviceAt(at).check({ rawHeaders: cookie(token), query: '' }), 'set-cookie'), []);
    assert.equal(check({ rawHeaders: cookie(old), query: '' }).code, undefined);
    assert.match(logs.join(''), /"event":"renew".*"msg":"session renewed"/);
    assert.doesNotMatch(logs.join(''), new RegExp(token.slice(-20)));
  });

  test('a renewal answer is never cacheable and never memoised: X-Accel-Expires 0, no-store', () => {
    const { check, login } = serviceAt(LOGIN + 7 * 60, { CHECK_CACHE_MAX_AGE: '60s' });
    const outcome = check({ rawHeaders: cookie(login()), query: '' });
    assert.deepEqual(headerValues(outcome, 'x-accel-expires'), ['0']);
    assert.deepEqual(headerValues(outcome, 'cache-control'), ['no-store']);
  });

  test('the same old token sent again gets the same new token (one signature per old token), with a Max-Age that counts down', () => {
    const { check, login } = serviceAt(LOGIN + 7 * 60);
    const old = login();
    const first = renewedToken(check({ rawHeaders: cookie(old), query: '' }));
    const second = renewedToken(check({ rawHeaders: cookie(old), query: '' }));
    assert.equal(second.token, first.token);
  });

  test('a renewal never passes the session end: exp is capped at auth_time + SESSION_MAX_LIFETIME, and a token at that end is not renewed', () => {
    const at = LOGIN + 25 * 60;
    const { check } = serviceAt(at);
    // A token issued at 18m (a renewal of this login) is in its window at 25m; its session ends at 30m.
    const previous = signJwsOfSession(serviceAt(at), LOGIN + 18 * 60);
    const { token } = renewedToken(check({ rawHeaders: cookie(previous), query: '' }));
    assert.equal(payloadOf(token).exp, LOGIN + 30 * 60);
    assert.equal(payloadOf(token).auth_time, LOGIN);
    // That token's exp is the session's end: nothing later can be given, so it is not renewed again.
    assert.deepEqual(headerValues(serviceAt(LOGIN + 27 * 60).check({ rawHeaders: cookie(token), query: '' }), 'set-cookie'), []);
    // A token that outlives its session's end (signed while SESSION_MAX_LIFETIME was longer) is not renewed at all.
    const late = serviceAt(LOGIN + 36 * 60);
    const outlived = late.check({ rawHeaders: cookie(signJwsOfSession(late, LOGIN + 29 * 60)), query: '' });
    assert.equal(outlived.code, undefined);
    assert.deepEqual(headerValues(outlived, 'set-cookie'), []);
  });

  test('a token in an Authorization header is never renewed (API clients use refresh tokens)', () => {
    const { check, login } = serviceAt(LOGIN + 7 * 60);
    const outcome = check({ rawHeaders: ['Authorization', `Bearer ${login()}`], query: '' });
    assert.equal(outcome.code, undefined);
    assert.deepEqual(headerValues(outcome, 'set-cookie'), []);
  });

  test('a token the service did not sign is never renewed: a partner key of JWT_VERIFY_JWKS_FILE, no kid, no session claims', () => {
    const at = LOGIN + 7 * 60;
    const partnerSecret = files.secret('HS512');
    const jwks = { keys: [{ kty: 'oct', kid: 'partner', alg: 'HS256', k: Buffer.from(partnerSecret).toString('base64url') }] };
    const { check, kid, secret } = serviceAt(at, { JWT_VERIFY_JWKS_FILE: files.write('partner.jwks.json', JSON.stringify(jwks)) });
    const claims = { sub: 'alice', iat: LOGIN, exp: LOGIN + 600, auth_time: LOGIN, sid: 'abcdefghijklmnopqrstuv' };
    const rows: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ['no kid', { alg: 'HS256', typ: 'JWT' }, claims],
      ['a partner key', { alg: 'HS256', typ: 'JWT', kid: 'partner' }, claims],
      ['no auth_time', { alg: 'HS256', typ: 'JWT', kid }, { ...claims, auth_time: undefined }],
      ['no sid', { alg: 'HS256', typ: 'JWT', kid }, { ...claims, sid: undefined }],
    ];
    for (const [name, header, payload] of rows) {
      const outcome = check({ rawHeaders: cookie(signJws(header, payload, header.kid === 'partner' ? partnerSecret : secret)), query: '' });
      assert.equal(outcome.code, undefined, name);
      assert.deepEqual(headerValues(outcome, 'set-cookie'), [], name);
    }
    // The same token with our kid is renewed: the rows above differ only in what they name.
    assert.equal(renewedToken(check({ rawHeaders: cookie(signJws({ alg: 'HS256', typ: 'JWT', kid }, claims, secret)), query: '' })).token.length > 0, true);
  });

  test('a denied token is never renewed: a failed policy, a bad signature, an expired token', () => {
    const at = LOGIN + 7 * 60;
    const { check, login } = serviceAt(at);
    const token = login();
    const denied = [
      check({ rawHeaders: [...cookie(token), 'X-Auth-Require', 'role=admin'], query: '' }),
      check({ rawHeaders: cookie(`${token.slice(0, -2)}AA`), query: '' }),
      serviceAt(LOGIN + 11 * 60, { JWT_CLOCK_TOLERANCE: '0' }).check({ rawHeaders: cookie(token), query: '' }),
    ];
    for (const outcome of denied) {
      assert.notEqual(outcome.code, undefined);
      assert.deepEqual(headerValues(outcome, 'set-cookie'), []);
    }
  });

  test('renewal is off by default, and needs the service to set the cookie', () => {
    assert.equal(serviceAt(LOGIN, { SESSION_RENEW_BEFORE: '0' }).renewer, undefined);
    assert.throws(
      () => loadConfig({ ...files.env('HS256'), TOKEN_COOKIE: 'jwt', SESSION_RENEW_BEFORE: '1m' }),
      /SESSION_RENEW_BEFORE needs LOGIN_SET_COOKIE=true/,
    );
  });
});

describe('the nginx cache and the renewal window', () => {
  test('a cacheable allow of a cookie token never reaches into its renewal window', () => {
    // 10 minutes left, renewed in the last 4: nginx may cache the allow for 6 minutes at most, then asks again.
    const at = LOGIN;
    const { check, login } = serviceAt(at, { CHECK_CACHE_MAX_AGE: '1h', JWT_TTL: '10m' });
    const token = login();
    assert.deepEqual(headerValues(check({ rawHeaders: cookie(token), query: '' }), 'x-accel-expires'), ['360']);
    // The same token in an Authorization header is never renewed: cached up to its exp.
    assert.deepEqual(headerValues(check({ rawHeaders: ['Authorization', `Bearer ${token}`], query: '' }), 'x-accel-expires'), ['600']);
  });
});

/** A token of the session that logged in at LOGIN, issued at `issuedAt` as a renewal would be. */
function signJwsOfSession(service: ReturnType<typeof serviceAt>, issuedAt: number): string {
  const login = service.login(LOGIN);
  const { sid } = payloadOf(login);
  return signJws(
    headerOf(login),
    { ...payloadOf(login), iat: issuedAt, nbf: issuedAt, exp: issuedAt + 600, jti: 'renewed-once', auth_time: LOGIN, sid },
    service.secret,
  );
}
