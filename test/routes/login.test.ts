import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { json, request, setCookies, type Reply } from '../../support/http.js';
import { payloadOf } from '../../support/jws.js';
import { KeyFiles, pairFor } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { ALICE, ALICE_USER, refusedUrl, startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';

const files = new KeyFiles();
const ISS = 'https://auth.example';
let stub: StubAuthenticator;
let svc: InProcessService;

before(async () => {
  stub = await startStubAuthenticator();
  svc = await startServiceInProcess({
    ...files.env('HS256'),
    AUTHENTICATOR_URL: stub.url,
    JWT_ISSUER: ISS,
    JWT_AUDIENCE: 'app',
    IDENTITY_HEADERS: 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name',
  });
});
afterEach(() => stub.reset());
after(async () => {
  await svc?.close();
  await stub?.close();
  files.remove();
});

const JSON_LOGIN = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ALICE) } as const;

function assertNoToken(reply: Reply): void {
  assert.doesNotMatch(reply.body, /eyJ[\w-]+\.eyJ/);
  assert.equal(setCookies(reply).length, 0);
}

describe('/login success', { timeout: 30_000 }, () => {
  test('a JSON login answers {token, token_type, expires_in} with Cache-Control: no-store', async () => {
    const reply = await request(`${svc.url}/login`, JSON_LOGIN);
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['cache-control']), /no-store/);
    const body = json(reply);
    assert.deepEqual(Object.keys(body).sort(), ['expires_in', 'token', 'token_type']);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    assert.equal(typeof body.token, 'string');
  });

  test('the token returned verifies at /check', async () => {
    const { token } = json(await request(`${svc.url}/login`, JSON_LOGIN)) as { token: string };
    const check = await request(`${svc.url}/check`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(check.status, 200);
    assert.equal(check.headers['x-auth-user'], 'alice');
    assert.equal(check.headers['x-auth-roles'], 'admin,editor');
    assert.equal(check.headers['x-auth-name'], 'Alice');
  });

  test('a form login works the same', async () => {
    const reply = await request(`${svc.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=wonderland',
    });
    assert.equal(reply.status, 200);
    assert.equal(payloadOf(String(json(reply).token)).sub, 'alice');
  });

  // The authenticator reads the body as the limiter did: parsed once, forwarded in one canonical spelling.
  for (const [kind, contentType, body, forwardedType, forwardedBody] of [
    [
      'JSON',
      'application/json; charset=utf-8',
      '{ "username" : "alice",\n "password": "wonderland", "note": "é\\u00e9" }',
      'application/json',
      '{"username":"alice","password":"wonderland","note":"éé"}',
    ],
    [
      'form',
      'Application/X-WWW-Form-Urlencoded',
      'password=wonderland&username=alice&x=%C3%A9+y;z',
      'application/x-www-form-urlencoded',
      'password=wonderland&username=alice&x=%C3%A9+y%3Bz',
    ],
  ] as const) {
    test(`the ${kind} body is forwarded re-serialized, with the canonical Content-Type`, async () => {
      assert.equal((await request(`${svc.url}/login`, { method: 'POST', headers: { 'content-type': contentType }, body })).status, 200);
      assert.equal(stub.requests.length, 1);
      const [forwarded] = stub.requests;
      assert.equal(forwarded?.method, 'POST');
      assert.equal(forwarded?.url, '/login');
      assert.equal(forwarded?.headers['content-type'], forwardedType);
      assert.equal(forwarded?.body.toString('utf8'), forwardedBody);
    });
  }

  test('iss, aud, exp, iat, nbf and jti are set by the service', async () => {
    const started = Math.floor(Date.now() / 1000);
    const claims = payloadOf(String(json(await request(`${svc.url}/login`, JSON_LOGIN)).token));
    assert.equal(claims.iss, ISS);
    assert.equal(claims.aud, 'app');
    assert.equal(claims.sub, 'alice');
    assert.ok(typeof claims.iat === 'number' && claims.iat >= started - 1 && claims.iat <= started + 5);
    assert.equal(claims.nbf, claims.iat);
    assert.equal(claims.exp, (claims.iat as number) + 3600);
    assert.match(String(claims.jti), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(claims.name, 'Alice');
    assert.deepEqual(claims.roles, ['admin', 'editor']);
  });

  test('every login gets its own jti', async () => {
    const first = payloadOf(String(json(await request(`${svc.url}/login`, JSON_LOGIN)).token));
    const second = payloadOf(String(json(await request(`${svc.url}/login`, JSON_LOGIN)).token));
    assert.notEqual(first.jti, second.jti);
  });

  test('registered claims from the authenticator are ignored', async () => {
    stub.answer(() => ({
      status: 200,
      body: { sub: 'alice', iss: 'https://evil.example', aud: 'everything', exp: 9_999_999_999, iat: 1, nbf: 9_999_999_999, jti: 'fixed' },
    }));
    const reply = await request(`${svc.url}/login`, JSON_LOGIN);
    const claims = payloadOf(String(json(reply).token));
    assert.equal(claims.iss, ISS);
    assert.equal(claims.aud, 'app');
    assert.equal(claims.exp, (claims.iat as number) + 3600);
    assert.ok((claims.iat as number) > 1_700_000_000);
    assert.equal(claims.nbf, claims.iat);
    assert.notEqual(claims.jti, 'fixed');
    // And the token is usable at once (the authenticator's nbf would have made it not yet valid).
    assert.equal((await request(`${svc.url}/check`, { headers: { authorization: `Bearer ${String(json(reply).token)}` } })).status, 200);
  });

  const subjects: Array<[name: string, user: Record<string, unknown>, sub: string]> = [
    ['sub', { sub: 'alice', id: 7, username: 'al' }, 'alice'],
    ['id when there is no sub', { id: 42, username: 'bob' }, '42'],
    ['id when sub is empty', { sub: '', id: 'u-9' }, 'u-9'],
    ['username when there is neither sub nor id', { username: 'carol' }, 'carol'],
    ['username when sub and id are not strings or numbers', { sub: null, id: { n: 1 }, username: 'dave' }, 'dave'],
  ];
  for (const [name, user, sub] of subjects) {
    test(`the subject falls back: ${name} → ${sub}`, async () => {
      stub.answer(() => ({ status: 200, body: user }));
      const reply = await request(`${svc.url}/login`, JSON_LOGIN);
      assert.equal(reply.status, 200);
      assert.equal(payloadOf(String(json(reply).token)).sub, sub);
    });
  }

  test('a user with no subject field is a 502, never a token', async () => {
    stub.answer(() => ({ status: 200, body: { name: 'Nobody' } }));
    const reply = await request(`${svc.url}/login`, JSON_LOGIN);
    assert.equal(reply.status, 502);
    assert.deepEqual(json(reply), { error: 'authenticator_bad_response' });
    assertNoToken(reply);
  });
});

describe('/login failures passed through or mapped', { timeout: 30_000 }, () => {
  test("wrong credentials: the authenticator's 401 status, body and content type", async () => {
    const reply = await request(`${svc.url}/login`, { ...JSON_LOGIN, body: JSON.stringify({ username: 'alice', password: 'nope' }) });
    assert.equal(reply.status, 401);
    assert.match(String(reply.headers['content-type']), /^application\/json/);
    assert.deepEqual(json(reply), { error: 'invalid credentials' });
    assertNoToken(reply);
  });

  test("a bad request: the authenticator's 400 text/plain passed through", async () => {
    const reply = await request(`${svc.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' });
    assert.equal(reply.status, 400);
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(reply.body, 'username and password are required');
    assertNoToken(reply);
  });

  for (const status of [403, 404, 422, 429]) {
    test(`an authenticator ${status} is passed through as it is`, async () => {
      stub.answer(() => ({ status, headers: { 'content-type': 'text/html; charset=iso-8859-1' }, body: `<p>refused ${status}</p>` }));
      const reply = await request(`${svc.url}/login`, JSON_LOGIN);
      assert.equal(reply.status, status);
      assert.equal(reply.headers['content-type'], 'text/html; charset=iso-8859-1');
      assert.equal(reply.body, `<p>refused ${status}</p>`);
      assertNoToken(reply);
    });
  }

  test('a content type without charset is passed through unchanged', async () => {
    stub.answer(() => ({ status: 403, headers: { 'content-type': 'text/html' }, body: '<p>refused</p>' }));
    const reply = await request(`${svc.url}/login`, JSON_LOGIN);
    assert.equal(reply.headers['content-type'], 'text/html');
  });

  test('a 4xx without a content type is not labelled JSON', async () => {
    stub.answer(() => ({ status: 401, body: 'no' }));
    const reply = await request(`${svc.url}/login`, JSON_LOGIN);
    assert.equal(reply.status, 401);
    assert.equal(reply.body, 'no');
    assert.doesNotMatch(String(reply.headers['content-type'] ?? ''), /json/);
  });

  const bad: Array<[name: string, answer: { status: number; headers?: Record<string, string>; body?: string | object }]> = [
    ['a 500', { status: 500, headers: { 'content-type': 'text/plain' }, body: 'Traceback (most recent call last): secret internals' }],
    ['a 503', { status: 503, body: { error: 'maintenance' } }],
    ['a 200 that is not JSON', { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>welcome alice</html>' }],
    ['a 200 with a JSON array', { status: 200, body: [{ sub: 'alice' }] }],
    ['a 200 with JSON null', { status: 200, headers: { 'content-type': 'application/json' }, body: 'null' }],
    ['a 200 with a JSON string', { status: 200, headers: { 'content-type': 'application/json' }, body: '"alice"' }],
    ['a 201 with a user', { status: 201, body: { sub: 'alice' } }],
  ];
  for (const [name, answer] of bad) {
    test(`${name} from the authenticator → 502 authenticator_bad_response, never a token`, async () => {
      stub.answer(() => answer);
      const reply = await request(`${svc.url}/login`, JSON_LOGIN);
      assert.equal(reply.status, 502);
      assert.deepEqual(json(reply), { error: 'authenticator_bad_response' });
      assert.ok(!reply.body.includes('Traceback'));
      assertNoToken(reply);
    });
  }

  test('the authenticator down (connection refused) → 502 authenticator_unavailable, never a token', async () => {
    const down = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: await refusedUrl() });
    try {
      const reply = await request(`${down.url}/login`, JSON_LOGIN);
      assert.equal(reply.status, 502);
      assert.deepEqual(json(reply), { error: 'authenticator_unavailable' });
      assert.match(String(reply.headers['cache-control']), /no-store/);
      assertNoToken(reply);
    } finally {
      await down.close();
    }
  });

  test('GET /login is the sign-in page, and the authenticator is not called', async () => {
    const reply = await request(`${svc.url}/login`);
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.equal(stub.requests.length, 0);
  });
  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    test(`${method} /login → 405 with Allow: GET, POST, and the authenticator is not called`, async () => {
      const reply = await request(`${svc.url}/login`, { method });
      assert.equal(reply.status, 405);
      assert.equal(reply.headers.allow, 'GET, POST');
      assert.deepEqual(json(reply), { error: 'method_not_allowed' });
      assert.equal(stub.requests.length, 0);
    });
  }
});

describe('/login body limit', { timeout: 30_000 }, () => {
  let small: InProcessService;
  before(async () => {
    small = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url, LOGIN_BODY_LIMIT: '1kb' });
  });
  after(() => small?.close());

  test('a body at the limit is forwarded', async () => {
    const body = JSON.stringify({ ...ALICE, pad: 'x'.repeat(1024 - JSON.stringify({ ...ALICE, pad: '' }).length) });
    assert.equal(Buffer.byteLength(body), 1024);
    assert.equal((await request(`${small.url}/login`, { ...JSON_LOGIN, body })).status, 200);
  });

  test('a body above LOGIN_BODY_LIMIT (Content-Length) → 413 and the authenticator is never called', async () => {
    const reply = await request(`${small.url}/login`, { ...JSON_LOGIN, body: JSON.stringify({ ...ALICE, pad: 'x'.repeat(2048) }) });
    assert.equal(reply.status, 413);
    assert.deepEqual(json(reply), { error: 'body_too_large' });
    assert.equal(stub.requests.length, 0);
  });

  test('a chunked body above LOGIN_BODY_LIMIT → 413 and the authenticator is never called', async () => {
    const reply = await request(`${small.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: JSON.stringify({ ...ALICE, pad: 'x'.repeat(2048) }),
    });
    assert.equal(reply.status, 413);
    assert.equal(stub.requests.length, 0);
  });
});

describe('/login forwards the request id and the client address', { timeout: 30_000 }, () => {
  test('X-Request-ID is forwarded and echoed', async () => {
    const reply = await request(`${svc.url}/login`, { ...JSON_LOGIN, headers: { ...JSON_LOGIN.headers, 'x-request-id': 'req-0042' } });
    assert.equal(reply.headers['x-request-id'], 'req-0042');
    assert.equal(stub.requests[0]?.headers['x-request-id'], 'req-0042');
  });

  test('without X-Request-ID a fresh one is made and forwarded', async () => {
    const reply = await request(`${svc.url}/login`, JSON_LOGIN);
    const id = stub.requests[0]?.headers['x-request-id'];
    assert.ok(typeof id === 'string' && id.length > 0);
    assert.equal(reply.headers['x-request-id'], id);
  });

  test('an unsafe X-Request-ID is replaced, not forwarded', async () => {
    const unsafe = `a b ${randomUUID()}`;
    await request(`${svc.url}/login`, { ...JSON_LOGIN, headers: { ...JSON_LOGIN.headers, 'x-request-id': unsafe } });
    assert.notEqual(stub.requests[0]?.headers['x-request-id'], unsafe);
  });

  test('X-Forwarded-For from a trusted proxy (loopback by default) names the client', async () => {
    await request(`${svc.url}/login`, { ...JSON_LOGIN, headers: { ...JSON_LOGIN.headers, 'x-forwarded-for': '198.51.100.7' } });
    assert.equal(stub.requests[0]?.headers['x-forwarded-for'], '198.51.100.7');
  });

  test('X-Forwarded-For from an untrusted peer is replaced by the peer address', async () => {
    const untrusting = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url, TRUSTED_PROXIES: '10.9.9.9' });
    try {
      await request(`${untrusting.url}/login`, { ...JSON_LOGIN, headers: { ...JSON_LOGIN.headers, 'x-forwarded-for': '6.6.6.6' } });
      assert.equal(stub.requests[0]?.headers['x-forwarded-for'], '127.0.0.1');
    } finally {
      await untrusting.close();
    }
  });
});

describe('the login cookie and /logout', { timeout: 30_000 }, () => {
  let cookieSvc: InProcessService;
  before(async () => {
    cookieSvc = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url, TOKEN_COOKIE: 'jwt', LOGIN_SET_COOKIE: 'true' });
  });
  after(() => cookieSvc?.close());

  test('LOGIN_SET_COOKIE=true sets an HttpOnly; Secure; SameSite=Lax cookie holding the token', async () => {
    const reply = await request(`${cookieSvc.url}/login`, JSON_LOGIN);
    assert.equal(reply.status, 200);
    const [cookie, ...more] = setCookies(reply);
    assert.equal(more.length, 0);
    const token = String(json(reply).token);
    const attributes = (cookie ?? '').split(';').map((part) => part.trim());
    assert.equal(attributes[0], `jwt=${token}`);
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/', 'Max-Age=3600'])
      assert.ok(attributes.includes(attribute), `${attribute} missing from ${cookie}`);
  });

  test('/check accepts the cookie', async () => {
    const reply = await request(`${cookieSvc.url}/login`, JSON_LOGIN);
    const pair = (setCookies(reply)[0] ?? '').split(';')[0] ?? '';
    const check = await request(`${cookieSvc.url}/check`, { headers: { cookie: `other=1; ${pair}` } });
    assert.equal(check.status, 200);
    assert.equal(check.headers['x-auth-user'], 'alice');
  });

  test('a failed login sets no cookie', async () => {
    const reply = await request(`${cookieSvc.url}/login`, { ...JSON_LOGIN, body: JSON.stringify({ username: 'alice', password: 'x' }) });
    assert.equal(reply.status, 401);
    assert.equal(setCookies(reply).length, 0);
  });

  test('POST /logout clears the cookie', async () => {
    const reply = await request(`${cookieSvc.url}/logout`, { method: 'POST' });
    assert.equal(reply.status, 204);
    assert.match(String(reply.headers['cache-control']), /no-store/);
    const [cookie] = setCookies(reply);
    const attributes = (cookie ?? '').split(';').map((part) => part.trim());
    assert.equal(attributes[0], 'jwt=');
    for (const attribute of ['Max-Age=0', 'Path=/', 'HttpOnly', 'Secure']) assert.ok(attributes.includes(attribute), `${attribute} missing from ${cookie}`);
  });

  test('GET /logout is the signed-out page and clears nothing; PUT /logout → 405 with Allow: GET, POST', async () => {
    const page = await request(`${cookieSvc.url}/logout`);
    assert.equal(page.status, 200);
    assert.equal(page.headers['set-cookie'], undefined, 'only a POST signs out');
    const reply = await request(`${cookieSvc.url}/logout`, { method: 'PUT' });
    assert.equal(reply.status, 405);
    assert.equal(reply.headers.allow, 'GET, POST');
  });
});

describe('failed-login limits', { timeout: 30_000 }, () => {
  test('after LOGIN_MAX_FAILURES_PER_USER failures: 429 with Retry-After, and the authenticator is not asked', async () => {
    const limited = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url, LOGIN_MAX_FAILURES_PER_USER: '2' });
    try {
      const wrong = { ...JSON_LOGIN, body: JSON.stringify({ username: 'alice', password: 'wrong' }) };
      assert.equal((await request(`${limited.url}/login`, wrong)).status, 401);
      assert.equal((await request(`${limited.url}/login`, wrong)).status, 401);
      const reply = await request(`${limited.url}/login`, JSON_LOGIN);
      assert.equal(reply.status, 429);
      assert.ok(Number(reply.headers['retry-after']) > 0);
      assert.deepEqual(json(reply), { error: 'rate_limited' });
      assert.equal(stub.requests.length, 2);
    } finally {
      await limited.close();
    }
  });
});

describe('verify-only setups', { timeout: 30_000 }, () => {
  test('/login without a signing key → 404 and the authenticator is not called', async () => {
    const verifyOnly = await startServiceInProcess({
      JWT_ALGORITHM: 'ES256',
      JWT_PUBLIC_KEY_FILE: files.write('verify-only.pem', pairFor('ES256').publicPem),
      AUTHENTICATOR_URL: stub.url,
    });
    try {
      const reply = await request(`${verifyOnly.url}/login`, JSON_LOGIN);
      assert.equal(reply.status, 404);
      assertNoToken(reply);
      assert.equal(stub.requests.length, 0);
    } finally {
      await verifyOnly.close();
    }
  });
});

describe('/login never issues a token /check or a browser would refuse', { timeout: 30_000 }, () => {
  let cookieSvc: InProcessService;
  before(async () => {
    cookieSvc = await startServiceInProcess({ ...files.env('HS256'), AUTHENTICATOR_URL: stub.url, TOKEN_COOKIE: 'jwt', LOGIN_SET_COOKIE: 'true' });
  });
  after(() => cookieSvc?.close());

  /** A user whose token is about `bytes` long: base64url makes 4 characters of every 3 bytes. */
  const userWithTokenOf = (bytes: number) => ({ ...ALICE_USER, pad: 'x'.repeat(Math.floor((bytes * 3) / 4)) });

  test('a user object that makes the token longer than JWT_MAX_TOKEN_LENGTH → 502 issued_token_too_long, logged, no token', async () => {
    stub.answer(() => ({ status: 200, body: userWithTokenOf(20_000) }));
    const reply = await request(`${svc.url}/login`, JSON_LOGIN);
    assert.equal(reply.status, 502);
    assert.deepEqual(json(reply), { error: 'issued_token_too_long' });
    assertNoToken(reply);
    const logged = svc.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.code === 'issued_token_too_long');
    assert.match(String(logged?.reason), /JWT_MAX_TOKEN_LENGTH is 8192/);
  });

  test('a token /check accepts is issued, and is accepted', async () => {
    stub.answer(() => ({ status: 200, body: userWithTokenOf(7000) }));
    const reply = await request(`${svc.url}/login`, JSON_LOGIN);
    assert.equal(reply.status, 200);
    const token = String(json(reply).token);
    assert.ok(token.length > 6000 && token.length <= 8192, `token of ${token.length}`);
    assert.equal((await request(`${svc.url}/check`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  });

  test('with LOGIN_SET_COOKIE, a token whose Set-Cookie passes 4096 bytes → 502 issued_token_too_long, no cookie', async () => {
    stub.answer(() => ({ status: 200, body: userWithTokenOf(5000) }));
    const reply = await request(`${cookieSvc.url}/login`, JSON_LOGIN);
    assert.equal(reply.status, 502);
    assert.deepEqual(json(reply), { error: 'issued_token_too_long' });
    assertNoToken(reply);
    const logged = cookieSvc.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.code === 'issued_token_too_long');
    assert.match(String(logged?.reason), /Set-Cookie of \d+ bytes, browsers keep 4096/);
  });

  test('with LOGIN_SET_COOKIE, a Set-Cookie within 4096 bytes is set', async () => {
    stub.answer(() => ({ status: 200, body: userWithTokenOf(3500) }));
    const reply = await request(`${cookieSvc.url}/login`, JSON_LOGIN);
    assert.equal(reply.status, 200);
    const [cookie] = setCookies(reply);
    assert.ok(cookie !== undefined && Buffer.byteLength(cookie) <= 4096 && Buffer.byteLength(cookie) > 3500, `cookie of ${cookie?.length}`);
  });
});
