/**
 * End-to-end through a real nginx: the repository's nginx/ configuration in front of the
 * Flask demo app, nginx-jwt-auth behind auth_request, the Flask authenticator behind /login, all
 * on loopback. Needs `npm run build` (dist/src/cli.js), nginx and Python's Flask; without the
 * last two the tests are skipped, or fail under CI=true.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe } from 'node:test';
import type { HttpResponse } from '../../support/http.js';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { DEMO_SERVICE_ENV, useStack, type Stack } from '../../support/stack.js';
import { unsecuredToken, withForgedClaims } from '../../support/jws.js';
import { mintToken } from '../../support/tokens.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite());
const SUITE = { skip, timeout: 120_000 };

const ALICE = { sub: 'alice', name: 'Alice Liddell', roles: ['admin', 'user'] };
const BOB = { sub: 'bob', name: 'Bob Builder', roles: ['user'] };

interface Echo {
  method: string;
  path: string;
  identity: Record<string, string>;
  headers: Record<string, string>;
  body_length: number;
  body_sha256: string;
}

interface WhoAmI {
  user: string | null;
  roles: string | null;
  name: string | null;
  identity: Record<string, string>;
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Fails when `body` is one of the app's JSON answers: the request got through. */
function assertNotFromApp(body: string): void {
  assert.doesNotMatch(body, /"body_sha256"|"identity"/, 'the app answered a request that should have been refused');
}

describe('nginx in front of nginx-jwt-auth (default 403 mode)', SUITE, () => {
  const { stack: s, spec } = useStack('e2e-403');

  spec('1. a request without a token gets 403 with X-Auth-Error, and the app never sees it', async () => {
    s().appRecorder.clear();
    const res = await s().request('/whoami');
    assert.equal(res.status, 403);
    assert.ok(res.headers['x-auth-error'], 'X-Auth-Error names the reason');
    assert.equal(res.headers['www-authenticate'], undefined, 'no WWW-Authenticate on a 403');
    assertNotFromApp(res.text());
    assert.equal(s().appRecorder.records.length, 0);
  });

  spec('2. a valid token lets the request through and the app receives X-Auth-User, X-Auth-Roles and X-Auth-Name', async () => {
    const res = await s().request('/whoami', { headers: bearer(await s().mint(ALICE)) });
    assert.equal(res.status, 200);
    const who = res.json<WhoAmI>();
    assert.equal(who.user, 'alice');
    assert.equal(who.roles, 'admin,user');
    assert.equal(who.name, 'Alice Liddell');
  });

  describe('3. identity headers sent by the client never reach the app as sent', () => {
    const spoofed = {
      'x-auth-user': 'mallory',
      'x-auth-roles': 'admin',
      'x-auth-name': 'Mallory',
      'x-auth-error': 'none',
      'x-auth-require': 'role=nobody',
    };
    spec('with a valid token, a client-sent identity header is refused (400 identity_header_forged) and the app sees nothing', async () => {
      const token = await s().mint(ALICE);
      for (const [name, value] of Object.entries(spoofed)) {
        s().appRecorder.clear();
        const res = await s().request('/api/spoof', { headers: { [name]: value, ...bearer(token) } });
        assert.equal(res.status, 400, name);
        assert.equal(res.headers['x-auth-error'], 'identity_header_forged', name);
        assert.equal(s().appRecorder.records.length, 0, name);
      }
    });
    spec('the app gets exactly the service-given identity headers, and none for a claim the token lacks', async () => {
      const full = await s().request('/api/spoof', { headers: bearer(await s().mint(ALICE)) });
      assert.deepEqual(full.json<Echo>().identity, { 'X-Auth-User': 'alice', 'X-Auth-Roles': 'admin,user', 'X-Auth-Name': 'Alice Liddell' });
      const res = await s().request('/api/spoof', { headers: bearer(await s().mint({ sub: 'carol' })) });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json<Echo>().identity, { 'X-Auth-User': 'carol' });
    });
    spec('underscore look-alikes (X_Auth_User, merged into HTTP_X_AUTH_USER by WSGI) are dropped', async () => {
      const res = await s().request('/api/spoof', { headers: { x_auth_user: 'mallory', X_Auth_Roles: 'admin', ...bearer(await s().mint(BOB)) } });
      assert.equal(res.status, 200);
      const echo = res.json<Echo>();
      assert.equal(echo.identity['X-Auth-User'], 'bob');
      assert.equal(echo.identity['X-Auth-Roles'], 'user');
    });
    spec('without a token the spoofed headers get nothing through', async () => {
      const res = await s().request('/whoami', { headers: spoofed });
      assert.equal(res.status, 400);
      assertNotFromApp(res.text());
    });
  });

  describe('5. set $auth_require "role=admin" (location /admin/)', () => {
    spec('answers 403 insufficient_scope to a valid token without the admin role', async () => {
      s().appRecorder.clear();
      const res = await s().request('/admin/report', { headers: bearer(await s().mint(BOB)) });
      assert.equal(res.status, 403);
      assert.equal(res.headers['x-auth-error'], 'insufficient_scope');
      assert.equal(s().appRecorder.records.length, 0);
    });
    spec('answers 200 to a token with the admin role', async () => {
      const res = await s().request('/admin/report', { headers: bearer(await s().mint(ALICE)) });
      assert.equal(res.status, 200);
      assert.equal(res.json<Echo>().path, '/admin/report');
    });
    spec('does not apply to other locations: the same user-only token opens /api/', async () => {
      const res = await s().request('/api/report', { headers: bearer(await s().mint(BOB)) });
      assert.equal(res.status, 200);
    });
  });

  describe('6. login through nginx → service → Flask authenticator', () => {
    spec('a JSON login returns a Bearer token that opens a protected location as that user', async () => {
      const login = await s().request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      });
      assert.equal(login.status, 200, login.text());
      assert.match(String(login.headers['cache-control']), /no-store/);
      const issued = login.json<{ token: string; token_type: string; expires_in: number }>();
      assert.equal(issued.token_type, 'Bearer');
      assert.ok(issued.expires_in > 0);

      const who = await s().request('/whoami', { headers: bearer(issued.token) });
      assert.equal(who.status, 200);
      const me = who.json<WhoAmI>();
      assert.deepEqual([me.user, me.roles, me.name], ['alice', 'admin,user', 'Alice Liddell']);
    });
    spec("a form-encoded login works too, and the token carries the authenticator's roles", async () => {
      const login = await s().request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=bob&password=bob-password',
      });
      assert.equal(login.status, 200, login.text());
      const { token } = login.json<{ token: string }>();
      assert.equal((await s().request('/admin/x', { headers: bearer(token) })).status, 403);
      assert.equal((await s().request('/api/x', { headers: bearer(token) })).status, 200);
    });
    spec("a wrong password is the authenticator's 401 JSON, passed through, with no token", async () => {
      const login = await s().request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'not-her-password' }),
      });
      assert.equal(login.status, 401);
      assert.deepEqual(login.json(), { error: 'invalid_credentials' });
    });
  });

  describe('7. tokens that must be refused', () => {
    const cases: Array<{ name: string; token: (stack: Stack) => Promise<string> }> = [
      { name: 'expired an hour ago', token: (st) => st.mint(ALICE, { expiresIn: -3600 }) },
      { name: 'payload changed after signing (roles raised)', token: async (st) => withForgedClaims(await st.mint(BOB), { roles: ['admin'] }) },
      { name: 'signature cut off', token: async (st) => `${(await st.mint(ALICE)).split('.').slice(0, 2).join('.')}.` },
      { name: 'signed with another secret', token: () => mintToken('another-secret-of-at-least-32-bytes-length', ALICE) },
      { name: 'unsigned (alg: none)', token: async () => unsecuredToken(ALICE) },
      { name: 'not a JWT at all', token: async () => 'not-a-jwt' },
    ];
    for (const row of cases) {
      spec(`${row.name} → 403, nothing reaches the app`, async () => {
        s().appRecorder.clear();
        const res = await s().request('/whoami', { headers: bearer(await row.token(s())) });
        assert.equal(res.status, 403);
        assert.ok(res.headers['x-auth-error'], 'X-Auth-Error names the reason');
        assertNotFromApp(res.text());
        assert.equal(s().appRecorder.records.length, 0);
      });
    }
  });

  describe('10. distinct subjects reach the app as distinct identities', () => {
    spec('" alice", "alice " and "alice" arrive as three different X-Auth-User values, though nginx trims header values', async () => {
      const arrived: Array<string | null> = [];
      for (const sub of [' alice', 'alice ', 'alice']) {
        const res = await s().request('/whoami', { headers: bearer(await s().mint({ sub })) });
        assert.equal(res.status, 200);
        arrived.push(res.json<WhoAmI>().user);
      }
      assert.deepEqual(arrived, ['%20alice', 'alice%20', 'alice']);
    });
    for (const [name, sub] of [
      ['an empty sub', ''],
      ['a numeric sub (RFC 7519: StringOrURI)', 42],
    ] as const) {
      spec(`${name} is token_claims_invalid, and the app never sees the request`, async () => {
        s().appRecorder.clear();
        const res = await s().request('/whoami', { headers: bearer(await s().mint({ sub } as { sub: string })) });
        assert.equal(res.status, 403);
        assert.equal(res.headers['x-auth-error'], 'token_claims_invalid');
        assertNotFromApp(res.text());
        assert.equal(s().appRecorder.records.length, 0);
      });
    }
  });

  spec('nginx listens on loopback only, as the demo promises (every listening socket on its port is 127.0.0.1)', async () => {
    const port = s().nginx.port.toString(16).toUpperCase().padStart(4, '0');
    // /proc/net/tcp{,6}: "local_address" is HEXIP:HEXPORT, state 0A is LISTEN. Read, never connected to.
    const listeners = ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(1))
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A' && fields[1]?.endsWith(`:${port}`))
      .map((fields) => fields[1]?.split(':')[0]);
    assert.ok(listeners.length > 0, 'nginx listens on its port');
    assert.deepEqual([...new Set(listeners)], ['0100007F'], 'only 127.0.0.1');
  });

  spec('the internal auth location cannot be requested directly', async () => {
    const res = await s().request('/_jwt_auth', { headers: bearer(await s().mint(ALICE)) });
    assert.equal(res.status, 404);
  });

  spec('the sign-in page is public', async () => {
    const res = await s().request('/login', { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
  });

  // An office behind one address signs in at nine: the service limits failed attempts, nginx's
  // limit_req is only a flood guard (jwt-auth-login-proxy.conf), so successful logins pass.
  spec('ten successful logins from one address within a minute all pass', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await s().request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: i % 2 === 0 ? 'alice' : 'bob', password: i % 2 === 0 ? 'alice-password' : 'bob-password' }),
      });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, Array<number>(10).fill(200));
  });

  // Last in this suite: it spends the client's budget in the limit_req zone jwt_auth_login.
  spec('a flood of sign-in requests is refused by nginx with 429, Retry-After and {"error":"rate_limited"}, a browser with the page', async () => {
    const statuses: number[] = [];
    let limited: HttpResponse | undefined;
    // The sign-in page costs the service nothing; the zone counts it like a login (burst 60, 2 a second).
    for (let i = 0; i < 200 && limited === undefined; i++) {
      const res = await s().request('/login');
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, `no 429 after ${statuses.length} requests`);
    // The earlier logins of this suite took part of the burst of 60.
    assert.ok(statuses.length > 40, `refused after only ${statuses.length}: the burst is 60`);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.deepEqual(limited.json(), { error: 'rate_limited' });
    // A browser refused the same way gets the sign-in page with a sentence, not JSON.
    const page = await s().request('/login', { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(page.status, 429);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text(), /Too many sign-in attempts from your network\. Please wait/);
  });
});

describe('4. request bodies with auth_request (auth upstream recorded)', SUITE, () => {
  const { stack: s, spec } = useStack('e2e-bodies', { recordAuth: true });

  // 100 000 bytes: more than client_body_buffer_size, so nginx also spools it to its temp path.
  const body = randomBytes(100_000);
  const sha256 = createHash('sha256').update(body).digest('hex');

  for (const method of ['POST', 'PUT', 'DELETE']) {
    spec(`${method}: the auth subrequest carries no body, the app gets all ${body.length} bytes`, async () => {
      const recorder = s().authRecorder;
      assert.ok(recorder);
      recorder.clear();
      const res = await s().request('/api/upload', {
        method,
        headers: { ...bearer(await s().mint(ALICE)), 'content-type': 'application/octet-stream' },
        body,
      });
      assert.equal(res.status, 200, res.text());
      const echo = res.json<Echo>();
      assert.equal(echo.method, method);
      assert.equal(echo.body_length, body.length);
      assert.equal(echo.body_sha256, sha256);

      assert.equal(recorder.records.length, 1, 'one auth subrequest');
      const check = recorder.records[0];
      assert.ok(check);
      assert.equal(check.url, '/check');
      assert.equal(check.bodyBytes, 0);
      assert.equal(check.headers['content-length'], undefined);
      assert.equal(check.headers['transfer-encoding'], undefined);
      // nginx sends auth subrequests as GET whatever the client's method; the real one is here:
      assert.equal(check.headers['x-original-method'], method);
      assert.equal(check.headers['x-original-uri'], '/api/upload');
      // One request id for nginx, the service and the app.
      assert.ok(check.headers['x-request-id']);
      assert.equal(echo.headers['X-Request-Id'], check.headers['x-request-id']);
    });
  }

  spec('a refused POST never reaches the app, and its body is not sent to the service', async () => {
    const recorder = s().authRecorder;
    assert.ok(recorder);
    recorder.clear();
    s().appRecorder.clear();
    const res = await s().request('/api/upload', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    assert.equal(res.status, 403);
    assert.equal(recorder.records[0]?.bodyBytes, 0);
    assert.equal(s().appRecorder.records.length, 0);
  });

  spec('the auth requirement and client address travel as headers nginx sets', async () => {
    const recorder = s().authRecorder;
    assert.ok(recorder);
    recorder.clear();
    await s().request('/admin/x', { headers: { ...bearer(await s().mint(ALICE)), 'x-forwarded-for': '203.0.113.9', 'x-junk': 'not for /check' } });
    await s().request('/api/x', { headers: bearer(await s().mint(ALICE)) });
    const [admin, api] = recorder.records;
    assert.equal(admin?.headers['x-auth-require'], 'role=admin');
    assert.equal(admin?.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(admin?.headers['x-real-ip'], '127.0.0.1');
    assert.equal(admin?.headers['x-junk'], undefined, 'only what /check reads is forwarded');
    assert.equal(api?.headers['x-auth-require'], undefined, 'no requirement, no header');
    // A client-sent X-Auth-Require never gets that far.
    assert.equal((await s().request('/api/x', { headers: { ...bearer(await s().mint(ALICE)), 'x-auth-require': 'role=nobody' } })).status, 400);
    assert.equal(recorder.records.length, 2);
  });

  spec('auth subrequests reuse kept-alive connections to the service', async () => {
    const recorder = s().authRecorder;
    assert.ok(recorder);
    const token = await s().mint(ALICE);
    const before = recorder.connectionCount();
    for (let i = 0; i < 20; i++) assert.equal((await s().request('/api/k', { headers: bearer(token) })).status, 200);
    const opened = recorder.connectionCount() - before;
    // One idle connection per nginx worker at most would be ideal; anything near 20 means no keep-alive.
    assert.ok(opened <= 4, `${opened} new connections for 20 requests`);
  });
});

describe('8. the auth service stopped', SUITE, () => {
  const { stack: s, spec } = useStack('e2e-down');

  spec('nginx answers 500 instead of letting the request through', async () => {
    const token = await s().mint(ALICE);
    assert.equal((await s().request('/whoami', { headers: bearer(token) })).status, 200, 'allowed while the service runs');

    await s().service.stop();
    s().appRecorder.clear();
    for (const method of ['GET', 'POST']) {
      const res = await s().request('/whoami', { method, headers: bearer(token), body: method === 'POST' ? '{}' : undefined });
      // auth_request turns the failed subrequest (502 from the proxy) into a 500.
      assert.equal(res.status, 500, method);
      assertNotFromApp(res.text());
    }
    assert.equal(s().appRecorder.records.length, 0, 'the app saw none of it');
  });
});

describe('9. 401 mode (CHECK_UNAUTHENTICATED_STATUS=401), the token in a cookie as in the demo', SUITE, () => {
  const { stack: s, spec } = useStack('e2e-401', { serviceEnv: DEMO_SERVICE_ENV });

  spec("an API client without a token gets a plain 401 with the service's WWW-Authenticate: Bearer", async () => {
    const res = await s().request('/api/data', { headers: { accept: 'application/json' } });
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer\b/);
    assert.ok(res.headers['x-auth-error']);
    assert.equal(res.json<{ error: string }>().error, res.headers['x-auth-error']);
  });

  spec('an expired token is a 401 whose WWW-Authenticate says invalid_token (RFC 6750)', async () => {
    const res = await s().request('/api/data', { headers: bearer(await s().mint(ALICE, { expiresIn: -3600 })) });
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer\b.*error="invalid_token"/);
  });

  spec('a browser (Accept: text/html) is redirected to the sign-in page, with the URL to come back to', async () => {
    const res = await s().request('/whoami?tab=1', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, '/login?next=%2Fwhoami%3Ftab%3D1');
    const page = await s().request('/login?next=%2Fwhoami%3Ftab%3D1', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
  });

  spec('a valid token without the required role is a 403 page for a browser, not a login redirect', async () => {
    const res = await s().request('/admin/x', { headers: { ...bearer(await s().mint(BOB)), accept: 'text/html' } });
    assert.equal(res.status, 403);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.text(), /needs the role admin/);
  });

  spec('a valid token is let through for browsers and API clients alike', async () => {
    const token = await s().mint(ALICE);
    for (const accept of ['text/html', 'application/json']) {
      const res = await s().request('/whoami', { headers: { ...bearer(token), accept } });
      assert.equal(res.status, 200);
      assert.equal(res.json<WhoAmI>().user, 'alice');
    }
  });
});
