/**
 * Cookie mode through a real nginx with the repository's configuration: a page of another site can
 * neither log its visitor in (login CSRF) nor send an unsafe request on the cookie the browser
 * attaches by itself, while the site's own pages can. nginx forwards the client's Host with its port
 * (X-Forwarded-Host $http_host), Origin and Sec-Fetch-Site; the service compares them.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { HttpResponse } from '../../support/http.js';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { useStack } from '../../support/stack.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite());
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const CROSS_SITE = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };

function setCookies(res: HttpResponse): string[] {
  return res.headers['set-cookie'] ?? [];
}

describe('nginx in cookie mode refuses cross-site logins and unsafe cross-site requests', { skip, timeout: 120_000 }, () => {
  const { stack: s, spec } = useStack('cross-site', { serviceEnv: { TOKEN_COOKIE: 'jwt', LOGIN_SET_COOKIE: 'true', COOKIE_SECURE: 'false' } });
  /** What a page of the site itself sends: its origin is nginx's own, port included. */
  const sameOrigin = (): Record<string, string> => ({ origin: s().nginx.url, 'sec-fetch-site': 'same-origin' });
  let cookie = '';

  spec('a cross-site form POST to /login gets 403 cross_site_request and no cookie', async () => {
    const res = await s().request('/login', { method: 'POST', headers: { ...FORM, ...CROSS_SITE }, body: 'username=bob&password=bob-password' });
    assert.equal(res.status, 403);
    assert.deepEqual(res.json(), { error: 'cross_site_request' });
    assert.equal(setCookies(res).length, 0);
  });

  spec("the same form POST from the site's own page logs in and sets the cookie", async () => {
    const res = await s().request('/login', { method: 'POST', headers: { ...FORM, ...sameOrigin() }, body: 'username=alice&password=alice-password' });
    assert.equal(res.status, 200, res.text());
    const [set] = setCookies(res);
    assert.match(set ?? '', /^jwt=eyJ/);
    cookie = (set ?? '').split(';')[0] ?? '';
  });

  spec('a cross-site POST with the cookie to a protected location is denied, and the app never sees it', async () => {
    assert.ok(cookie, 'logged in');
    s().appRecorder.clear();
    const res = await s().request('/api/items', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', ...CROSS_SITE },
      body: '{"delete":"everything"}',
    });
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-auth-error'], 'cross_site_request');
    assert.equal(s().appRecorder.records.length, 0);
  });

  spec("the same POST from the site's own page is allowed", async () => {
    const res = await s().request('/api/items', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', ...sameOrigin() },
      body: '{"name":"x"}',
    });
    assert.equal(res.status, 200, res.text());
    const echo = res.json<{ method: string; identity: Record<string, string> }>();
    assert.equal(echo.method, 'POST');
    assert.equal(echo.identity['X-Auth-User'], 'alice');
  });

  spec('a cross-site GET with the cookie (a link) is allowed', async () => {
    const res = await s().request('/whoami', { headers: { cookie, ...CROSS_SITE } });
    assert.equal(res.status, 200);
    assert.equal(res.json().user, 'alice');
  });

  spec("a cross-site POST to /logout is refused and clears nothing; the site's own one clears the cookie", async () => {
    const cross = await s().request('/logout', { method: 'POST', headers: CROSS_SITE });
    assert.equal(cross.status, 403);
    assert.equal(setCookies(cross).length, 0);
    const own = await s().request('/logout', { method: 'POST', headers: sameOrigin() });
    assert.equal(own.status, 204);
    assert.match(setCookies(own)[0] ?? '', /^jwt=;/);
  });
});
