/**
 * Slow and oversized clients against the real server from `startServer`: headers sent byte
 * by byte are cut off by SERVER_HEADERS_TIMEOUT, a trickled body by SERVER_REQUEST_TIMEOUT, a crowd of
 * slow clients does not keep others out, and /login bodies over LOGIN_BODY_LIMIT are a 413 whether
 * or not they declare their length.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logging.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { parseRaw, rawRequest, type RawReply } from '../../support/raw-http.js';
import { request, sleep, startHttpStub, SECRET, type Stub } from './support.js';

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;

let running: RunningServer;
let authenticator: Stub;

before(async () => {
  authenticator = await startHttpStub((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid credentials"}'));
  });
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    JWT_SECRET: SECRET,
    AUTHENTICATOR_URL: authenticator.url,
    LOGIN_BODY_LIMIT: '1kb',
    SERVER_HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS}ms`,
    SERVER_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
  });
  running = await startServer(config, createLogger('silent'));
});

after(async () => {
  running.server.closeAllConnections();
  await running.stop();
  await authenticator.close();
});

interface Trickle {
  /** Resolves when the server closes the connection: what it answered and when. */
  readonly closed: Promise<{ reply: RawReply; elapsedMs: number; bytesSent: number }>;
  stop(): void;
}

/** Sends `head` at once, then `trickle` one byte every `everyMs`, until the server hangs up. */
function trickle(port: number, head: string, slow: string, everyMs: number): Trickle {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  const started = performance.now();
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(head);
    timer = setInterval(() => {
      if (sent < slow.length && socket.writable) socket.write(slow.charAt(sent++));
    }, everyMs);
  });
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<{ reply: RawReply; elapsedMs: number; bytesSent: number }>((resolve) => {
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ reply: parseRaw(Buffer.concat(chunks).toString('latin1')), elapsedMs: performance.now() - started, bytesSent: sent });
    });
  });
  return {
    closed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** Fails after `ms`, so a test never waits on a server that does not hang up. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('slow clients', () => {
  test('headers sent byte by byte are cut off by SERVER_HEADERS_TIMEOUT with a 408', async () => {
    const slow = trickle(running.port, 'GET /check HTTP/1.1\r\nHost: 127.0.0.1\r\n', `X-Padding: ${'a'.repeat(500)}\r\n\r\n`, 50);
    try {
      const { reply, elapsedMs, bytesSent } = await within(slow.closed, HEADERS_TIMEOUT_MS + 3000, 'slow headers');
      assert.ok(elapsedMs >= HEADERS_TIMEOUT_MS - 100, `closed after ${Math.round(elapsedMs)} ms`);
      assert.ok(bytesSent < 500, 'cut off before the headers were complete');
      assert.ok(reply.status === 408 || reply.status === 0, reply.head);
    } finally {
      slow.stop();
    }
  });

  test('a body trickled byte by byte is cut off by SERVER_REQUEST_TIMEOUT, and the authenticator is not called', async () => {
    const before = authenticator.received;
    const body = JSON.stringify({ username: 'alice', password: 'x'.repeat(200) });
    const head = `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const slow = trickle(running.port, head, body, 50);
    try {
      const { reply, elapsedMs, bytesSent } = await within(slow.closed, REQUEST_TIMEOUT_MS + 3000, 'slow body');
      assert.ok(elapsedMs >= REQUEST_TIMEOUT_MS - 100, `closed after ${Math.round(elapsedMs)} ms`);
      assert.ok(bytesSent < body.length, 'cut off before the body was complete');
      assert.ok(reply.status === 408 || reply.status === 400 || reply.status === 0, reply.head);
      assert.equal(authenticator.received, before);
    } finally {
      slow.stop();
    }
  });

  test('fifty slow clients do not keep a normal client out', async () => {
    const crowd = Array.from({ length: 50 }, () =>
      trickle(running.port, 'GET /check HTTP/1.1\r\n', `Host: 127.0.0.1\r\nX-Padding: ${'a'.repeat(500)}\r\n\r\n`, 200),
    );
    try {
      await sleep(100);
      const started = performance.now();
      const reply = await request(`http://127.0.0.1:${running.port}/healthz`, { timeoutMs: 2000 });
      assert.equal(reply.status, 200);
      assert.ok(performance.now() - started < 1500, `answered in ${Math.round(performance.now() - started)} ms`);
    } finally {
      for (const client of crowd) client.stop();
    }
  });

  test("keep-alive connections outlive nginx's upstream keepalive_timeout (60 s), so nginx closes them first", () => {
    assert.ok(running.server.keepAliveTimeout > 60_000);
    assert.equal(running.server.headersTimeout, HEADERS_TIMEOUT_MS);
    assert.equal(running.server.requestTimeout, REQUEST_TIMEOUT_MS);
  });
});

describe('/login body limit (LOGIN_BODY_LIMIT=1kb)', () => {
  const loginHead = (extra: string[]): string =>
    ['POST /login HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', ...extra, 'Connection: close', '', ''].join('\r\n');

  test('a declared Content-Length over the limit is a 413 before the body is read', async () => {
    const before = authenticator.received;
    const reply = await rawRequest(running.port, loginHead([`Content-Length: ${1024 * 1024}`]), 3000);
    assert.equal(reply.status, 413, reply.head);
    assert.deepEqual(JSON.parse(reply.body), { error: 'body_too_large' });
    assert.equal(authenticator.received, before);
  });

  test('a chunked body without Content-Length is a 413 once it passes the limit', async () => {
    const before = authenticator.received;
    const chunk = `{"username":"alice","password":"${'x'.repeat(4096)}"}`;
    const chunked = `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(16) + '0\r\n\r\n';
    const reply = await rawRequest(running.port, loginHead(['Transfer-Encoding: chunked']) + chunked, 3000);
    assert.equal(reply.status, 413, reply.head);
    assert.deepEqual(JSON.parse(reply.body), { error: 'body_too_large' });
    assert.equal(authenticator.received, before);
  });

  test('a chunked body that never ends is a 413 without waiting for its end', async () => {
    const before = authenticator.received;
    const chunk = 'x'.repeat(2048);
    const reply = await rawRequest(running.port, `${loginHead(['Transfer-Encoding: chunked'])}${chunk.length.toString(16)}\r\n${chunk}\r\n`, 3000);
    assert.equal(reply.status, 413, reply.head);
    assert.equal(authenticator.received, before);
  });

  test('a body within the limit reaches the authenticator, chunked or not', async () => {
    const before = authenticator.received;
    const body = JSON.stringify({ username: 'alice', password: 'wrong' });
    const plain = await rawRequest(running.port, loginHead([`Content-Length: ${body.length}`]) + body, 3000);
    const chunked = await rawRequest(running.port, `${loginHead(['Transfer-Encoding: chunked'])}${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`, 3000);
    assert.equal(plain.status, 401, plain.head);
    assert.equal(chunked.status, 401, chunked.head);
    assert.equal(authenticator.received - before, 2);
  });
});

describe('SERVER_HEADERS_TIMEOUT and SERVER_REQUEST_TIMEOUT', () => {
  test('default to 10 s and 30 s', () => {
    const config = loadConfig({ JWT_SECRET: SECRET });
    assert.equal(config.server.headersTimeoutMs, 10_000);
    assert.equal(config.server.requestTimeoutMs, 30_000);
  });

  const bad: ReadonlyArray<{ name: string; env: Record<string, string>; problem: RegExp }> = [
    {
      name: 'a header bound longer than the request bound',
      env: { SERVER_HEADERS_TIMEOUT: '40s' },
      problem: /SERVER_HEADERS_TIMEOUT must not be longer than SERVER_REQUEST_TIMEOUT/,
    },
    { name: 'a header bound of 0 (node would disable it)', env: { SERVER_HEADERS_TIMEOUT: '0' }, problem: /SERVER_HEADERS_TIMEOUT: expected a duration/ },
    { name: 'a request bound that is not a duration', env: { SERVER_REQUEST_TIMEOUT: 'soon' }, problem: /SERVER_REQUEST_TIMEOUT: expected a duration/ },
  ];
  for (const row of bad) {
    test(`${row.name} stops the start with one problem naming it`, () => {
      assert.throws(
        () => loadConfig({ JWT_SECRET: SECRET, ...row.env }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.problems.length, 1, error.message);
          assert.match(error.problems[0] ?? '', row.problem);
          return true;
        },
      );
    });
  }
});
