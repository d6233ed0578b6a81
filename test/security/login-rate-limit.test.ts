/**
 * Brute force at /login: failed attempts are limited per client address and per username
 * (LOGIN_MAX_FAILURES_PER_IP, LOGIN_MAX_FAILURES_PER_USER, LOGIN_FAILURE_WINDOW); a limited attempt is
 * a 429 with Retry-After and never reaches the authenticator; X-Forwarded-For / X-Real-IP count only
 * when the peer is one of TRUSTED_PROXIES; a success withdraws its own attempt, never earlier failures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { containsToken, request, sleep, startApp, startHttpStub, SECRET, type App, type Reply, type Stub } from './support.js';

const RIGHT = 'right-password';

/** The Flask-style authenticator: 200 for the right password, 401 otherwise; remembers what it saw. */
interface Authenticator {
  readonly stub: Stub;
  /** X-Forwarded-For of each call, in order. */
  readonly forwardedFor: string[];
}

async function startAuthenticator(delayMs = 0): Promise<Authenticator> {
  const forwardedFor: string[] = [];
  const stub = await startHttpStub((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      forwardedFor.push(String(req.headers['x-forwarded-for']));
      const { username, password } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { username: string; password: string };
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        if (password === RIGHT) res.end(JSON.stringify({ sub: username }));
        else res.writeHead(401).end('{"error":"invalid credentials"}');
      }, delayMs);
    });
  });
  return { stub, forwardedFor };
}

function login(app: App, username: string, password: string, headers: Record<string, string> = {}): Promise<Reply> {
  return request(`${app.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
}

function assertLimited(reply: Reply, windowSeconds: number): void {
  assert.equal(reply.status, 429, reply.body);
  assert.deepEqual(JSON.parse(reply.body), { error: 'rate_limited' });
  const retryAfter = Number(reply.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${reply.headers['retry-after']}`);
  assert.ok(!containsToken(reply.body));
}

let auth: Authenticator;
let slowAuth: Authenticator;
const apps: App[] = [];

before(async () => {
  auth = await startAuthenticator();
  slowAuth = await startAuthenticator(200);
});
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await auth.stub.close();
  await slowAuth.stub.close();
});

async function appWith(env: Record<string, string>, authenticator = auth): Promise<App> {
  const app = await startApp({ JWT_SECRET: SECRET, AUTHENTICATOR_URL: authenticator.stub.url, LOGIN_FAILURE_WINDOW: '60s', ...env });
  apps.push(app);
  return app;
}

describe('failed logins per username', () => {
  test(
    'after LOGIN_MAX_FAILURES_PER_USER failures the username gets 429 + Retry-After, even with the right password, and the authenticator is not ' + 'called',
    async () => {
      const app = await appWith({ LOGIN_MAX_FAILURES_PER_USER: '2', LOGIN_MAX_FAILURES_PER_IP: '100' });
      const before = auth.stub.received;
      assert.equal((await login(app, 'alice', 'wrong-1')).status, 401);
      assert.equal((await login(app, 'alice', 'wrong-2')).status, 401);
      assertLimited(await login(app, 'alice', RIGHT), 60);
      assertLimited(await login(app, 'ALICE ', RIGHT), 60);
      assert.equal(auth.stub.received - before, 2, 'the authenticator saw only the two failures');
      assert.ok(app.logs.some((line) => line.event === 'login' && line.code === 'rate_limited'));
    },
  );

  test('another username from the same address is not affected', async () => {
    const app = await appWith({ LOGIN_MAX_FAILURES_PER_USER: '2', LOGIN_MAX_FAILURES_PER_IP: '100' });
    await login(app, 'alice', 'wrong');
    await login(app, 'alice', 'wrong');
    assertLimited(await login(app, 'alice', RIGHT), 60);
    assert.equal((await login(app, 'bob', RIGHT)).status, 200);
  });

  test('a success is not counted, and does not clear the failures before it', async () => {
    const app = await appWith({ LOGIN_MAX_FAILURES_PER_USER: '3', LOGIN_MAX_FAILURES_PER_IP: '100' });
    assert.equal((await login(app, 'alice', 'wrong')).status, 401);
    assert.equal((await login(app, 'alice', RIGHT)).status, 200);
    assert.equal((await login(app, 'alice', RIGHT)).status, 200);
    assert.equal((await login(app, 'alice', 'wrong')).status, 401);
    assert.equal((await login(app, 'alice', 'wrong')).status, 401, 'the third failure: the successes did not count');
    assertLimited(await login(app, 'alice', RIGHT), 60);
  });

  test("a success under a username that normalizes to another user's key leaves that user's failures alone", async () => {
    // An authenticator may tell "Alice " from "alice"; the count's key does not, so whoever owns
    // "Alice " must not be able to wipe alice's failures by logging in.
    const app = await appWith({ LOGIN_MAX_FAILURES_PER_USER: '2', LOGIN_MAX_FAILURES_PER_IP: '100' });
    assert.equal((await login(app, 'alice', 'wrong')).status, 401);
    assert.equal((await login(app, 'Alice ', RIGHT)).status, 200);
    assert.equal((await login(app, 'alice', 'wrong')).status, 401);
    assertLimited(await login(app, 'alice', RIGHT), 60);
  });

  test('the limit lifts when LOGIN_FAILURE_WINDOW has passed', async () => {
    const app = await appWith({ LOGIN_MAX_FAILURES_PER_USER: '1', LOGIN_MAX_FAILURES_PER_IP: '100', LOGIN_FAILURE_WINDOW: '1s' });
    assert.equal((await login(app, 'alice', 'wrong')).status, 401);
    assertLimited(await login(app, 'alice', RIGHT), 1);
    await sleep(1100);
    assert.equal((await login(app, 'alice', RIGHT)).status, 200);
  });

  test('concurrent attempts cannot overshoot the limit: the authenticator sees at most LOGIN_MAX_FAILURES_PER_USER of them', async () => {
    const app = await appWith({ LOGIN_MAX_FAILURES_PER_USER: '2', LOGIN_MAX_FAILURES_PER_IP: '100' }, slowAuth);
    const before = slowAuth.stub.received;
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => login(app, 'alice', `wrong-${i}`)));
    assert.equal(slowAuth.stub.received - before, 2, 'authenticator calls');
    assert.deepEqual(replies.map((reply) => reply.status).sort(), [401, 401, 429, 429, 429, 429, 429, 429, 429, 429]);
  });

  test('an authenticator failure (5xx, timeout) is not counted against the user', async () => {
    const failing = await startHttpStub((req, res) => {
      req.resume();
      res.writeHead(500).end();
    });
    try {
      const app = await startApp({ JWT_SECRET: SECRET, AUTHENTICATOR_URL: failing.url, LOGIN_MAX_FAILURES_PER_USER: '1', LOGIN_MAX_FAILURES_PER_IP: '1' });
      apps.push(app);
      for (let i = 0; i < 3; i++) assert.equal((await login(app, 'alice', RIGHT)).status, 502);
      assert.equal(failing.received, 3);
    } finally {
      await failing.close();
    }
  });
});

describe('failed logins per client address', () => {
  test('after LOGIN_MAX_FAILURES_PER_IP failures across usernames the address gets 429 and the authenticator is not called', async () => {
    const app = await appWith({ LOGIN_MAX_FAILURES_PER_IP: '3', LOGIN_MAX_FAILURES_PER_USER: '100' });
    const before = auth.stub.received;
    for (const username of ['u1', 'u2', 'u3']) assert.equal((await login(app, username, 'wrong')).status, 401);
    assertLimited(await login(app, 'u4', RIGHT), 60);
    assertLimited(await login(app, 'u1', RIGHT), 60);
    assert.equal(auth.stub.received - before, 3);
  });

  test('without a per-username limit, a body without a username is still limited by address', async () => {
    const app = await appWith({ LOGIN_MAX_FAILURES_PER_IP: '2', LOGIN_MAX_FAILURES_PER_USER: '0' });
    const send = () =>
      request(`${app.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"alice","password":"x"}' });
    assert.equal((await send()).status, 401);
    assert.equal((await send()).status, 401);
    assertLimited(await send(), 60);
  });
});

describe('the username counted is the username the authenticator checks', () => {
  test('with a per-username limit, a body that names no username is refused (400 username_missing) and never forwarded', async () => {
    const app = await appWith({ LOGIN_MAX_FAILURES_PER_USER: '2', LOGIN_MAX_FAILURES_PER_IP: '100' });
    const before = auth.stub.received;
    for (const body of ['{"user":"alice","password":"x"}', '{"username":"  ","password":"x"}', '{"username":"","password":"x"}']) {
      const reply = await request(`${app.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(reply.status, 400, body);
      assert.deepEqual(JSON.parse(reply.body), { error: 'username_missing' });
    }
    assert.equal(auth.stub.received - before, 0);
  });
});

describe('X-Forwarded-For and X-Real-IP', () => {
  test('from a peer that is not in TRUSTED_PROXIES they are ignored: spoofed addresses all count against the peer', async () => {
    const app = await appWith({ TRUSTED_PROXIES: '10.0.0.1', LOGIN_MAX_FAILURES_PER_IP: '2', LOGIN_MAX_FAILURES_PER_USER: '100' });
    const seen = auth.forwardedFor.length;
    assert.equal((await login(app, 'u1', 'wrong', { 'x-forwarded-for': '203.0.113.1' })).status, 401);
    assert.equal((await login(app, 'u2', 'wrong', { 'x-real-ip': '203.0.113.2' })).status, 401);
    assertLimited(await login(app, 'u3', RIGHT, { 'x-forwarded-for': '203.0.113.3', 'x-real-ip': '203.0.113.3' }), 60);
    assert.deepEqual(auth.forwardedFor.slice(seen), ['127.0.0.1', '127.0.0.1'], 'the authenticator is told the real peer');
  });

  test('from a trusted proxy, X-Forwarded-For selects the client: each client has its own count', async () => {
    const app = await appWith({ TRUSTED_PROXIES: '127.0.0.1', LOGIN_MAX_FAILURES_PER_IP: '2', LOGIN_MAX_FAILURES_PER_USER: '100' });
    const seen = auth.forwardedFor.length;
    const client1 = { 'x-forwarded-for': '203.0.113.1' };
    assert.equal((await login(app, 'u1', 'wrong', client1)).status, 401);
    assert.equal((await login(app, 'u2', 'wrong', client1)).status, 401);
    assertLimited(await login(app, 'u3', RIGHT, client1), 60);
    assert.equal((await login(app, 'u3', RIGHT, { 'x-forwarded-for': '203.0.113.2' })).status, 200, 'another client is not affected');
    assert.deepEqual(auth.forwardedFor.slice(seen), ['203.0.113.1', '203.0.113.1', '203.0.113.2']);
  });

  test('from a trusted proxy, a client cannot escape its count by prepending addresses: the rightmost untrusted hop counts', async () => {
    const app = await appWith({ TRUSTED_PROXIES: '127.0.0.1', LOGIN_MAX_FAILURES_PER_IP: '2', LOGIN_MAX_FAILURES_PER_USER: '100' });
    assert.equal((await login(app, 'u1', 'wrong', { 'x-forwarded-for': '198.51.100.7, 203.0.113.1' })).status, 401);
    assert.equal((await login(app, 'u2', 'wrong', { 'x-forwarded-for': '198.51.100.8, 203.0.113.1' })).status, 401);
    assertLimited(await login(app, 'u3', RIGHT, { 'x-forwarded-for': '198.51.100.9, 203.0.113.1' }), 60);
  });

  test('from a trusted proxy without X-Forwarded-For, X-Real-IP selects the client', async () => {
    const app = await appWith({ TRUSTED_PROXIES: '127.0.0.1', LOGIN_MAX_FAILURES_PER_IP: '1', LOGIN_MAX_FAILURES_PER_USER: '100' });
    assert.equal((await login(app, 'u1', 'wrong', { 'x-real-ip': '203.0.113.1' })).status, 401);
    assertLimited(await login(app, 'u2', RIGHT, { 'x-real-ip': '203.0.113.1' }), 60);
    assert.equal((await login(app, 'u2', RIGHT, { 'x-real-ip': '203.0.113.2' })).status, 200);
  });
});
