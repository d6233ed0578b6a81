/**
 * Requests node's HTTP parser refuses, sent by a direct caller on a raw socket: every one gets an
 * answer with a code (the deny on /check, since nginx makes a 500 of anything else), is counted and
 * is logged without its bytes. And header lines past node's old default cap of 2000 are still read.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { signJws } from '../../support/jws.js';
import { parseRaw, rawCheck, rawHeader, rawRequest, type RawReply } from '../../support/raw-http.js';
import { request, SECRET, now, startApp, containsToken, type App } from './support.js';

const validToken = (claims: Record<string, unknown> = {}): string =>
  signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', exp: now() + 300, ...claims }, SECRET);

function assertMalformedDeny(reply: RawReply, status: 401 | 403): void {
  assert.equal(reply.status, status, reply.raw);
  assert.deepEqual(rawHeader(reply, 'x-auth-error'), ['request_malformed']);
  assert.deepEqual(rawHeader(reply, 'connection'), ['close']);
  assert.deepEqual(JSON.parse(reply.body), { error: 'request_malformed' });
}

async function metric(app: App, prefix: string): Promise<number> {
  const text = (await request(`${app.url}/metrics`)).body;
  const line = text.split('\n').find((row) => row.startsWith(prefix));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('requests the HTTP parser refuses', () => {
  let app: App;
  before(async () => {
    app = await startApp({ JWT_SECRET: SECRET, LOG_DENY_RATE: '0' });
  });
  after(() => app.close());

  const malformed: ReadonlyArray<{ name: string; lines: readonly string[]; parserError: string }> = [
    { name: 'a control byte in an unrelated header', lines: ['X-Junk: a\x01b'], parserError: 'HPE_INVALID_HEADER_TOKEN' },
    { name: 'a control byte in Authorization', lines: [`Authorization: Bearer ${validToken()}\x01`], parserError: 'HPE_INVALID_HEADER_TOKEN' },
    { name: 'a control byte in Cookie', lines: [`Authorization: Bearer ${validToken()}`, 'Cookie: a=\x02'], parserError: 'HPE_INVALID_HEADER_TOKEN' },
    { name: 'a header block over 64 KiB', lines: [`X-Padding: ${'a'.repeat(70 * 1024)}`], parserError: 'HPE_HEADER_OVERFLOW' },
  ];
  for (const { name, lines, parserError } of malformed) {
    test(`${name} on /check: the deny with request_malformed, counted and logged with ${parserError}`, async () => {
      const deniedBefore = await metric(app, 'jwt_auth_check_decisions_total{result="deny",reason="request_malformed"}');
      const refusedBefore = await metric(app, `jwt_auth_http_refused_total{reason="${parserError}"}`);
      const logsBefore = app.logs.length;
      assertMalformedDeny(await rawRequest(app.port, rawCheck(lines)), 403);
      assert.equal(await metric(app, 'jwt_auth_check_decisions_total{result="deny",reason="request_malformed"}'), deniedBefore + 1);
      assert.equal(await metric(app, `jwt_auth_http_refused_total{reason="${parserError}"}`), refusedBefore + 1);
      const logged = app.logs.slice(logsBefore).filter((line) => line.code === 'request_malformed');
      assert.equal(logged.length, 1, 'one line for the connection');
      assert.equal(logged[0]?.parserError, parserError);
      assert.ok(JSON.stringify(logged[0]).length < 400, 'the refused bytes are not in the line');
      assert.equal(containsToken(JSON.stringify(app.logs)), false);
    });
  }

  test('/check?query and /CHECK/ are /check too; HEAD gets the head only', async () => {
    assertMalformedDeny(await rawRequest(app.port, rawCheck(['X-Junk: a\x01b'], '/check?role=admin')), 403);
    assertMalformedDeny(await rawRequest(app.port, rawCheck(['X-Junk: a\x01b'], '/CHECK/')), 403);
    const head = await rawRequest(app.port, rawCheck(['X-Junk: a\x01b']).replace(/^GET/, 'HEAD'));
    assert.equal(head.status, 403);
    assert.deepEqual(rawHeader(head, 'x-auth-error'), ['request_malformed']);
    assert.equal(head.body, '');
  });

  test('a keep-alive connection (as nginx keeps them) that answered an allow first gets the deny for the refused request', async () => {
    const socket = net.connect({ port: app.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      // The first answer is complete: send the request the parser refuses on the same connection.
      if (received.startsWith('HTTP/1.1 200') && received.includes('\r\n\r\n') && !socket.writableEnded) {
        socket.end(`GET /check HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: a\x01b\r\n\r\n`);
      }
    });
    socket.write(`GET /check HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${validToken()}\r\n\r\n`);
    await once(socket, 'close');
    const second = received.indexOf('HTTP/1.1 ', 1);
    assert.ok(second > 0, received);
    assertMalformedDeny(parseRaw(received.slice(second)), 403);
  });

  test('another route gets a 400 request_invalid, not the deny', async () => {
    const reply = await rawRequest(app.port, rawCheck(['X-Junk: a\x01b'], '/login'));
    assert.equal(reply.status, 400, reply.raw);
    assert.deepEqual(JSON.parse(reply.body), { error: 'request_invalid' });
    assert.deepEqual(rawHeader(reply, 'x-auth-error'), []);
  });

  test('a request that is not HTTP at all gets the deny (its target is unknown, and nginx may be the caller)', async () => {
    assertMalformedDeny(await rawRequest(app.port, 'NOT HTTP\r\n\r\n'), 403);
  });

  test('the server keeps serving', async () => {
    const reply = await rawRequest(app.port, rawCheck([`Authorization: Bearer ${validToken()}`]));
    assert.equal(reply.status, 200);
  });
});

describe('requests the HTTP parser refuses, with CHECK_UNAUTHENTICATED_STATUS=401', () => {
  test('the deny is a 401 with an invalid_request challenge (RFC 6750 §3.1)', async () => {
    const app = await startApp({ JWT_SECRET: SECRET, CHECK_UNAUTHENTICATED_STATUS: '401' });
    try {
      const reply = await rawRequest(app.port, rawCheck(['X-Junk: a\x01b']));
      assertMalformedDeny(reply, 401);
      assert.deepEqual(rawHeader(reply, 'www-authenticate'), ['Bearer realm="nginx-jwt-auth", error="invalid_request"']);
    } finally {
      await app.close();
    }
  });
});

describe('a header block over the size bound on another route', () => {
  test('is a 431 request_headers_too_large when its request line is in the refused bytes', async () => {
    // A small bound, so that the whole request arrives in the read the parser refuses.
    const app = await startApp({ JWT_SECRET: SECRET }, { maxHeaderSize: 1024 });
    try {
      const reply = await rawRequest(app.port, rawCheck([`X-Padding: ${'a'.repeat(2000)}`], '/metrics'));
      assert.equal(reply.status, 431, reply.raw);
      assert.deepEqual(JSON.parse(reply.body), { error: 'request_headers_too_large' });
      assertMalformedDeny(await rawRequest(app.port, rawCheck([`X-Padding: ${'a'.repeat(2000)}`])), 403);
    } finally {
      await app.close();
    }
  });
});

describe("header lines past 2000 (node's default maxHeadersCount) are still read by /check", () => {
  let app: App;
  before(async () => {
    app = await startApp({ JWT_SECRET: SECRET });
  });
  after(() => app.close());
  const filler = Array.from({ length: 2001 }, (_, i) => `X-F${i}: x`);

  test('the control: 2,001 headers and one valid Authorization are allowed', async () => {
    const reply = await rawRequest(app.port, rawCheck([...filler, `Authorization: Bearer ${validToken()}`]));
    assert.equal(reply.status, 200, reply.head);
  });

  test('a second Authorization after 2,001 headers is token_ambiguous', async () => {
    const reply = await rawRequest(
      app.port,
      rawCheck([`Authorization: Bearer ${validToken()}`, ...filler, `Authorization: Bearer ${validToken({ sub: 'mallory' })}`]),
    );
    assert.equal(reply.status, 403, reply.head);
    assert.deepEqual(rawHeader(reply, 'x-auth-error'), ['token_ambiguous']);
  });

  test('an X-Auth-Require after 2,001 headers is applied', async () => {
    const reply = await rawRequest(app.port, rawCheck([`Authorization: Bearer ${validToken({ roles: ['user'] })}`, ...filler, 'X-Auth-Require: role=admin']));
    assert.equal(reply.status, 403, reply.head);
    assert.deepEqual(rawHeader(reply, 'x-auth-error'), ['insufficient_scope']);
  });
});
