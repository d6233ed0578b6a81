/**
 * A flood of denials is cheap to send, so it must be cheap to log: every client-sent field is cut
 * to a small bound, and past LOG_DENY_RATE lines a second the rest are summarised by code. The
 * metrics still count every single deny.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { LOGGED_FIELD_MAX } from '../../src/deny-log.js';
import { signJws } from '../../support/jws.js';
import { SECRET, now, request, startApp, type App, type LogLine } from './support.js';

const FLOOD = 400;
const RATE = 20;

/** One /check on a shared keep-alive agent, as nginx would send it. */
function check(port: number, agent: http.Agent, headers: http.OutgoingHttpHeaders): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/check', headers, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
    req.end();
  });
}

describe(`a flood of ${FLOOD} bad-token denials with 8 KB URIs`, () => {
  let app: App;
  let logBytesBefore: number;
  let linesBefore: number;
  let logged: LogLine[];
  let metricsText: string;
  /** How many lines the bucket allowed while the flood lasted: one second's burst, then RATE a second. */
  let allowedLines: number;
  const badToken = `${signJws({ alg: 'HS256' }, { sub: 'alice', exp: now() + 300 }, SECRET).slice(0, -6)}AAAAAA`;
  const uri = `/${'a'.repeat(8 * 1024)}?token=secret-in-the-query`;

  before(async () => {
    app = await startApp({ JWT_SECRET: SECRET, LOG_DENY_RATE: String(RATE) });
    linesBefore = app.logs.length;
    logBytesBefore = JSON.stringify(app.logs).length;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const started = performance.now();
    try {
      const statuses = await Promise.all(
        Array.from({ length: FLOOD }, (_, i) =>
          check(app.port, agent, { authorization: `Bearer ${badToken}`, 'x-original-uri': uri, 'x-original-method': 'GET', 'x-request-id': `flood-${i}` }),
        ),
      );
      assert.deepEqual(new Set(statuses), new Set([403]));
    } finally {
      agent.destroy();
    }
    allowedLines = Math.ceil(RATE * (1 + (performance.now() - started) / 1000)) + 1;
    assert.ok(allowedLines < FLOOD / 2, 'the flood outran the bucket (a very slow machine): nothing to test');
    metricsText = (await request(`${app.url}/metrics`)).body;
    // Closing writes the pending summary.
    await app.close();
    logged = app.logs.slice(linesBefore);
  });
  after(() => app.close());

  test('the metrics count every deny', () => {
    assert.match(metricsText, new RegExp(`^jwt_auth_check_decisions_total\\{result="deny",reason="token_signature_invalid"\\} ${FLOOD}$`, 'm'));
    assert.match(metricsText, new RegExp(`^jwt_auth_check_duration_seconds_count\\{result="deny"\\} ${FLOOD}$`, 'm'));
  });

  test('at most LOG_DENY_RATE lines a second are written, and the summaries account for every other deny', () => {
    const denials = logged.filter((line) => line.result === 'deny');
    const summaries = logged.filter((line) => line.result === 'suppressed');
    assert.ok(denials.length >= RATE && denials.length <= allowedLines, `${denials.length} deny lines, ${allowedLines} allowed`);
    assert.ok(summaries.length >= 1);
    const suppressed = summaries.reduce((sum, line) => sum + ((line.suppressed as Record<string, number>).token_signature_invalid ?? 0), 0);
    assert.equal(denials.length + suppressed, FLOOD);
  });

  test('every deny line is bounded: the URI is cut and says so, the query never logged', () => {
    const denials = logged.filter((line) => line.result === 'deny');
    for (const line of denials) {
      const uriLogged = line.uri as string;
      assert.ok(uriLogged.startsWith(`/${'a'.repeat(LOGGED_FIELD_MAX - 1)}`));
      assert.ok(uriLogged.endsWith(`…[+${8 * 1024 + 1 - LOGGED_FIELD_MAX} chars]`), uriLogged.slice(-40));
      assert.ok(JSON.stringify(line).length < 700, `${JSON.stringify(line).length} bytes`);
    }
    assert.doesNotMatch(JSON.stringify(logged), /secret-in-the-query/);
  });

  test(`the whole flood wrote a few dozen kilobytes of log, not ${FLOOD} × 8 KB`, () => {
    const written = JSON.stringify(app.logs).length - logBytesBefore;
    assert.ok(written < allowedLines * 700 + 4096, `${written} bytes of log`);
  });
});

describe('LOG_DENY_RATE=0', () => {
  test('logs every deny', async () => {
    const app = await startApp({ JWT_SECRET: SECRET, LOG_DENY_RATE: '0' });
    try {
      for (let i = 0; i < 3 * RATE; i++) await request(`${app.url}/check`);
      assert.equal(app.logs.filter((line) => line.code === 'token_missing').length, 3 * RATE);
      assert.equal(app.logs.filter((line) => line.result === 'suppressed').length, 0);
    } finally {
      await app.close();
    }
  });
});
