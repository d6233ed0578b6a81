/**
 * Captures every log line of a full login + check run at LOG_LEVEL=debug and asserts that no token,
 * password or cookie value appears anywhere in it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { json, request, setCookies } from '../../support/http.js';
import { nowSeconds, signJws, tamperSignature } from '../../support/jws.js';
import { KeyFiles } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { credentialsOf, startStubAuthenticator, type StubAnswer, type StubAuthenticator } from '../../support/stub-authenticator.js';

const unique = (label: string) => `${label}${randomBytes(12).toString('hex')}`;
const PASSWORD = unique('pw');
const WRONG_PASSWORD = unique('wrongpw');
const FORM_PASSWORD = unique('formpw');
const SESSION_COOKIE = unique('sessioncookie');
const OTHER_COOKIE = unique('othercookie');
const GARBAGE_TOKEN = unique('garbagetoken');

const files = new KeyFiles();
let stub: StubAuthenticator;
let svc: InProcessService;
/** Every value that must never reach a log. */
const secrets = new Map<string, string>([
  ['password', PASSWORD],
  ['wrong password', WRONG_PASSWORD],
  ['form password', FORM_PASSWORD],
  ['authenticator session cookie', SESSION_COOKIE],
  ['other cookie', OTHER_COOKIE],
  ['garbage token', GARBAGE_TOKEN],
  ['JWT secret', files.secret('HS256')],
]);

function remember(name: string, token: string): string {
  secrets.set(name, token);
  // A token's payload and signature segments are secret-bearing on their own.
  const [, payload, signature] = token.split('.');
  if (payload) secrets.set(`${name} (payload segment)`, payload);
  if (signature) secrets.set(`${name} (signature segment)`, signature);
  return token;
}

before(async () => {
  stub = await startStubAuthenticator((request): StubAnswer => {
    const credentials = credentialsOf(request);
    if (credentials?.password === PASSWORD || credentials?.password === FORM_PASSWORD) {
      return { status: 200, headers: { 'set-cookie': `session=${SESSION_COOKIE}; HttpOnly; Path=/` }, body: { sub: 'alice', roles: ['admin'] } };
    }
    if (credentials === undefined) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'bad request' };
    return { status: 401, headers: { 'set-cookie': `session=${SESSION_COOKIE}; Max-Age=0` }, body: { error: 'invalid credentials' } };
  });
  svc = await startServiceInProcess({
    ...files.env('HS256'),
    LOG_LEVEL: 'debug',
    AUTHENTICATOR_URL: stub.url,
    AUTHENTICATOR_PASS_COOKIES: 'true',
    TOKEN_COOKIE: 'jwt',
    LOGIN_SET_COOKIE: 'true',
  });
});
after(async () => {
  await svc?.close();
  await stub?.close();
  files.remove();
});

describe('log redaction over a full login + check run', { timeout: 30_000 }, () => {
  test('the run itself behaves (so the log covers real work)', async () => {
    const login = await request(`${svc.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `other=${OTHER_COOKIE}` },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    assert.equal(login.status, 200);
    const token = remember('login token', String(json(login).token));
    assert.ok(
      setCookies(login).some((cookie) => cookie.includes(SESSION_COOKIE)),
      'the authenticator cookie is passed on',
    );

    const form = await request(`${svc.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=alice&password=${FORM_PASSWORD}`,
    });
    assert.equal(form.status, 200);
    remember('form login token', String(json(form).token));

    const wrong = await request(`${svc.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: WRONG_PASSWORD }),
    });
    assert.equal(wrong.status, 401);
    const broken = await request(`${svc.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"username":"alice","password":"${WRONG_PASSWORD}"`,
    });
    assert.equal(broken.status, 400);

    const expired = remember('expired token', signJws({ alg: 'HS256' }, { sub: 'alice', exp: nowSeconds() - 3600 }, files.secret('HS256')));
    const tampered = remember('tampered token', tamperSignature(token));
    const other = remember('another valid token', signJws({ alg: 'HS256' }, { sub: 'bob', exp: nowSeconds() + 3600 }, files.secret('HS256')));

    const checks: Array<[headers: Record<string, string | string[]>, status: number]> = [
      [{ authorization: `Bearer ${token}`, 'x-request-id': 'redaction-1' }, 200],
      [{ cookie: `other=${OTHER_COOKIE}; jwt=${token}` }, 200],
      [{ authorization: `Bearer ${token}`, 'x-original-uri': `/app?access_token=${token}` }, 200],
      [{ authorization: `Bearer ${expired}`, 'x-original-uri': `/app?access_token=${expired}` }, 403],
      [{ authorization: `Bearer ${tampered}` }, 403],
      [{ authorization: `Bearer ${GARBAGE_TOKEN}` }, 403],
      [{ authorization: token }, 403],
      [{ Authorization: [`Bearer ${token}`, `Bearer ${other}`] }, 403],
      [{ authorization: `Bearer ${token}`, cookie: `jwt=${other}; other=${OTHER_COOKIE}` }, 403],
      [{ cookie: `jwt=${expired}; other=${OTHER_COOKIE}` }, 403],
      [{ authorization: `Bearer ${token}`, 'x-auth-require': 'role=superuser' }, 403],
    ];
    for (const [headers, status] of checks) {
      assert.equal((await request(`${svc.url}/check`, { headers })).status, status, JSON.stringify(headers));
    }
    assert.equal((await request(`${svc.url}/logout`, { method: 'POST', headers: { cookie: `jwt=${token}` } })).status, 204);
  });

  test('the log has the expected lines: logins, denials with codes, allows at debug', () => {
    const entries = svc.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(entries.some((entry) => entry.event === 'login' && entry.outcome === 'ok'));
    assert.ok(entries.some((entry) => entry.event === 'login' && entry.outcome === 'rejected'));
    for (const code of ['token_expired', 'token_signature_invalid', 'token_malformed', 'token_ambiguous', 'insufficient_scope']) {
      assert.ok(
        entries.some((entry) => entry.event === 'check' && entry.code === code),
        `no denial logged with ${code}`,
      );
    }
    assert.ok(entries.some((entry) => entry.event === 'check' && entry.result === 'allow' && entry.level === 'debug'));
  });

  test('no token, password or cookie value appears anywhere in the log', () => {
    const log = svc.logs.join('');
    assert.ok(log.length > 0);
    for (const [name, value] of secrets) {
      assert.ok(!log.includes(value), `${name} found in the log:\n${svc.logs.filter((line) => line.includes(value)).join('')}`);
    }
  });
});
