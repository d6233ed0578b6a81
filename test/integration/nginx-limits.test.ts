/**
 * Requests at the edges of what nginx and node accept, through a real nginx with the shipped
 * snippets: whatever a client sends, nginx answers with the app's answer or the service's deny, never
 * with a 500 of its own ("auth request unexpected status", "upstream sent too big header").
 */
import assert from 'node:assert/strict';
import { after, describe } from 'node:test';
import { rawCheck, rawHeader, rawRequest, type RawReply } from '../../support/raw-http.js';
import { httpRequest } from '../../support/http.js';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { useStack } from '../../support/stack.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite());
const SUITE = { skip, timeout: 120_000 };

/** Low enough that a token over it still fits in one of nginx's 8k client header buffers. */
const IDENTITY_TOTAL = 5 * 1024;

/** Twenty 99-character roles: one X-Auth-Roles value of 1,999 characters. */
const LONG_ROLES = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'r'.repeat(97)}`);

/** `name: value\r\n` as the service writes it: what IDENTITY_HEADERS_MAX_TOTAL counts. */
const lineBytes = (name: string, value: string): number => name.length + value.length + 4;

describe('nginx in front of the service, at the limits of headers', SUITE, () => {
  // Registered before the stack's own hooks, so it runs before the stack stops.
  after(() => {
    // No answer in this suite may have been nginx's own 500 for the auth subrequest.
    assert.doesNotMatch(s().nginx.errorLog(100_000), /auth request unexpected status|upstream sent too big header/);
  });
  const { stack: s, spec } = useStack('limits', { serviceEnv: { IDENTITY_HEADERS_MAX_TOTAL: String(IDENTITY_TOTAL) } });
  /** A raw request to nginx, for bytes node's own client refuses to send. */
  const raw = (lines: readonly string[], path = '/whoami'): Promise<RawReply> => rawRequest(s().nginx.port, rawCheck(lines, path));
  const denials = async (code: string): Promise<number> => {
    const text = (await httpRequest(`${s().service.url}/metrics`)).text();
    const line = text.split('\n').find((row) => row.startsWith(`jwt_auth_check_decisions_total{result="deny",reason="${code}"}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  spec('a control byte in an unrelated header, with a valid token: allowed, since the service never sees that header; never a 5xx', async () => {
    const token = await s().mint({ sub: 'alice' });
    const reply = await raw([`Authorization: Bearer ${token}`, 'X-Junk: a\x01b']);
    assert.ok(reply.status > 0 && reply.status < 500, reply.head);
    // The auth location forwards only what /check reads, so the junk never reaches the service and
    // the request is allowed; what the app makes of the byte is the app's answer (the test app is
    // node behind a recording proxy, whose parser refuses it with 400).
    assert.deepEqual(rawHeader(reply, 'x-auth-error'), [], reply.head);
    assert.ok([200, 400].includes(reply.status), reply.head);
    assert.match(s().nginx.accessLog(), /"GET \/whoami HTTP\/1\.1" (200|400) .* auth_error= /);
  });

  spec('a control byte in Authorization is a request_malformed deny, counted at /metrics', async () => {
    const before = await denials('request_malformed');
    const token = await s().mint({ sub: 'alice' });
    s().appRecorder.clear();
    const reply = await raw([`Authorization: Bearer ${token.slice(0, 20)}\x01${token.slice(20)}`]);
    assert.equal(reply.status, 403, reply.head);
    assert.deepEqual(rawHeader(reply, 'x-auth-error'), ['request_malformed']);
    assert.equal(s().appRecorder.records.length, 0, 'the app never saw it');
    assert.equal(await denials('request_malformed'), before + 1);
  });

  spec("a 30 KB Cookie block (four lines, each under nginx's 8k buffer) with a valid token reaches the app", async () => {
    const cookies = Array.from({ length: 4 }, (_, i) => `Cookie: c${i}=${'v'.repeat(7400)}`);
    const reply = await raw([`Authorization: Bearer ${await s().mint({ sub: 'alice' })}`, ...cookies]);
    assert.equal(reply.status, 200, reply.head);
    assert.match(reply.body, /"user":\s*"alice"/);
  });

  spec("identity headers of about 4 KB (more than nginx's default 4k proxy buffer) reach the app", async () => {
    const claims = { sub: 'alice', name: 'n'.repeat(2000), roles: LONG_ROLES };
    const total = lineBytes('x-auth-user', claims.sub) + lineBytes('x-auth-name', claims.name) + lineBytes('x-auth-roles', LONG_ROLES.join(','));
    assert.ok(total > 4000 && total <= IDENTITY_TOTAL, `identity headers of ${total} bytes`);
    const res = await s().request('/whoami', { headers: { authorization: `Bearer ${await s().mint(claims)}` } });
    assert.equal(res.status, 200, res.text());
    const who = res.json<{ user: string; name: string; roles: string }>();
    assert.deepEqual([who.user, who.name, who.roles], [claims.sub, claims.name, LONG_ROLES.join(',')]);
  });

  spec('identity headers over IDENTITY_HEADERS_MAX_TOTAL are an identity_too_large deny', async () => {
    const claims = { sub: 'a'.repeat(1300), name: 'n'.repeat(2000), roles: LONG_ROLES };
    const total = lineBytes('x-auth-user', claims.sub) + lineBytes('x-auth-name', claims.name) + lineBytes('x-auth-roles', LONG_ROLES.join(','));
    assert.ok(total > IDENTITY_TOTAL, `identity headers of ${total} bytes`);
    s().appRecorder.clear();
    const res = await s().request('/whoami', { headers: { authorization: `Bearer ${await s().mint(claims)}` } });
    assert.equal(res.status, 403, res.text());
    assert.equal(res.headers['x-auth-error'], 'identity_too_large');
    assert.equal(s().appRecorder.records.length, 0);
  });
});
