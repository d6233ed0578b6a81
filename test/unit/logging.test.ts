import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, ownFieldsLogger } from '../../src/logging.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('log redaction', () => {
  test('the service logger censors credentials at the top level, in headers, and one object down', () => {
    const { logger, lines } = capture();
    logger.info({ password: 'p', req: { headers: { authorization: 'a' } }, answer: { token: 't', kept: 'k' } }, 'line');
    assert.deepEqual(lines[0]?.password, '[redacted]');
    assert.deepEqual(lines[0]?.req, { headers: { authorization: '[redacted]' } });
    assert.deepEqual(lines[0]?.answer, { token: '[redacted]', kept: 'k' });
  });

  test("a logger of the service's own fields, and its children, still censor the top level and headers", () => {
    const { logger, lines } = capture();
    ownFieldsLogger(logger)
      .child({ event: 'login' })
      .info({ password: 'p', token: 't', sub: 'alice', req: { headers: { cookie: 'c' } } }, 'line');
    assert.equal(lines[0]?.password, '[redacted]');
    assert.equal(lines[0]?.token, '[redacted]');
    assert.equal(lines[0]?.sub, 'alice');
    assert.equal(lines[0]?.event, 'login');
    assert.deepEqual(lines[0]?.req, { headers: { cookie: '[redacted]' } });
  });
});
