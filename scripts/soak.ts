/**
 * `npm run soak`: a bounded soak through a real nginx (the test kit's stack, support/stack.ts: nginx with the
 * repository's configuration, the service, the Flask authenticator), at a fixed request rate, with a
 * mix of valid, expired and forged tokens and logins. Every answer is checked against the decision it
 * must get; the service's RSS is sampled. Loopback only; stops by itself.
 *
 *   SOAK_DURATION  seconds (default 60)     SOAK_RATE  requests per second (default 300)
 *
 * Exits 1 when any decision was wrong or any answer was a 5xx.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { httpRequest } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';
import { unsecuredToken, withForgedClaims } from '../support/jws.js';
import { mintToken } from '../support/tokens.js';

const DURATION_S = Number(process.env.SOAK_DURATION ?? 60);
const RATE = Number(process.env.SOAK_RATE ?? 300);
/** nginx's example zone is a flood guard (2 a second, bursts of 60): the soak stays far under it. */
const LOGIN_EVERY_MS = 7_000;

interface Case {
  readonly name: string;
  readonly path: string;
  readonly token: string | undefined;
  /** The status nginx must answer, and for allows the user the app must see. */
  readonly status: number;
  readonly user?: string;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : Number.NaN;
}

async function buildCases(stack: Stack): Promise<Case[]> {
  const alice = await stack.mint({ sub: 'alice', roles: ['admin', 'user'] }, { expiresIn: DURATION_S + 600 });
  const bob = await stack.mint({ sub: 'bob', roles: ['user'] }, { expiresIn: DURATION_S + 600 });
  // Beyond the service's 30 s clock tolerance, so it is expired for the whole run.
  const expired = await stack.mint({ sub: 'alice', roles: ['admin'] }, { expiresIn: -120 });
  const otherKey = await mintToken('a-different-secret-of-sufficient-length-0123456789', { sub: 'alice', roles: ['admin'] });
  return [
    { name: 'alice', path: '/whoami', token: alice, status: 200, user: 'alice' },
    { name: 'bob', path: '/whoami', token: bob, status: 200, user: 'bob' },
    { name: 'alice-admin', path: '/admin/soak', token: alice, status: 200, user: 'alice' },
    { name: 'bob-admin', path: '/admin/soak', token: bob, status: 403 },
    { name: 'expired', path: '/whoami', token: expired, status: 403 },
    { name: 'tampered', path: '/whoami', token: withForgedClaims(bob, { sub: 'alice', roles: ['admin'] }), status: 403 },
    { name: 'alg-none', path: '/whoami', token: unsecuredToken({ sub: 'alice' }), status: 403 },
    { name: 'other-key', path: '/whoami', token: otherKey, status: 403 },
    { name: 'no-token', path: '/whoami', token: undefined, status: 403 },
  ];
}

async function main(): Promise<void> {
  console.log(`soak: ${DURATION_S} s at ${RATE} req/s through nginx (loopback)`);
  const stack = await startStack('soak', { serviceEnv: { LOG_LEVEL: 'warn' } });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const counts = { requests: 0, wrong: 0, serverErrors: 0, transportErrors: 0, logins: 0, loginsWrong: 0 };
  const wrongExamples: string[] = [];
  const servicePid = stack.service.process.pid;
  const rss: number[] = [rssMb(servicePid)];
  try {
    const cases = await buildCases(stack);
    const nginxUrl = new URL(stack.nginx.url);
    const send = (item: Case): void => {
      counts.requests++;
      const request = http.request(
        { host: nginxUrl.hostname, port: nginxUrl.port, path: item.path, agent, headers: item.token ? { authorization: `Bearer ${item.token}` } : {} },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 500) counts.serverErrors++;
            // Both /whoami and the app's echo route list the X-Auth-* headers that arrived.
            const seenUser =
              status === 200
                ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { identity?: Record<string, string> }).identity?.['X-Auth-User']
                : undefined;
            if (status !== item.status || (item.user !== undefined && seenUser !== item.user)) {
              counts.wrong++;
              if (wrongExamples.length < 5) wrongExamples.push(`${item.name}: got ${status} user=${seenUser}, want ${item.status} user=${item.user}`);
            }
          });
        },
      );
      request.on('error', () => counts.transportErrors++);
      request.end();
    };

    const login = async (good: boolean): Promise<void> => {
      counts.logins++;
      const response = await httpRequest(`${stack.nginx.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bob', password: good ? 'bob-password' : 'wrong' }),
      });
      const hasToken = response.body.includes('"token"');
      if (response.status >= 500) counts.serverErrors++;
      if (good ? response.status !== 200 || !hasToken : response.status !== 401 || hasToken) {
        counts.loginsWrong++;
        if (wrongExamples.length < 5) wrongExamples.push(`login(${good ? 'good' : 'bad'}): got ${response.status}`);
      }
    };

    const started = Date.now();
    const tickMs = 10;
    let sent = 0;
    let nextLogin = started;
    let loginGood = true;
    let nextSample = started + 10_000;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = Date.now() - started;
        if (elapsed >= DURATION_S * 1000) {
          clearInterval(timer);
          resolve();
          return;
        }
        // Catch up to the fixed rate: the number due by now, minus what was sent.
        const due = Math.floor((elapsed / 1000) * RATE);
        for (; sent < due; sent++) send(cases[sent % cases.length] as Case);
        if (Date.now() >= nextLogin) {
          nextLogin += LOGIN_EVERY_MS;
          void login(loginGood);
          loginGood = !loginGood;
        }
        if (Date.now() >= nextSample) {
          nextSample += 10_000;
          rss.push(rssMb(servicePid));
        }
      }, tickMs);
    });
    // Let the last answers arrive.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    rss.push(rssMb(servicePid));
  } finally {
    agent.destroy();
    await stack.stop();
  }

  const ok = counts.wrong === 0 && counts.loginsWrong === 0 && counts.serverErrors === 0 && counts.transportErrors === 0;
  console.log(
    [
      `requests          ${counts.requests} (${Math.round(counts.requests / DURATION_S)}/s) + ${counts.logins} logins`,
      `wrong decisions   ${counts.wrong + counts.loginsWrong}`,
      `5xx               ${counts.serverErrors}`,
      `transport errors  ${counts.transportErrors}`,
      `service RSS (MB)  start ${rss[0]}, samples ${rss.join(' ')}, end ${rss[rss.length - 1]}`,
      ...wrongExamples.map((line) => `  e.g. ${line}`),
      ok ? 'PASS' : 'FAIL',
    ].join('\n'),
  );
  process.exitCode = ok ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
