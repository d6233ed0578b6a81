/**
 * `nginx-jwt-auth nginx-snippet`: the nginx lines that follow IDENTITY_HEADERS and TOKEN_COOKIE.
 * The shipped snippets carry its output for the service's defaults (and the demo's cookie), byte
 * for byte between their markers, so the snippets and the service cannot drift apart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readCookie } from '../../src/config/cookie.js';
import { EnvReader } from '../../src/config/env-reader.js';
import { readIdentityHeaders } from '../../src/config/identity-headers.js';
import { MARKERS, identityVariable, nginxSnippet } from '../../src/nginx-snippet.js';
import { NGINX_CONFIG_DIR, SERVICE_CLI } from '../../support/paths.js';
import { DEMO_SERVICE_ENV } from '../../support/stack.js';

function snippetFor(env: Record<string, string>) {
  const reader = new EnvReader(env);
  const snippet = nginxSnippet(readIdentityHeaders(reader), readCookie(reader));
  assert.deepEqual(reader.problems, []);
  return snippet;
}

function shippedBlock(file: string, [begin, end]: readonly [string, string]): string {
  const text = readFileSync(join(NGINX_CONFIG_DIR, 'snippets', file), 'utf8');
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  assert.ok(start >= 0 && stop > start, `${file} has the markers ${begin} … ${end}`);
  return text.slice(start, stop + end.length);
}

describe('the shipped snippets are what nginx-snippet prints for the defaults', () => {
  // The service's default IDENTITY_HEADERS, and the cookie name of the demo and docker-compose.
  const defaults = snippetFor({ TOKEN_COOKIE: DEMO_SERVICE_ENV.TOKEN_COOKIE as string });
  test('jwt-auth-protect.conf: one auth_request_set and one proxy_set_header per identity header', () =>
    assert.equal(shippedBlock('jwt-auth-protect.conf', MARKERS.protect), defaults.protect));
  test("jwt-auth-http.conf: the guard's list of identity headers and the token-cookie cut", () =>
    assert.equal(shippedBlock('jwt-auth-http.conf', MARKERS.http), defaults.http));
  test('the demo sets the service default IDENTITY_HEADERS', () =>
    assert.deepEqual(snippetFor({ IDENTITY_HEADERS: DEMO_SERVICE_ENV.IDENTITY_HEADERS as string }), snippetFor({})));
});

describe('nginx-snippet for other settings', () => {
  test('every identity header is set, overwritten and refused when a client sends it', () => {
    const { protect, http } = snippetFor({ IDENTITY_HEADERS: 'preferred_username:X-Auth-User,["https://example.org/email"]:X-Email' });
    assert.match(protect, /^auth_request_set \$jwt_auth_user \$upstream_http_x_auth_user;$/m);
    assert.match(protect, /^auth_request_set \$jwt_auth_x_email \$upstream_http_x_email;$/m);
    assert.match(protect, /^proxy_set_header X-Email \$jwt_auth_x_email;$/m);
    assert.match(http, /^map "\$http_x_auth_user\$http_x_email\$http_x_auth_error\$http_x_auth_require" \$jwt_auth_identity_refused \{$/m);
  });
  test("an identity header's variable never takes one of ours", () => {
    assert.equal(identityVariable('x-auth-time'), 'jwt_auth_id_time');
    assert.equal(identityVariable('x-auth-app-cookie'), 'jwt_auth_id_app_cookie');
  });
  test('a cookie name with regex characters is matched literally; without TOKEN_COOKIE the Cookie header passes as it is', () => {
    assert.match(snippetFor({ TOKEN_COOKIE: 'a.b' }).http, /\[ \\t\]\*a\\\.b=/);
    assert.match(snippetFor({}).http, /map "" \$jwt_auth_app_cookie \{\n {4}default \$http_cookie;\n\}/);
  });
  test('the command prints both blocks and needs no key', () => {
    const run = spawnSync(process.execPath, [SERVICE_CLI, 'nginx-snippet'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', IDENTITY_HEADERS: 'sub:X-User' },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /proxy_set_header X-User \$jwt_auth_x_user;/);
    assert.match(run.stdout, /# --- nginx-jwt-auth nginx-snippet: http ---/);
  });
  test('a bad IDENTITY_HEADERS is one line naming it, exit 1', () => {
    const run = spawnSync(process.execPath, [SERVICE_CLI, 'nginx-snippet'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', IDENTITY_HEADERS: 'nonsense' },
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /IDENTITY_HEADERS/);
  });
});
