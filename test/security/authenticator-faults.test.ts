/**
 * The authenticator misbehaving, against real local servers: each fault gets the right
 * status, a log line with its reason code, and no token anywhere in the response. Nothing is ever
 * signed on an error path (README: "never a token, ever").
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type http from 'node:http';
import type net from 'node:net';
import { closedPort, containsToken, request, sleep, startApp, startHttpStub, startRawStub, SECRET, type App, type Reply, type Stub } from './support.js';

const TIMEOUT_MS = 500;
const USER = { sub: 'alice', name: 'Alice', roles: ['admin'] };
const CREDENTIALS = JSON.stringify({ username: 'alice', password: 'wonderland' });

/** Started stubs, closed after all tests: a stub may still hold a socket when its row ends. */
const stubs: Stub[] = [];
const track = async (stub: Promise<Stub>): Promise<Stub> => {
  stubs.push(await stub);
  return stubs[stubs.length - 1] as Stub;
};
after(async () => {
  await Promise.all(stubs.map((stub) => stub.close()));
});

async function appFor(url: string, extra: Record<string, string> = {}): Promise<App> {
  return startApp({ JWT_SECRET: SECRET, AUTHENTICATOR_URL: url, AUTHENTICATOR_TIMEOUT: `${TIMEOUT_MS}ms`, ...extra });
}

async function login(app: App): Promise<{ reply: Reply; elapsedMs: number }> {
  const started = performance.now();
  const reply = await request(`${app.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: CREDENTIALS, timeoutMs: 5000 });
  return { reply, elapsedMs: performance.now() - started };
}

/** The response, as text: status line fields, every header, the body. */
const wholeReply = (reply: Reply): string => `${reply.status}\n${reply.rawHeaders.join('\n')}\n${reply.body}`;

/** Answers `res` with JSON text (not necessarily valid) and the given status. */
const answer =
  (status: number, body: string | Buffer, headers: Record<string, string | string[]> = {}): http.RequestListener =>
  (req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };

/** Writes `total` bytes with back-pressure and counts how many the socket took before it closed. */
function floodStub(total: number, chunked: boolean): { handler: http.RequestListener; written: () => number; finished: () => boolean } {
  let written = 0;
  let finished = false;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  return {
    written: () => written,
    finished: () => finished,
    handler: (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(total) }) });
      res.on('close', () => undefined);
      const pump = (): void => {
        while (written < total && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (written >= total) {
          finished = true;
          res.end();
        }
      };
      pump();
    },
  };
}

interface FaultRow {
  readonly name: string;
  /** Starts the misbehaving authenticator and returns the URL to use. */
  readonly start: () => Promise<string>;
  readonly status: number;
  readonly code: string;
  /** Upper bound on the whole /login, in ms. */
  readonly withinMs?: number;
}

const flood = floodStub(10 * 1024 * 1024, false);
const chunkedFlood = floodStub(10 * 1024 * 1024, true);

const rows: FaultRow[] = [
  {
    name: 'down: nothing listening',
    start: async () => `http://127.0.0.1:${await closedPort()}/login`,
    status: 502,
    code: 'authenticator_unavailable',
    withinMs: 2000,
  },
  {
    name: 'refusing connections: every connection reset',
    start: async () => (await track(startRawStub((socket) => socket.resetAndDestroy()))).url,
    status: 502,
    code: 'authenticator_unavailable',
    withinMs: 2000,
  },
  {
    name: 'closing the connection after reading the request, without an answer',
    start: async () => (await track(startRawStub((socket) => socket.once('data', () => socket.end())))).url,
    status: 502,
    code: 'authenticator_unavailable',
    withinMs: 2000,
  },
  {
    name: 'accepting and never answering',
    start: async () => (await track(startRawStub(() => undefined))).url,
    status: 504,
    code: 'authenticator_timeout',
    withinMs: TIMEOUT_MS + 1000,
  },
  {
    name: 'answering the status line byte by byte, beyond the timeout',
    start: async () =>
      (
        await track(
          startRawStub((socket) => {
            const text = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{"sub":"alice"}`;
            let at = 0;
            const timer = setInterval(() => (at < text.length && !socket.destroyed ? socket.write(text.charAt(at++)) : clearInterval(timer)), 50);
            socket.on('close', () => clearInterval(timer));
          }),
        )
      ).url,
    status: 504,
    code: 'authenticator_timeout',
    withinMs: TIMEOUT_MS + 1000,
  },
  {
    name: 'answering the body byte by byte, beyond the timeout',
    start: async () =>
      (
        await track(
          startRawStub((socket) => {
            const body = JSON.stringify(USER);
            socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
            let at = 0;
            const timer = setInterval(() => (at < body.length && !socket.destroyed ? socket.write(body.charAt(at++)) : clearInterval(timer)), 100);
            socket.on('close', () => clearInterval(timer));
          }),
        )
      ).url,
    status: 504,
    code: 'authenticator_timeout',
    withinMs: TIMEOUT_MS + 1000,
  },
  { name: '500', start: async () => (await track(startHttpStub(answer(500, '{"error":"boom"}')))).url, status: 502, code: 'authenticator_bad_response' },
  {
    name: '503 with Retry-After',
    start: async () => (await track(startHttpStub(answer(503, 'busy', { 'retry-after': '5' })))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'a 10 MB body with Content-Length',
    start: async () => (await track(startHttpStub(flood.handler))).url,
    status: 502,
    code: 'authenticator_bad_response',
    withinMs: 2000,
  },
  {
    name: 'a 10 MB chunked body without Content-Length',
    start: async () => (await track(startHttpStub(chunkedFlood.handler))).url,
    status: 502,
    code: 'authenticator_bad_response',
    withinMs: 2000,
  },
  {
    name: 'a 1 MB response header',
    start: async () =>
      (
        await track(
          startRawStub((socket) =>
            socket.once('data', () => socket.end(`HTTP/1.1 200 OK\r\nx-padding: ${'a'.repeat(1024 * 1024)}\r\ncontent-length: 15\r\n\r\n{"sub":"alice"}`)),
          ),
        )
      ).url,
    status: 502,
    code: 'authenticator_bad_response',
    withinMs: 2000,
  },
  {
    name: 'invalid JSON',
    start: async () => (await track(startHttpStub(answer(200, '{"sub":"alice",')))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'HTML',
    start: async () => (await track(startHttpStub(answer(200, '<html>ok</html>', { 'content-type': 'text/html' })))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'a JSON array',
    start: async () => (await track(startHttpStub(answer(200, JSON.stringify([USER]))))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  { name: 'a JSON string', start: async () => (await track(startHttpStub(answer(200, '"alice"')))).url, status: 502, code: 'authenticator_bad_response' },
  { name: 'a JSON number', start: async () => (await track(startHttpStub(answer(200, '42')))).url, status: 502, code: 'authenticator_bad_response' },
  { name: 'JSON null', start: async () => (await track(startHttpStub(answer(200, 'null')))).url, status: 502, code: 'authenticator_bad_response' },
  { name: 'an empty 200', start: async () => (await track(startHttpStub(answer(200, '')))).url, status: 502, code: 'authenticator_bad_response' },
  {
    name: 'a 200 object without any subject field',
    start: async () => (await track(startHttpStub(answer(200, '{"name":"Alice","roles":["admin"]}')))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'a 200 object whose subject is an object',
    start: async () => (await track(startHttpStub(answer(200, '{"sub":{"id":"alice"}}')))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'a 200 object whose subject is empty',
    start: async () => (await track(startHttpStub(answer(200, '{"sub":"","id":""}')))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'a 201 with a user',
    start: async () => (await track(startHttpStub(answer(201, JSON.stringify(USER))))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'a 204',
    start: async () =>
      (
        await track(
          startHttpStub((req, res) => {
            req.resume();
            res.writeHead(204).end();
          }),
        )
      ).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'a gzip-encoded 200 (we asked for identity)',
    start: async () => (await track(startHttpStub(answer(200, gzipSync(JSON.stringify(USER)), { 'content-encoding': 'gzip' })))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
  {
    name: 'a gzip-encoded 401',
    start: async () => (await track(startHttpStub(answer(401, gzipSync('{"error":"bad password"}'), { 'content-encoding': 'gzip' })))).url,
    status: 502,
    code: 'authenticator_bad_response',
  },
];

describe('/login when the authenticator misbehaves', () => {
  for (const row of rows) {
    test(`${row.name}: ${row.status} ${row.code}, logged, and no token`, async () => {
      const app = await appFor(await row.start());
      try {
        const { reply, elapsedMs } = await login(app);
        assert.equal(reply.status, row.status, wholeReply(reply));
        assert.deepEqual(JSON.parse(reply.body), { error: row.code });
        assert.equal(reply.headers['cache-control'], 'no-store');
        assert.equal(reply.headers['set-cookie'], undefined);
        assert.ok(!containsToken(wholeReply(reply)), 'no token in the response');
        if (row.withinMs !== undefined) assert.ok(elapsedMs < row.withinMs, `took ${Math.round(elapsedMs)} ms, bound ${row.withinMs} ms`);
        const logged = app.logs.filter((line) => line.event === 'login' && line.code === row.code);
        assert.equal(logged.length, 1, JSON.stringify(app.logs));
        assert.equal(typeof logged[0]?.reason, 'string');
        assert.ok(!app.logs.some((line) => containsToken(JSON.stringify(line))), 'no token in the logs');
      } finally {
        await app.close();
      }
    });
  }

  test('a 10 MB answer is cut off early: the stub never got to write it all', async () => {
    // Runs after the rows above; the kernel's socket buffers may hold a few MB, never the whole body.
    await sleep(50);
    for (const stub of [flood, chunkedFlood]) {
      assert.equal(stub.finished(), false);
      assert.ok(stub.written() < 10 * 1024 * 1024, `${stub.written()} bytes`);
    }
  });

  test('a redirect is not followed: 502, and its target receives nothing', async () => {
    const target = await track(startHttpStub(answer(200, JSON.stringify(USER))));
    for (const status of [301, 302, 303, 307, 308]) {
      const redirecting = await track(startHttpStub(answer(status, '', { location: target.url })));
      const app = await appFor(redirecting.url);
      try {
        const { reply } = await login(app);
        assert.equal(reply.status, 502, `${status}: ${wholeReply(reply)}`);
        assert.deepEqual(JSON.parse(reply.body), { error: 'authenticator_bad_response' });
        assert.equal(reply.headers.location, undefined, 'the Location is not passed on');
        assert.ok(!containsToken(wholeReply(reply)));
        assert.ok(app.logs.some((line) => line.event === 'login' && line.code === 'authenticator_bad_response'));
      } finally {
        await app.close();
      }
    }
    assert.equal(target.received, 0);
  });
});

describe("the authenticator's Set-Cookie", () => {
  const cookie = 'session=abc123; Path=/; HttpOnly';
  let okStub: Stub;
  let rejectingStub: Stub;
  let failingStub: Stub;
  before(async () => {
    okStub = await track(startHttpStub(answer(200, JSON.stringify(USER), { 'set-cookie': [cookie] })));
    rejectingStub = await track(startHttpStub(answer(401, '{"error":"bad password"}', { 'set-cookie': [cookie] })));
    failingStub = await track(startHttpStub(answer(500, '{"error":"boom"}', { 'set-cookie': [cookie] })));
  });

  const cases = [
    { name: 'on a 200', stub: () => okStub, status: 200 },
    { name: 'on a 401 passed through', stub: () => rejectingStub, status: 401 },
    { name: 'on a 500', stub: () => failingStub, status: 502 },
  ] as const;

  for (const { name, stub, status } of cases) {
    test(`${name}: not passed to the client by default`, async () => {
      const app = await appFor(stub().url);
      try {
        const { reply } = await login(app);
        assert.equal(reply.status, status);
        assert.equal(reply.headers['set-cookie'], undefined);
      } finally {
        await app.close();
      }
    });

    test(`${name}: ${status === 502 ? 'still not passed' : 'passed'} with AUTHENTICATOR_PASS_COOKIES=true`, async () => {
      const app = await appFor(stub().url, { AUTHENTICATOR_PASS_COOKIES: 'true' });
      try {
        const { reply } = await login(app);
        assert.equal(reply.status, status);
        assert.deepEqual(reply.headers['set-cookie'], status === 502 ? undefined : [cookie]);
        if (status !== 200) assert.ok(!containsToken(wholeReply(reply)));
      } finally {
        await app.close();
      }
    });
  }
});

describe('sanity: the same stubs, well-behaved', () => {
  test('a prompt 200 with a user object signs a token (the fault rows are not failing for another reason)', async () => {
    const ok = await track(startHttpStub(answer(200, JSON.stringify(USER))));
    const app = await appFor(ok.url);
    try {
      const { reply } = await login(app);
      assert.equal(reply.status, 200, wholeReply(reply));
      assert.ok(containsToken(reply.body));
    } finally {
      await app.close();
    }
  });

  test('a raw stub answering in one write within the timeout signs a token', async () => {
    const body = JSON.stringify(USER);
    const raw = await track(
      startRawStub((socket: net.Socket) =>
        socket.once('data', () =>
          socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`),
        ),
      ),
    );
    const app = await appFor(raw.url);
    try {
      const { reply } = await login(app);
      assert.equal(reply.status, 200, wholeReply(reply));
    } finally {
      await app.close();
    }
  });
});
