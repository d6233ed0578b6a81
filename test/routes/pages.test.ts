/**
 * The browser side of /login and /logout and the page nginx asks for on a deny, on the in-process
 * service: a browser's form gets a redirect (never the token) or the form with a sentence; an API
 * client's request to the same routes is answered exactly as before.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { json, request, setCookies } from '../../support/http.js';
import { KeyFiles } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { ALICE, refusedUrl, startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';
import { mintToken } from '../../support/tokens.js';

const files = new KeyFiles();
let stub: StubAuthenticator;
let svc: InProcessService;
let down: InProcessService;
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'content-type': 'application/x-www-form-urlencoded' };
const FORM = `username=${ALICE.username}&password=${ALICE.password}`;

before(async () => {
  stub = await startStubAuthenticator();
  const env = { ...files.env('HS256'), TOKEN_COOKIE: 'jwt_auth', LOGIN_SET_COOKIE: 'true', LOGIN_PATH_PREFIX: '/auth', LOGIN_REDIRECT_DEFAULT: '/home' };
  svc = await startServiceInProcess({ ...env, AUTHENTICATOR_URL: stub.url });
  down = await startServiceInProcess({ ...env, AUTHENTICATOR_URL: await refusedUrl() });
});
afterEach(() => stub.reset());
after(async () => {
  await svc?.close();
  await down?.close();
  await stub?.close();
  files.remove();
});

describe('a browser signing in (LOGIN_PATH_PREFIX=/auth)', { timeout: 30_000 }, () => {
  test('success: 303 to next with the HttpOnly cookie, and no token in the answer', async () => {
    const reply = await request(`${svc.url}/auth/login?next=%2Fadmin%2F%3Fa%3D1%26b%3D2`, { method: 'POST', headers: BROWSER, body: FORM });
    assert.equal(reply.status, 303);
    assert.equal(reply.headers.location, '/admin/?a=1&b=2');
    const [cookie = ''] = setCookies(reply);
    assert.match(cookie, /^jwt_auth=eyJ.*HttpOnly/);
    assert.doesNotMatch(reply.body, /eyJ/);
  });
  test('a next off this site goes to LOGIN_REDIRECT_DEFAULT', async () => {
    const reply = await request(`${svc.url}/auth/login?next=//evil.example/`, { method: 'POST', headers: BROWSER, body: FORM });
    assert.equal(reply.headers.location, '/home');
  });
  test('a wrong password: the form again, 401, a sentence, no cookie', async () => {
    const reply = await request(`${svc.url}/auth/login`, { method: 'POST', headers: BROWSER, body: 'username=alice&password=nope' });
    assert.equal(reply.status, 401);
    assert.match(String(reply.headers['content-type']), /^text\/html/);
    assert.match(reply.body, /The username or password is not right/);
    assert.match(reply.body, /action="\/auth\/login"/);
    assert.equal(setCookies(reply).length, 0);
  });
  test('the authenticator down: 502 and a sentence, no cookie', async () => {
    const reply = await request(`${down.url}/auth/login`, { method: 'POST', headers: BROWSER, body: FORM });
    assert.equal(reply.status, 502);
    assert.match(reply.body, /the account service is not answering/);
    assert.equal(setCookies(reply).length, 0);
  });
  test('a form from another site (cookie mode): 403 and a sentence', async () => {
    const reply = await request(`${svc.url}/auth/login`, { method: 'POST', headers: { ...BROWSER, origin: 'https://evil.example' }, body: FORM });
    assert.equal(reply.status, 403);
    assert.match(reply.body, /sent from another site/);
  });
  test('an API client posting the same form without asking for HTML still gets JSON with the token', async () => {
    const reply = await request(`${svc.url}/auth/login`, { method: 'POST', headers: { 'content-type': BROWSER['content-type'] }, body: FORM });
    assert.equal(reply.status, 200);
    assert.equal(typeof json(reply).token, 'string');
  });
  test('/login itself is not served under a prefix', async () => {
    assert.equal((await request(`${svc.url}/login`, { headers: { accept: 'text/html' } })).status, 404);
  });
});

describe('a browser signing out', { timeout: 30_000 }, () => {
  test('303 to the signed-out page, the cookie cleared; an API client still gets 204', async () => {
    const page = await request(`${svc.url}/auth/logout`, { method: 'POST', headers: BROWSER, body: '' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/auth/logout');
    assert.match(setCookies(page)[0] ?? '', /^jwt_auth=; Max-Age=0/);
    assert.equal((await request(`${svc.url}/auth/logout`, { method: 'POST' })).status, 204);
  });
  test('next after signing out: to sign in again, back to the page', async () => {
    const page = await request(`${svc.url}/auth/logout?next=${encodeURIComponent('/auth/login?next=%2Fadmin%2F')}`, {
      method: 'POST',
      headers: BROWSER,
      body: '',
    });
    assert.equal(page.headers.location, '/auth/login?next=%2Fadmin%2F');
  });
});

describe('a browser signing out with LOGOUT_REDIRECT', { timeout: 30_000 }, () => {
  let goodbye: InProcessService;
  before(async () => {
    goodbye = await startServiceInProcess({
      ...files.env('HS256'),
      TOKEN_COOKIE: 'jwt_auth',
      LOGIN_SET_COOKIE: 'true',
      LOGOUT_REDIRECT: '/goodbye?from=logout',
    });
  });
  after(() => goodbye.close());
  test('goes there, signed out (the cookie cleared, the token revoked), unless a next on this site says otherwise', async () => {
    const token = await mintToken(files.secret('HS256'), { sub: 'alice', jti: 'goodbye-1' });
    const page = await request(`${goodbye.url}/logout`, { method: 'POST', headers: { ...BROWSER, cookie: `jwt_auth=${token}` }, body: '' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/goodbye?from=logout');
    assert.match(setCookies(page)[0] ?? '', /^jwt_auth=; Max-Age=0/);
    const check = await request(`${goodbye.url}/check`, { headers: { cookie: `jwt_auth=${token}` } });
    assert.equal(check.headers['x-auth-error'], 'token_revoked');
    const withNext = await request(`${goodbye.url}/logout?next=%2Flogin`, { method: 'POST', headers: BROWSER, body: '' });
    assert.equal(withNext.headers.location, '/login');
    const offSite = await request(`${goodbye.url}/logout?next=//evil.example/`, { method: 'POST', headers: BROWSER, body: '' });
    assert.equal(offSite.headers.location, '/goodbye?from=logout', 'a next off this site falls back to LOGOUT_REDIRECT');
  });
});

describe('the page nginx shows a browser on a deny (GET /deny-page)', { timeout: 30_000 }, () => {
  const deny = (headers: Record<string, string>) => request(`${svc.url}/deny-page`, { headers: { accept: 'text/html', ...headers } });
  test('not signed in: 302 to sign in, the URI percent-encoded', async () => {
    const reply = await deny({ 'x-auth-error': 'token_expired', 'x-original-uri': '/admin/?a=1&b=2' });
    assert.equal(reply.status, 302);
    assert.equal(reply.headers.location, `/auth/login?next=${encodeURIComponent('/admin/?a=1&b=2')}`);
  });
  test('a URI off this site is never carried along', async () => {
    const reply = await deny({ 'x-auth-error': 'token_missing', 'x-original-uri': '//evil.example/' });
    assert.equal(reply.headers.location, '/auth/login');
  });
  test('insufficient_scope: 403, who is signed in (from the cookie), what the page needs', async () => {
    const token = await mintToken(files.secret('HS256'), { sub: 'bob', name: 'Bob', roles: ['user'] });
    const reply = await deny({
      'x-auth-error': 'insufficient_scope',
      'x-original-uri': '/admin/',
      'x-auth-require': 'role=admin',
      cookie: `jwt_auth=${token}`,
    });
    assert.equal(reply.status, 403);
    assert.match(reply.body, /signed in as <strong>Bob<\/strong> \(bob\)/);
    assert.match(reply.body, /needs the role admin/);
    assert.match(reply.body, /action="\/auth\/logout\?next=%2Fauth%2Flogin%3Fnext%3D%252Fadmin%252F"/);
  });
  test('without LOGIN_SET_COOKIE a browser is not sent to a form that could not keep it signed in', async () => {
    const apiOnly = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url });
    try {
      const reply = await request(`${apiOnly.url}/deny-page`, { headers: { 'x-auth-error': 'token_missing', 'x-original-uri': '/x' } });
      assert.equal(reply.status, 403);
      assert.match(reply.body, /Sign-in needed/);
    } finally {
      await apiOnly.close();
    }
  });
  test('an unknown or empty code is a plain refusal page, never a sign-in loop', async () => {
    for (const code of ['', 'forbidden', '<script>']) {
      const reply = await deny({ 'x-auth-error': code, 'x-original-uri': '/x' });
      assert.equal(reply.status, 403);
      assert.doesNotMatch(reply.body, /<script>[^<]*<\/script>[\s\S]*<script>/);
    }
  });
});
