/**
 * Tokens shaped as identity providers issue them, over a real socket: Keycloak nests its roles
 * (`realm_access.roles`, `resource_access.<client>.roles`), Auth0 puts custom claims under
 * namespaced names (`https://example.org/roles`), and both issue RFC 9068 access tokens (`typ: at+jwt`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../../support/http.js';
import { nowSeconds, signJws } from '../../support/jws.js';
import { KeyFiles } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';

const files = new KeyFiles();
const SECRET = files.secret('HS256');
let keycloak: InProcessService;
let auth0: InProcessService;

before(async () => {
  const env = { ...files.env('HS256'), LOG_DENY_RATE: '0' };
  keycloak = await startServiceInProcess({
    ...env,
    ROLES_CLAIM: 'realm_access.roles',
    IDENTITY_HEADERS: 'preferred_username:X-Auth-User,realm_access.roles:X-Auth-Roles,resource_access.my-app.roles:X-Auth-App-Roles,groups:X-Auth-Groups',
  });
  auth0 = await startServiceInProcess({
    ...env,
    ROLES_CLAIM: '["https://example.org/roles"]',
    SCOPES_CLAIM: 'scope',
    IDENTITY_HEADERS: 'sub:X-Auth-User,["https://example.org/roles"]:X-Auth-Roles,["https://example.org/email"]:X-Auth-Email',
  });
});
after(async () => {
  await keycloak?.close();
  await auth0?.close();
  files.remove();
});

const sign = (claims: Record<string, unknown>, typ = 'JWT') => signJws({ alg: 'HS256', typ }, { exp: nowSeconds() + 3600, ...claims }, SECRET);
const check = (svc: InProcessService, token: string, requirement?: string) =>
  request(`${svc.url}/check`, { headers: { authorization: `Bearer ${token}`, ...(requirement === undefined ? {} : { 'x-auth-require': requirement }) } });

const KEYCLOAK_ALICE = {
  sub: '5f0c1c1e-8a5e-4d39-9d0b-3f3c2b1a0e11',
  preferred_username: 'alice',
  realm_access: { roles: ['admin', 'offline_access'] },
  resource_access: { 'my-app': { roles: ['editor'] }, account: { roles: ['view-profile'] } },
  groups: ['/ops', '/dev'],
  scope: 'openid profile email',
};

describe('a Keycloak access token', { timeout: 30_000 }, () => {
  test('its nested claims become identity headers; preferred_username is X-Auth-User', async () => {
    const reply = await check(keycloak, sign(KEYCLOAK_ALICE, 'at+jwt'));
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.headers['x-auth-user'], 'alice');
    assert.equal(reply.headers['x-auth-roles'], 'admin,offline_access');
    assert.equal(reply.headers['x-auth-app-roles'], 'editor');
    assert.equal(reply.headers['x-auth-groups'], '/ops,/dev');
  });

  const rows: Array<[name: string, requirement: string, denial: string | undefined]> = [
    ['role=admin reads realm_access.roles (ROLES_CLAIM)', 'role=admin', undefined],
    ['role=auditor, a realm role alice lacks', 'role=auditor', 'insufficient_scope'],
    ['a client role by path', 'claim.resource_access.my-app.roles=editor', undefined],
    ['a client role of another client', 'claim.resource_access.account.roles=editor', 'insufficient_scope'],
    ['a group', 'claim.groups=/ops', undefined],
    ['scope= from the space-separated scope claim', 'scope=openid email', undefined],
    ['a bare namespaced name, never read as a nested path', 'claim.https://example.org/roles=admin', 'policy_invalid'],
  ];
  for (const [name, requirement, denial] of rows) {
    test(`${name} → ${denial ?? 'allow'}`, async () => {
      const reply = await check(keycloak, sign(KEYCLOAK_ALICE), requirement);
      assert.equal(reply.status, denial === undefined ? 200 : 403, reply.body);
      assert.equal(reply.headers['x-auth-error'], denial);
    });
  }

  test('a token with roles only at the top level does not pass role=admin when ROLES_CLAIM is realm_access.roles', async () => {
    const reply = await check(keycloak, sign({ preferred_username: 'mallory', roles: ['admin'] }), 'role=admin');
    assert.equal(reply.status, 403);
    assert.equal(reply.headers['x-auth-error'], 'insufficient_scope');
    assert.equal(reply.headers['x-auth-user'], undefined);
  });
});

describe('an Auth0 access token with namespaced claims', { timeout: 30_000 }, () => {
  const bob = { sub: 'auth0|64b7', 'https://example.org/roles': ['admin', 'billing'], 'https://example.org/email': 'bob@example.org', scope: 'read:reports' };

  test('namespaced claims become identity headers', async () => {
    const reply = await check(auth0, sign(bob, 'application/at+jwt'));
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.headers['x-auth-user'], 'auth0|64b7');
    assert.equal(reply.headers['x-auth-roles'], 'admin,billing');
    assert.equal(reply.headers['x-auth-email'], 'bob@example.org');
  });

  const rows: Array<[name: string, requirement: string, status: number]> = [
    ['role=admin reads the namespaced roles claim', 'role=admin', 200],
    ['role=support, which bob lacks', 'role=support', 403],
    ['claim.["https://example.org/email"] in the header form', 'claim.["https://example.org/email"]=bob@example.org', 200],
    ['a scope with a colon', 'scope=read:reports', 200],
    ['a scope bob lacks', 'scope=write:reports', 403],
  ];
  for (const [name, requirement, status] of rows) {
    test(`${name} → ${status}`, async () => assert.equal((await check(auth0, sign(bob), requirement)).status, status));
  }

  test('the query form takes the same path, URL-encoded', async () => {
    const query = new URLSearchParams({ 'claim.["https://example.org/email"]': 'bob@example.org' }).toString();
    const token = sign(bob);
    assert.equal((await request(`${auth0.url}/check?${query}`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const other = new URLSearchParams({ 'claim.["https://example.org/email"]': 'eve@example.org' }).toString();
    assert.equal((await request(`${auth0.url}/check?${other}`, { headers: { authorization: `Bearer ${token}` } })).status, 403);
  });
});
