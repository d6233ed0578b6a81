import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { createCrossSiteCheck, isSafeMethod, type SiteSignals } from '../../src/cross-site.js';
import { hmacSecret } from '../../support/keys.js';

const isCrossSite = createCrossSiteCheck(loadConfig({ JWT_SECRET: hmacSecret(), CSRF_ALLOWED_ORIGINS: 'https://app.example' }).csrf);

const NGINX: SiteSignals = { origin: undefined, secFetchSite: undefined, host: 'auth.example', forwardedHost: 'auth.example:8443', forwardedProto: 'https' };
const OWN = 'https://auth.example:8443';

describe('createCrossSiteCheck: which requests come from another site', () => {
  const rows: Array<[name: string, signals: Partial<SiteSignals>, crossSite: boolean]> = [
    ['neither Origin nor Sec-Fetch-Site (curl, server-to-server)', {}, false],
    ['our own origin, port included', { origin: OWN }, false],
    ['our own origin and Sec-Fetch-Site: same-origin', { origin: OWN, secFetchSite: 'same-origin' }, false],
    ['Sec-Fetch-Site: none (typed into the address bar)', { secFetchSite: 'none' }, false],
    ['Sec-Fetch-Site: same-origin without Origin', { secFetchSite: 'same-origin' }, false],
    ['an allow-listed origin, whatever Sec-Fetch-Site says', { origin: 'https://app.example', secFetchSite: 'same-site' }, false],
    ['another origin', { origin: 'https://evil.example' }, true],
    ['another origin claiming same-origin', { origin: 'https://evil.example', secFetchSite: 'same-origin' }, true],
    ['Origin: null (sandboxed frame, cross-site redirect)', { origin: 'null' }, true],
    ['an empty Origin', { origin: '' }, true],
    ['our host on another port (nginx forwarded $http_host)', { origin: 'https://auth.example' }, true],
    ['our host over plain http', { origin: 'http://auth.example:8443' }, true],
    ['a sibling subdomain', { origin: 'https://www.auth.example:8443' }, true],
    ['an allow-listed origin over http', { origin: 'http://app.example' }, true],
    ['two Origin lines joined', { origin: `${OWN}, ${OWN}` }, true],
    ['Sec-Fetch-Site: cross-site without Origin', { secFetchSite: 'cross-site' }, true],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', { secFetchSite: 'same-site' }, true],
    ['our origin but Sec-Fetch-Site: cross-site', { origin: OWN, secFetchSite: 'cross-site' }, true],
  ];
  for (const [name, signals, crossSite] of rows) {
    test(`${name} → ${crossSite ? 'cross-site' : 'not cross-site'}`, () => assert.equal(isCrossSite({ ...NGINX, ...signals }), crossSite));
  }

  test('without X-Forwarded-*, the own origin is http://<Host>', () => {
    const direct = { origin: 'http://127.0.0.1:8000', secFetchSite: undefined, host: '127.0.0.1:8000', forwardedHost: undefined, forwardedProto: undefined };
    assert.equal(isCrossSite(direct), false);
    assert.equal(isCrossSite({ ...direct, origin: 'https://127.0.0.1:8000' }), true);
  });

  test('a default port in Host is the origin without it', () => {
    assert.equal(isCrossSite({ ...NGINX, forwardedHost: 'auth.example:443', origin: 'https://auth.example' }), false);
  });

  test('a Host that is not one host matches no Origin', () => {
    for (const forwardedHost of ['auth.example:8443, evil.example', 'evil.example/x', 'a@auth.example:8443', '']) {
      assert.equal(isCrossSite({ ...NGINX, forwardedHost, origin: `https://${forwardedHost}` }), true, forwardedHost);
    }
  });

  test('an X-Forwarded-Proto other than http or https matches no Origin', () => {
    assert.equal(isCrossSite({ ...NGINX, forwardedProto: 'javascript', origin: 'javascript://auth.example:8443' }), true);
  });
});

describe('isSafeMethod', () => {
  for (const method of ['GET', 'HEAD', 'OPTIONS']) test(`${method} is safe`, () => assert.ok(isSafeMethod(method)));
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'get', 'PROPFIND', ''])
    test(`${JSON.stringify(method)} is unsafe`, () => assert.ok(!isSafeMethod(method)));
});
