/**
 * Observability: /metrics counts /check decisions by result and reason code, times /check and
 * /login, counts authenticator outcomes and rate-limit rejections, and reports build info; /readyz is
 * false (503) before the server listens and while it shuts down.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logging.js';
import { startServer } from '../../src/main.js';
import { VERSION } from '../../src/version.js';
import { signJws } from '../../support/jws.js';
import { parseRaw } from '../../support/raw-http.js';
import { now, request, startApp, startHttpStub, SECRET, type App, type Stub } from './support.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text exposition format (the subset prom-client writes). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key as string] = value as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`; 0 when absent. */
function valueOf(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

const RIGHT = 'right-password';
let authenticator: Stub;
let app: App;
let samples: Sample[];
let contentType: string | undefined;

before(async () => {
  authenticator = await startHttpStub((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { password } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { password: string };
      if (password === 'slow') return; // never answers: AUTHENTICATOR_TIMEOUT
      res.setHeader('content-type', 'application/json');
      if (password === RIGHT) res.end('{"sub":"alice"}');
      else res.writeHead(401).end('{"error":"invalid credentials"}');
    });
  });
  app = await startApp({
    JWT_SECRET: SECRET,
    AUTHENTICATOR_URL: authenticator.url,
    AUTHENTICATOR_TIMEOUT: '200ms',
    LOGIN_MAX_FAILURES_PER_USER: '1',
    LOGIN_MAX_FAILURES_PER_IP: '100',
  });

  const check = (authorization?: string) => request(`${app.url}/check`, { headers: authorization === undefined ? {} : { authorization } });
  const valid = signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', exp: now() + 600 }, SECRET);
  const expired = signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', exp: now() - 600 }, SECRET);
  const forged = signJws({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', exp: now() + 600 }, 'another-secret-of-at-least-32-bytes!!');
  assert.equal((await check(`Bearer ${valid}`)).status, 200);
  assert.equal((await check(`Bearer ${valid}`)).status, 200);
  assert.equal((await check(`Bearer ${expired}`)).status, 403);
  assert.equal((await check()).status, 403);
  assert.equal((await check(`Bearer ${forged}`)).status, 403);

  const login = (username: string, password: string) =>
    request(`${app.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  assert.equal((await login('alice', RIGHT)).status, 200);
  assert.equal((await login('bob', 'wrong')).status, 401);
  assert.equal((await login('bob', RIGHT)).status, 429);
  assert.equal((await login('carol', 'slow')).status, 504);

  const metrics = await request(`${app.url}/metrics`);
  assert.equal(metrics.status, 200);
  contentType = metrics.headers['content-type'];
  samples = parseMetrics(metrics.body);
});

after(async () => {
  await app.close();
  await authenticator.close();
});

describe('/metrics', () => {
  test('is Prometheus text', () => {
    assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
  });

  test('counts /check decisions by result and reason code', () => {
    const decisions = 'jwt_auth_check_decisions_total';
    assert.equal(valueOf(samples, decisions, { result: 'allow', reason: 'ok' }), 2);
    assert.equal(valueOf(samples, decisions, { result: 'deny', reason: 'token_expired' }), 1);
    assert.equal(valueOf(samples, decisions, { result: 'deny', reason: 'token_missing' }), 1);
    assert.equal(valueOf(samples, decisions, { result: 'deny', reason: 'token_signature_invalid' }), 1);
  });

  test('has a /check latency histogram by result', () => {
    assert.equal(valueOf(samples, 'jwt_auth_check_duration_seconds_count', { result: 'allow' }), 2);
    assert.equal(valueOf(samples, 'jwt_auth_check_duration_seconds_count', { result: 'deny' }), 3);
    assert.equal(valueOf(samples, 'jwt_auth_check_duration_seconds_bucket', { result: 'deny', le: '+Inf' }), 3);
    assert.ok(
      samples.filter((sample) => sample.name === 'jwt_auth_check_duration_seconds_bucket' && sample.labels.result === 'allow').length >= 5,
      'several buckets',
    );
    assert.ok(valueOf(samples, 'jwt_auth_check_duration_seconds_sum', { result: 'allow' }) > 0);
  });

  test('has a /login latency histogram by outcome', () => {
    const count = 'jwt_auth_login_duration_seconds_count';
    assert.equal(valueOf(samples, count, { outcome: 'ok' }), 1);
    assert.equal(valueOf(samples, count, { outcome: 'rejected' }), 1);
    assert.equal(valueOf(samples, count, { outcome: 'rate_limited' }), 1);
    assert.equal(valueOf(samples, count, { outcome: 'authenticator_timeout' }), 1);
    assert.ok(valueOf(samples, 'jwt_auth_login_duration_seconds_sum', { outcome: 'authenticator_timeout' }) >= 0.2, 'the timeout is in the latency');
    assert.equal(valueOf(samples, 'jwt_auth_login_total', { outcome: 'ok' }), 1);
  });

  test('counts authenticator calls by outcome', () => {
    const calls = 'jwt_auth_authenticator_requests_total';
    assert.equal(valueOf(samples, calls, { outcome: 'user' }), 1);
    assert.equal(valueOf(samples, calls, { outcome: 'rejected' }), 1);
    assert.equal(valueOf(samples, calls, { outcome: 'authenticator_timeout' }), 1);
    assert.equal(
      samples.filter((sample) => sample.name === calls).reduce((sum, sample) => sum + sample.value, 0),
      3,
      'the rate-limited login never called it',
    );
  });

  test('counts rate-limit rejections by key', () => {
    assert.equal(valueOf(samples, 'jwt_auth_login_rate_limited_total', { key: 'user' }), 1);
    assert.equal(valueOf(samples, 'jwt_auth_login_rate_limited_total', { key: 'ip' }), 0);
  });

  test('reports build info', () => {
    assert.equal(valueOf(samples, 'jwt_auth_build_info', { version: VERSION, node: process.version }), 1);
  });

  test('never carries a token, a username or a subject in a label', () => {
    for (const sample of samples) {
      for (const value of Object.values(sample.labels)) assert.doesNotMatch(value, /eyJ|alice|bob|carol/);
    }
  });
});

describe('/readyz', () => {
  test('is 503 "starting" until the server listens', async () => {
    // startApp builds the service without main's listen step, which is what marks it ready.
    const reply = await request(`${app.url}/readyz`);
    assert.equal(reply.status, 503);
    assert.equal((JSON.parse(reply.body) as { status: string }).status, 'starting');
  });

  test('is 200 once listening, and 503 "shutting_down" while draining', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const loginArrived = new Promise<void>((resolve) => (arrived = resolve));
    const slow = await startHttpStub((req, res) => {
      req.resume();
      arrived();
      void released.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"sub":"alice"}'));
    });
    const running = await startServer(
      loadConfig({ HOST: '127.0.0.1', PORT: '0', JWT_SECRET: SECRET, AUTHENTICATOR_URL: slow.url, SHUTDOWN_TIMEOUT: '5s' }),
      createLogger('silent'),
    );
    try {
      const ready = await request(`http://127.0.0.1:${running.port}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal((JSON.parse(ready.body) as { status: string }).status, 'ready');

      const socket = net.connect({ port: running.port, host: '127.0.0.1' });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      const body = '{"username":"alice"}';
      socket.write(`POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      await loginArrived;

      const stopped = running.stop();
      socket.write('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      await closed;
      await stopped;

      const raw = Buffer.concat(chunks).toString('latin1');
      const second = raw.slice(raw.indexOf('HTTP/1.1', 1));
      assert.equal(parseRaw(raw).status, 200, 'the login in flight completed');
      assert.equal(parseRaw(second).status, 503, second);
      assert.match(second, /\{"status":"shutting_down",/);
    } finally {
      running.server.closeAllConnections();
      await running.stop();
      await slow.close();
    }
  });
});
