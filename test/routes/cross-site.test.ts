/**
 * Cross-site request protection in cookie mode: with the token in a cookie, a page of another site
 * must not log its visitor in (login CSRF) or out, nor send an unsafe request that /check allows on
 * the cookie the browser attaches by itself. Origin and Sec-Fetch-Site tell; requests without either
 * are not from a browser page and pass.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { json, request, setCookies, type Reply } from '../../support/http.js';
import { KeyFiles } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { ALICE, startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';

const files = new KeyFiles();
const EVIL = 'https://evil.example';
const ALLOWED = 'https://app.example';
let stub: StubAuthenticator;
let svc: InProcessService;
/** The service's own origin as a browser talking to it directly would send it. */
let own: string;
let cookie: string;
let bearerToken: string;

before(async () => {
  stub = await startStubAuthenticator();
  svc = await startServiceInProcess({
    ...files.env('HS256'),
    AUTHENTICATOR_URL: stub.url,
    TOKEN_COOKIE: 'jwt',
    LOGIN_SET_COOKIE: 'true',
    CSRF_ALLOWED_ORIGINS: ALLOWED,
  });
  own = svc.url;
  const reply = await login(svc);
  cookie = (setCookies(reply)[0] ?? '').split(';')[0] ?? '';
  bearerToken = String(json(reply).token);
});
afterEach(() => stub.reset());
after(async () => {
  await svc?.close();
  await stub?.close();
  files.remove();
});

const FORM = new URLSearchParams(ALICE).toString();

function login(service: InProcessService, headers: Record<string, string> = {}): Promise<Reply> {
  return request(`${service.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: FORM });
}

function assertCrossSiteRefusal(reply: Reply): void {
  assert.equal(reply.status, 403, reply.body);
  assert.deepEqual(json(reply), { error: 'cross_site_request' });
  assert.equal(setCookies(reply).length, 0);
  assert.doesNotMatch(reply.body, /eyJ/);
}

const browser = {
  'same-origin': () => ({ origin: own, 'sec-fetch-site': 'same-origin' }),
  'cross-site': () => ({ origin: EVIL, 'sec-fetch-site': 'cross-site' }),
  'allow-listed': () => ({ origin: ALLOWED, 'sec-fetch-site': 'same-site' }),
  'Origin: null': () => ({ origin: 'null', 'sec-fetch-site': 'cross-site' }),
  'Sec-Fetch-Site: cross-site alone': () => ({ 'sec-fetch-site': 'cross-site' }),
  'Sec-Fetch-Site: same-site (a sibling subdomain)': () => ({ origin: 'https://www.evil.example', 'sec-fetch-site': 'same-site' }),
  'no Origin, no Sec-Fetch-Site': () => ({}),
} as const satisfies Record<string, () => Record<string, string>>;
type Sender = keyof typeof browser;
const ALLOWED_SENDERS: readonly Sender[] = ['same-origin', 'allow-listed', 'no Origin, no Sec-Fetch-Site'];
const REFUSED_SENDERS: readonly Sender[] = [
  'cross-site',
  'Origin: null',
  'Sec-Fetch-Site: cross-site alone',
  'Sec-Fetch-Site: same-site (a sibling subdomain)',
];

describe('/login in cookie mode', { timeout: 30_000 }, () => {
  for (const sender of ALLOWED_SENDERS) {
    test(`${sender}: logged in, with the cookie`, async () => {
      const reply = await login(svc, browser[sender]());
      assert.equal(reply.status, 200, reply.body);
      assert.match(setCookies(reply)[0] ?? '', /^jwt=eyJ/);
    });
  }
  for (const sender of REFUSED_SENDERS) {
    test(`${sender}: 403 cross_site_request, no cookie, and the authenticator is not asked`, async () => {
      assertCrossSiteRefusal(await login(svc, browser[sender]()));
      assert.equal(stub.requests.length, 0);
    });
  }

  test('behind nginx the own origin is X-Forwarded-Proto :// X-Forwarded-Host, port included', async () => {
    const nginx = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'auth.example:8443', host: 'auth.example' };
    assert.equal((await login(svc, { ...nginx, origin: 'https://auth.example:8443' })).status, 200);
    assertCrossSiteRefusal(await login(svc, { ...nginx, origin: 'https://auth.example' }));
    assertCrossSiteRefusal(await login(svc, { ...nginx, origin: own }));
  });
});

describe('/logout in cookie mode', { timeout: 30_000 }, () => {
  for (const sender of ALLOWED_SENDERS) {
    test(`${sender}: 204, the cookie cleared`, async () => {
      const reply = await request(`${svc.url}/logout`, { method: 'POST', headers: browser[sender]() });
      assert.equal(reply.status, 204);
      assert.match(setCookies(reply)[0] ?? '', /^jwt=;/);
    });
  }
  for (const sender of REFUSED_SENDERS) {
    test(`${sender}: 403 cross_site_request, the cookie left alone`, async () => {
      assertCrossSiteRefusal(await request(`${svc.url}/logout`, { method: 'POST', headers: browser[sender]() }));
    });
  }
});

describe('/check in cookie mode', { timeout: 30_000 }, () => {
  /** /check as nginx calls it: GET, with the client's method in X-Original-Method. */
  const check = (headers: Record<string, string>, method = 'POST'): Promise<Reply> =>
    request(`${svc.url}/check`, { headers: { 'x-original-method': method, 'x-original-uri': '/api/items', ...headers } });

  for (const sender of ALLOWED_SENDERS) {
    test(`a POST with the cookie, ${sender}: allowed`, async () => {
      const reply = await check({ cookie, ...browser[sender]() });
      assert.equal(reply.status, 200, reply.body);
      assert.equal(reply.headers['x-auth-user'], 'alice');
    });
  }
  for (const sender of REFUSED_SENDERS) {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      test(`a ${method} with the cookie, ${sender}: denied with X-Auth-Error: cross_site_request`, async () => {
        const reply = await check({ cookie, ...browser[sender]() }, method);
        assert.equal(reply.status, 403);
        assert.equal(reply.headers['x-auth-error'], 'cross_site_request');
        assert.deepEqual(json(reply), { error: 'cross_site_request' });
        assert.equal(reply.headers['x-auth-user'], undefined);
      });
    }
  }

  for (const method of ['GET', 'HEAD', 'OPTIONS']) {
    test(`a cross-site ${method} with the cookie is unaffected (a link or an image must still work)`, async () => {
      assert.equal((await check({ cookie, ...browser['cross-site']() }, method)).status, 200);
    });
  }

  test('a cross-site POST with the token in the Authorization header is unaffected (no browser adds it by itself)', async () => {
    const reply = await check({ authorization: `Bearer ${bearerToken}`, ...browser['cross-site']() });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-auth-user'], 'alice');
  });

  test('the same token in both the header and the cookie counts as the header', async () => {
    assert.equal((await check({ authorization: `Bearer ${bearerToken}`, cookie, ...browser['cross-site']() })).status, 200);
  });

  test("without X-Original-Method, the request's own method decides", async () => {
    const post = await request(`${svc.url}/check`, { method: 'POST', headers: { cookie, ...browser['cross-site']() } });
    assert.equal(post.headers['x-auth-error'], 'cross_site_request');
    assert.equal((await request(`${svc.url}/check`, { headers: { cookie, ...browser['cross-site']() } })).status, 200);
  });

  test('two Origin lines are cross-site, even when both name the own origin', async () => {
    const reply = await request(`${svc.url}/check`, { headers: { cookie, 'x-original-method': 'POST', Origin: [own, own] } });
    assert.equal(reply.headers['x-auth-error'], 'cross_site_request');
  });

  test('a cross-site request with a bad cookie is still a deny', async () => {
    assert.equal((await check({ cookie: 'jwt=garbage', ...browser['cross-site']() })).status, 403);
  });

  test('with CHECK_UNAUTHENTICATED_STATUS=401 the deny is still a 403: the token is good, the request is refused', async () => {
    const strict = await startServiceInProcess({ ...files.env('HS256'), TOKEN_COOKIE: 'jwt', CHECK_UNAUTHENTICATED_STATUS: '401' });
    try {
      const reply = await request(`${strict.url}/check`, { headers: { cookie, 'x-original-method': 'DELETE', ...browser['cross-site']() } });
      assert.equal(reply.status, 403);
      assert.equal(reply.headers['x-auth-error'], 'cross_site_request');
      assert.equal(reply.headers['www-authenticate'], undefined);
    } finally {
      await strict.close();
    }
  });
});

describe('when the protection does not apply', { timeout: 30_000 }, () => {
  test('CSRF_PROTECTION=false: cross-site logins, logouts and unsafe requests pass', async () => {
    const off = await startServiceInProcess({
      ...files.env('HS256'),
      AUTHENTICATOR_URL: stub.url,
      TOKEN_COOKIE: 'jwt',
      LOGIN_SET_COOKIE: 'true',
      CSRF_PROTECTION: 'false',
    });
    try {
      assert.equal((await login(off, browser['cross-site']())).status, 200);
      assert.equal((await request(`${off.url}/logout`, { method: 'POST', headers: browser['cross-site']() })).status, 204);
      assert.equal((await request(`${off.url}/check`, { headers: { cookie, 'x-original-method': 'POST', ...browser['cross-site']() } })).status, 200);
    } finally {
      await off.close();
    }
  });

  test('without TOKEN_COOKIE there is no cookie to ride on: a cross-site login gets its token in the body only', async () => {
    const bearerOnly = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url });
    try {
      const reply = await login(bearerOnly, browser['cross-site']());
      assert.equal(reply.status, 200);
      assert.equal(setCookies(reply).length, 0);
    } finally {
      await bearerOnly.close();
    }
  });
});

test('the refused login is logged with its code and no credentials', async () => {
  await login(svc, browser['cross-site']());
  const line = svc.logs.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.code === 'cross_site_request');
  assert.ok(line, 'a log line for the refusal');
  assert.ok(!JSON.stringify(line).includes(ALICE.password));
});
