/**
 * Provider-shaped tokens through a real nginx with the shipped snippets: a Keycloak access token
 * (`typ: at+jwt`, roles in `realm_access.roles`) opens /admin/, whose location requires
 * `role=admin`, and the app receives X-Auth-Roles from an Auth0-style namespaced claim.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { nowSeconds, signJws } from '../../support/jws.js';
import { useStack } from '../../support/stack.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite());
const SUITE = { skip, timeout: 120_000 };

interface Echo {
  path: string;
  identity: Record<string, string>;
}

describe('nginx with ROLES_CLAIM=realm_access.roles and a namespaced claim in IDENTITY_HEADERS', SUITE, () => {
  const { stack: s, spec } = useStack('identity-providers', {
    serviceEnv: {
      ROLES_CLAIM: 'realm_access.roles',
      // The three headers nginx/snippets/jwt-auth-protect.conf passes on.
      IDENTITY_HEADERS: 'preferred_username:X-Auth-User,["https://example.org/roles"]:X-Auth-Roles,name:X-Auth-Name',
    },
  });
  const accessToken = (claims: Record<string, unknown>): string =>
    signJws({ alg: 'HS256', typ: 'at+jwt' }, { iat: nowSeconds(), exp: nowSeconds() + 300, ...claims }, Buffer.from(s().secret, 'utf8'));
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const ALICE = {
    sub: '5f0c1c1e-8a5e-4d39-9d0b-3f3c2b1a0e11',
    preferred_username: 'alice',
    name: 'Alice Liddell',
    realm_access: { roles: ['admin', 'offline_access'] },
    'https://example.org/roles': ['billing', 'ops'],
  };

  spec('role=admin from realm_access.roles opens /admin/; the app sees X-Auth-Roles from the namespaced claim', async () => {
    s().appRecorder.clear();
    const res = await s().request('/admin/users', { headers: bearer(accessToken(ALICE)) });
    assert.equal(res.status, 200, res.text());
    const echo = res.json<Echo>();
    assert.equal(echo.path, '/admin/users');
    assert.deepEqual(echo.identity, { 'X-Auth-User': 'alice', 'X-Auth-Roles': 'billing,ops', 'X-Auth-Name': 'Alice Liddell' });
    assert.equal(s().appRecorder.records.length, 1);
  });

  spec('without admin in realm_access.roles /admin/ is 403 insufficient_scope, and a top-level roles claim does not count', async () => {
    for (const claims of [
      { ...ALICE, realm_access: { roles: ['offline_access'] } },
      { ...ALICE, realm_access: undefined, roles: ['admin'] },
      { ...ALICE, realm_access: ['admin'] },
    ]) {
      s().appRecorder.clear();
      const res = await s().request('/admin/users', { headers: bearer(accessToken(claims)) });
      assert.equal(res.status, 403, JSON.stringify(claims));
      assert.equal(res.headers['x-auth-error'], 'insufficient_scope');
      assert.equal(s().appRecorder.records.length, 0, 'the app never saw it');
    }
  });

  spec('a client-sent X-Auth-Roles never reaches the app, even with a good token', async () => {
    s().appRecorder.clear();
    const res = await s().request('/admin/users', { headers: { ...bearer(accessToken(ALICE)), 'x-auth-roles': 'admin' } });
    assert.equal(res.status, 400);
    assert.equal(s().appRecorder.records.length, 0);
  });
});
