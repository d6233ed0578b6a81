/**
 * Coming from the original OpenResty + lua-resty-jwt recipe (README, "Migrating from the OpenResty
 * recipe"): its tokens are HS256 over the login app's JSON as it is (no exp, no sub, no iat), sent
 * as a raw `Authorization: <token>`. With the transition settings they pass through nginx with the
 * same identity; with the defaults back (the end of the transition) they are refused.
 * Needs nginx and Flask (skipped without, failing under CI=true).
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { signJws } from '../../support/jws.js';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { useStack, type Stack } from '../../support/stack.js';

const SUITE = { skip: requireOrSkip(nginxPrerequisite(), flaskPrerequisite()), timeout: 120_000 };

/** The transition settings, as README gives them. */
const TRANSITION = { JWT_REQUIRE_EXP: 'false', CHECK_ACCEPT_RAW_TOKEN: 'true', IDENTITY_HEADERS: 'username:X-Auth-User,roles:X-Auth-Roles' };

/** A token exactly as the recipe made it: lua-resty-jwt's sign() over the login app's answer. */
function recipeToken(stack: Stack, user: Record<string, unknown>): string {
  return signJws({ typ: 'JWT', alg: 'HS256' }, JSON.stringify(user), stack.secret);
}
const ALICE = { username: 'alice', name: 'Alice Liddell', roles: ['admin', 'user'] };

describe('during the transition: the OpenResty recipe’s tokens pass, sent raw, with the same identity', SUITE, () => {
  const { stack: s, spec } = useStack('migration', { serviceEnv: TRANSITION });

  spec('a raw Authorization: <token> reaches the app as X-Auth-User from the username claim', async () => {
    const res = await s().request('/whoami', { headers: { authorization: recipeToken(s(), ALICE) } });
    assert.equal(res.status, 200, res.text());
    assert.equal(res.json<{ user: string }>().user, 'alice');
  });

  spec('role=admin locations read its roles as before', async () => {
    assert.equal((await s().request('/admin/', { headers: { authorization: recipeToken(s(), ALICE) } })).status, 200);
    const bob = recipeToken(s(), { username: 'bob', roles: ['user'] });
    assert.equal((await s().request('/admin/', { headers: { authorization: bob } })).status, 403);
  });

  spec('new tokens (with exp and sub, over the same JSON) pass too, raw or as Bearer', async () => {
    const token = await s().mint({ sub: 'alice', username: 'alice', roles: ['admin'] });
    for (const authorization of [token, `Bearer ${token}`]) {
      const res = await s().request('/whoami', { headers: { authorization } });
      assert.equal(res.json<{ user: string }>().user, 'alice');
    }
  });

  spec('a forged or tampered recipe token is still refused', async () => {
    const forged = signJws({ typ: 'JWT', alg: 'HS256' }, JSON.stringify(ALICE), 'another-secret-another-secret-123');
    const res = await s().request('/whoami', { headers: { authorization: forged } });
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-auth-error'], 'token_signature_invalid');
  });
});

describe('after the transition (defaults back): the recipe’s tokens are refused', SUITE, () => {
  const { stack: s, spec } = useStack('migration-over', { serviceEnv: { IDENTITY_HEADERS: TRANSITION.IDENTITY_HEADERS } });

  spec('raw: token_malformed; as Bearer: no exp, token_claims_invalid', async () => {
    const token = recipeToken(s(), ALICE);
    const raw = await s().request('/whoami', { headers: { authorization: token } });
    assert.equal(raw.status, 403);
    assert.equal(raw.headers['x-auth-error'], 'token_malformed');
    const bearer = await s().request('/whoami', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 403);
    assert.equal(bearer.headers['x-auth-error'], 'token_claims_invalid');
  });
});
