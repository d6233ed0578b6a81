/**
 * Graceful shutdown of the real process: `node dist/src/cli.js serve` against a slow stub
 * authenticator. On SIGTERM the service stops accepting, reports not ready, finishes the login in
 * flight and exits 0 within SHUTDOWN_TIMEOUT; a request that outlives SHUTDOWN_TIMEOUT does not keep
 * the process alive; nor does a closed stdout; a cluster of two workers starts, answers and stops the same way.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { SERVICE_CLI } from '../../support/paths.js';
import { parseRaw } from '../../support/raw-http.js';
import { closedPort, request, SECRET, startHttpStub, type LogLine, type Stub } from './support.js';

const CLI = SERVICE_CLI;

interface Spawned {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  /** Resolves with the port of the first `listening` line, or rejects if the process dies first. */
  readonly listening: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves once `count` lines match. */
  waitForLogs(predicate: (line: LogLine) => boolean, count: number, timeoutMs: number): Promise<void>;
}

const children: ChildProcess[] = [];
const stubs: Stub[] = [];
after(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    // A detached service leads its own group: its workers go with it.
    if (child.spawnargs.length > 0 && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  }
  await Promise.all(stubs.map((stub) => stub.close()));
});

/** Spawns the service; `detached` makes it a process-group leader, for signals sent to the whole group. */
function spawnService(env: Record<string, string>, detached = false): Spawned {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', JWT_SECRET: SECRET, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  children.push(child);
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal, at: performance.now() });
    });
  });

  const waitForLogs = (predicate: (line: LogLine) => boolean, count: number, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`waited ${timeoutMs} ms for ${count} log line(s); logs: ${JSON.stringify(logs)} stderr: ${stderr}`)),
        timeoutMs,
      );
      const done = (error?: Error): void => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = (): void => {
        if (logs.filter(predicate).length >= count) done();
        else if (child.exitCode !== null || child.signalCode !== null) done(new Error(`the service exited: ${stderr}`));
      };
      waiters.add(check);
      check();
    });

  const listening = waitForLogs((line) => line.msg === 'listening', 1, 10_000).then(() => Number(logs.find((line) => line.msg === 'listening')?.port));
  return { child, logs, listening, exited, waitForLogs };
}

/** A stub authenticator that answers 200 + a user after `delayMs` (never, if undefined) and tells when it has a request. */
async function slowAuthenticator(delayMs: number | undefined): Promise<{ stub: Stub; received: Promise<void> }> {
  let gotOne!: () => void;
  const received = new Promise<void>((resolve) => (gotOne = resolve));
  const stub = await startHttpStub((req, res) => {
    req.resume();
    gotOne();
    if (delayMs !== undefined) setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"sub":"alice"}'), delayMs);
  });
  stubs.push(stub);
  return { stub, received };
}

/** Opens a connection and writes `text`; collects everything until the server closes it. */
function openConnection(port: number): { write(text: string): void; closed: Promise<string> } {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => undefined);
  return {
    write: (text) => socket.write(text),
    closed: new Promise((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))),
  };
}

/** Splits pipelined HTTP/1.1 responses that each carry Content-Length. */
function splitResponses(raw: string): Array<{ status: number; head: string; body: string }> {
  const responses: Array<{ status: number; head: string; body: string }> = [];
  let rest = raw;
  while (rest.startsWith('HTTP/')) {
    const { status, head } = parseRaw(rest);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    const start = head.length + 4;
    responses.push({ status, head, body: rest.slice(start, start + length) });
    rest = rest.slice(start + length);
  }
  return responses;
}

/**
 * True once a connection attempt is refused, trying every 25 ms for up to `ms`. The process logs before
 * it closes its listening socket, and a connection the kernel accepted just before is reset, not refused.
 */
async function refusedWithin(port: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await connectionRefused(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

const LOGIN = (body = '{"username":"alice","password":"x"}'): string =>
  `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

describe('graceful shutdown', () => {
  test('SIGTERM during a slow login: the login completes, /readyz says 503, new connections are refused, exit 0 within SHUTDOWN_TIMEOUT', async () => {
    const { stub, received } = await slowAuthenticator(1000);
    const service = spawnService({ AUTHENTICATOR_URL: stub.url, SHUTDOWN_TIMEOUT: '5s' });
    const port = await service.listening;

    const connection = openConnection(port);
    connection.write(LOGIN());
    await received;
    const signalled = performance.now();
    service.child.kill('SIGTERM');
    await service.waitForLogs((line) => line.msg === 'shutting down: finishing in-flight requests', 1, 2000);

    // A request pipelined on the busy connection is answered after the login, from the draining process.
    connection.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(await refusedWithin(port, 500), true, 'new connections are refused while draining');

    const responses = splitResponses(await connection.closed);
    const [login, readyz] = responses;
    assert.equal(login?.status, 200, login?.head);
    const answer = JSON.parse(login?.body ?? '{}') as { token?: string; token_type?: string };
    assert.match(answer.token ?? '', /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(answer.token_type, 'Bearer');
    assert.equal(readyz?.status, 503, readyz?.head);
    assert.equal((JSON.parse(readyz?.body ?? '{}') as { status?: string }).status, 'shutting_down');
    assert.match(readyz?.head ?? '', /\r\nconnection: close/i, 'the draining process asks clients to reconnect elsewhere');

    const { code, at } = await service.exited;
    assert.equal(code, 0);
    assert.ok(at - signalled < 5000, `exited ${Math.round(at - signalled)} ms after SIGTERM`);
    assert.ok(at - signalled >= 900, 'it waited for the login in flight');
    assert.ok(service.logs.some((line) => line.msg === 'stopped'));
  });

  test('a keep-alive client whose login finishes during the drain does not hold the exit until SHUTDOWN_TIMEOUT', async () => {
    const { stub, received } = await slowAuthenticator(500);
    const service = spawnService({ AUTHENTICATOR_URL: stub.url, SHUTDOWN_TIMEOUT: '10s' });
    const port = await service.listening;
    // Like nginx's upstream keepalive: the connection stays open after the answer unless the server closes it.
    const connection = openConnection(port);
    connection.write(LOGIN());
    await received;
    const signalled = performance.now();
    service.child.kill('SIGTERM');
    const { code, at } = await service.exited;
    assert.equal(code, 0);
    assert.ok(at - signalled < 2000, `exited ${Math.round(at - signalled)} ms after SIGTERM`);
    assert.equal(splitResponses(await connection.closed)[0]?.status, 200);
  });

  test('a second signal during the drain (Ctrl-C under npm start) does not cut the login in flight', async () => {
    const { stub, received } = await slowAuthenticator(800);
    const service = spawnService({ AUTHENTICATOR_URL: stub.url, SHUTDOWN_TIMEOUT: '5s' });
    const port = await service.listening;
    const connection = openConnection(port);
    connection.write(LOGIN());
    await received;
    service.child.kill('SIGINT');
    await service.waitForLogs((line) => line.msg === 'shutting down: finishing in-flight requests', 1, 2000);
    service.child.kill('SIGINT');
    service.child.kill('SIGTERM');
    const { code } = await service.exited;
    assert.equal(code, 0);
    const [login] = splitResponses(await connection.closed);
    assert.equal(login?.status, 200, login?.head);
    assert.match(login?.body ?? '', /"token":"eyJ/);
    assert.ok(service.logs.some((line) => line.msg === 'already shutting down'));
  });

  test('an idle keep-alive connection does not delay the exit', async () => {
    const { stub } = await slowAuthenticator(10);
    const service = spawnService({ AUTHENTICATOR_URL: stub.url, SHUTDOWN_TIMEOUT: '10s' });
    const port = await service.listening;
    const connection = openConnection(port);
    connection.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await service.waitForLogs(() => true, 1, 1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const signalled = performance.now();
    service.child.kill('SIGINT');
    const { code, at } = await service.exited;
    assert.equal(code, 0);
    assert.ok(at - signalled < 2000, `exited ${Math.round(at - signalled)} ms after SIGINT`);
    assert.equal(splitResponses(await connection.closed)[0]?.status, 200);
  });

  test('a request that outlives SHUTDOWN_TIMEOUT does not keep the process alive', async () => {
    const { stub, received } = await slowAuthenticator(undefined);
    const service = spawnService({ AUTHENTICATOR_URL: stub.url, AUTHENTICATOR_TIMEOUT: '60s', SHUTDOWN_TIMEOUT: '1s' });
    const port = await service.listening;
    const connection = openConnection(port);
    connection.write(LOGIN());
    await received;
    const signalled = performance.now();
    service.child.kill('SIGTERM');
    const { code, at } = await service.exited;
    assert.ok(at - signalled >= 900, `exited ${Math.round(at - signalled)} ms after SIGTERM, before SHUTDOWN_TIMEOUT`);
    assert.ok(at - signalled < 3000, `exited ${Math.round(at - signalled)} ms after SIGTERM`);
    assert.equal(code, 0);
    assert.ok(service.logs.some((line) => line.msg === 'shutdown timeout: closing remaining connections'));
    const raw = await connection.closed;
    assert.ok(!/eyJ/.test(raw), 'no token was handed out');
  });
});

describe('a reader of stdout that has gone (`serve | head -1`, a log shipper that died)', () => {
  test('SIGTERM right after the pipe closed: exit 0 within SHUTDOWN_TIMEOUT, though the shutdown lines cannot be written', { timeout: 10_000 }, async () => {
    const service = spawnService({ SHUTDOWN_TIMEOUT: '2s' });
    await service.listening;
    // What `head -1` does after its line: the service's next write gets EPIPE.
    service.child.stdout?.destroy();
    const signalled = performance.now();
    service.child.kill('SIGTERM');
    const { code, signal, at } = await service.exited;
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.ok(at - signalled < 2000, `exited ${Math.round(at - signalled)} ms after SIGTERM`);
  });

  test('requests it can no longer log are still answered, and SIGTERM still exits 0', { timeout: 10_000 }, async () => {
    const { stub } = await slowAuthenticator(10);
    const service = spawnService({ AUTHENTICATOR_URL: stub.url, SHUTDOWN_TIMEOUT: '2s' });
    const port = await service.listening;
    service.child.stdout?.destroy();
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 5; i++) assert.equal((await request(`${base}/check`)).status, 403);
    const login = await request(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' });
    assert.equal(login.status, 200, login.body);
    service.child.kill('SIGTERM');
    const { code, signal } = await service.exited;
    assert.equal(signal, null);
    assert.equal(code, 0);
  });
});

describe('WORKERS=2', () => {
  test('starts two workers that answer, and stops on SIGTERM with exit 0', async () => {
    const { stub } = await slowAuthenticator(10);
    const port = await closedPort();
    const service = spawnService({ AUTHENTICATOR_URL: stub.url, PORT: String(port), WORKERS: '2', SHUTDOWN_TIMEOUT: '5s' });
    await service.waitForLogs((line) => line.msg === 'listening', 2, 10_000);
    const pids = new Set(service.logs.filter((line) => line.msg === 'listening').map((line) => line.pid));
    assert.equal(pids.size, 2);

    const base = `http://127.0.0.1:${port}`;
    assert.equal((await request(`${base}/healthz`)).status, 200);
    assert.equal((await request(`${base}/check`)).status, 403);
    const login = await request(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' });
    assert.equal(login.status, 200, login.body);

    const signalled = performance.now();
    service.child.kill('SIGTERM');
    const { code, at } = await service.exited;
    assert.equal(code, 0);
    assert.ok(at - signalled < 5000, `exited ${Math.round(at - signalled)} ms after SIGTERM`);
    assert.equal(service.logs.filter((line) => line.msg === 'stopped').length, 2, 'both workers stopped in order');
    assert.equal(await connectionRefused(port), true);
  });
});

describe('WORKERS=2 and a signal to the whole process group (Ctrl-C in a terminal, systemd KillMode=control-group)', () => {
  test('a worker signalled both directly and by the primary still finishes its login in flight', async () => {
    const { stub, received } = await slowAuthenticator(1000);
    const port = await closedPort();
    const service = spawnService({ AUTHENTICATOR_URL: stub.url, PORT: String(port), WORKERS: '2', SHUTDOWN_TIMEOUT: '5s' }, true);
    await service.waitForLogs((line) => line.msg === 'listening', 2, 10_000);
    const login = request(`http://127.0.0.1:${port}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' });
    await received;
    process.kill(-(service.child.pid as number), 'SIGTERM');
    const reply = await login;
    assert.equal(reply.status, 200, reply.body);
    assert.match(reply.body, /"token":"eyJ/);
    const { code } = await service.exited;
    assert.equal(code, 0);
  });
});
