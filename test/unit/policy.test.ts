import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClaimPath } from '../../src/claim-path.js';
import { AppError } from '../../src/errors.js';
import { checkPolicy, createPolicyCache, parsePolicy, type Policy, type PolicyClaims } from '../../src/policy.js';

describe('parsePolicy', () => {
  const rows: Array<[name: string, header: string, query: string, expected: Policy]> = [
    ['nothing → the empty policy', '', '', []],
    ['only separators → the empty policy', ' ; ;', '', []],
    ['role (any of, comma-separated)', 'role=admin,editor', '', [{ kind: 'role', anyOf: ['admin', 'editor'] }]],
    ['scope (all of, space- or comma-separated)', 'scope=read write,delete', '', [{ kind: 'scope', allOf: ['read', 'write', 'delete'] }]],
    ['claim.NAME (exact value, trimmed)', 'claim.dept= eng ', '', [{ kind: 'claim', claim: parseClaimPath('dept'), value: 'eng' }]],
    [
      'several terms separated by ;',
      'role=admin; scope=read ;claim.tenant=t1',
      '',
      [
        { kind: 'role', anyOf: ['admin'] },
        { kind: 'scope', allOf: ['read'] },
        { kind: 'claim', claim: parseClaimPath('tenant'), value: 't1' },
      ],
    ],
    [
      'the same keys as query arguments',
      '',
      'role=admin,editor&scope=read&claim.dept=eng',
      [
        { kind: 'role', anyOf: ['admin', 'editor'] },
        { kind: 'scope', allOf: ['read'] },
        { kind: 'claim', claim: parseClaimPath('dept'), value: 'eng' },
      ],
    ],
    [
      'URL-encoded query values',
      '',
      'claim.email=alice%40example.org&scope=read%20write',
      [
        { kind: 'claim', claim: parseClaimPath('email'), value: 'alice@example.org' },
        { kind: 'scope', allOf: ['read', 'write'] },
      ],
    ],
    [
      'header and query together (ANDed)',
      'role=admin',
      'scope=read',
      [
        { kind: 'role', anyOf: ['admin'] },
        { kind: 'scope', allOf: ['read'] },
      ],
    ],
    [
      'a namespaced claim name, quoted',
      'claim.["urn:example:tenant"]=t1',
      '',
      [{ kind: 'claim', claim: parseClaimPath('["urn:example:tenant"]'), value: 't1' }],
    ],
    ['a nested claim', 'claim.realm_access.roles=admin', '', [{ kind: 'claim', claim: parseClaimPath('realm_access.roles'), value: 'admin' }]],
    [
      'a quoted name holding = and ; in the header form',
      'claim.["a=b;c"]=x;role=admin',
      '',
      [
        { kind: 'claim', claim: parseClaimPath('["a=b;c"]'), value: 'x' },
        { kind: 'role', anyOf: ['admin'] },
      ],
    ],
    [
      'a value holding a quote ends at ; as ever',
      'claim.name=O"Brien;role=admin',
      '',
      [
        { kind: 'claim', claim: parseClaimPath('name'), value: 'O"Brien' },
        { kind: 'role', anyOf: ['admin'] },
      ],
    ],
    ['a value holding =', 'claim.x=a=b', '', [{ kind: 'claim', claim: parseClaimPath('x'), value: 'a=b' }]],
  ];
  for (const [name, header, query, expected] of rows) {
    test(name, () => assert.deepEqual(parsePolicy(header, query), expected));
  }
});

describe('an unparseable requirement is policy_invalid (a deny, never an allow)', () => {
  const rows: Array<[name: string, header: string, query: string]> = [
    ['a term without =', 'admin', ''],
    ['an empty role', 'role=', ''],
    ['an empty scope list', 'scope= , ', ''],
    ['an unknown key', 'group=admin', ''],
    ['a misspelt key', 'roles=admin', ''],
    ['an empty claim name', 'claim.=x', ''],
    ['a claim name with a space', 'claim.a b=x', ''],
    ['a bare namespaced name (it must be quoted, never read as a nested path)', 'claim.https://example.org/tenant=acme', ''],
    ['a bare name with a colon', 'claim.urn:example:tenant=t1', ''],
    ['a path ending with .', 'claim.realm_access.=x', ''],
    ['an unterminated quoted name', 'claim.["abc=x;role=admin', ''],
    ['a quoted name without brackets', 'claim."abc"=x', ''],
    ['a bad query claim path', '', 'claim.a..b=x'],
    ['an unknown query argument', '', 'roel=admin'],
    ['an empty query value', '', 'role='],
    ['a query argument without value', '', 'role'],
  ];
  for (const [name, header, query] of rows) {
    test(name, () => {
      assert.throws(
        () => parsePolicy(header, query),
        (error: unknown) => error instanceof AppError && error.code === 'policy_invalid',
      );
    });
  }
});

describe('checkPolicy', () => {
  const rows: Array<[name: string, requirement: string, claims: Record<string, unknown>, allowed: boolean]> = [
    ['the empty policy allows any claims', '', {}, true],
    ['role: one of the roles present', 'role=admin,editor', { roles: ['viewer', 'editor'] }, true],
    ['role: none of the roles present', 'role=admin,editor', { roles: ['viewer'] }, false],
    ['role: roles as a space-separated string', 'role=admin', { roles: 'viewer admin' }, true],
    ['role: no roles claim', 'role=admin', { sub: 'alice' }, false],
    ['role: a role is matched whole, not as a prefix', 'role=admin', { roles: ['admin-readonly'] }, false],
    ['role: roles of the wrong type', 'role=admin', { roles: { admin: true } }, false],
    ['scope: every scope present (scope string)', 'scope=read,write', { scope: 'read write delete' }, true],
    ['scope: one scope missing', 'scope=read,write', { scope: 'read' }, false],
    ['scope: from scp as an array', 'scope=read,write', { scp: ['write', 'read'] }, true],
    ['scope: from scp as a string', 'scope=read', { scp: 'read' }, true],
    ['scope: no scope claim', 'scope=read', { roles: ['read'] }, false],
    ['claim: exact string match', 'claim.dept=eng', { dept: 'eng' }, true],
    ['claim: a different value', 'claim.dept=eng', { dept: 'engineering' }, false],
    ['claim: case matters', 'claim.dept=eng', { dept: 'ENG' }, false],
    ['claim: a number compared as text', 'claim.level=3', { level: 3 }, true],
    ['claim: a boolean compared as text', 'claim.email_verified=true', { email_verified: true }, true],
    ['claim: one element of an array', 'claim.groups=ops', { groups: ['dev', 'ops'] }, true],
    ['claim: an object never matches', 'claim.dept=[object Object]', { dept: {} }, false],
    ['claim: absent', 'claim.dept=eng', {}, false],
    ['claim: inherited properties are not claims', 'claim.constructor=function Object() { [native code] }', {}, false],
    ['claim: __proto__ is not a claim', 'claim.__proto__=x', JSON.parse('{"sub":"a"}') as Record<string, unknown>, false],
    ['all terms must hold: one fails', 'role=admin;scope=write', { roles: ['admin'], scope: 'read' }, false],
    ['all terms must hold: all hold', 'role=admin;scope=read;claim.tenant=t1', { roles: ['admin'], scope: 'read', tenant: 't1' }, true],
  ];
  for (const [name, requirement, claims, allowed] of rows) {
    test(`${name} → ${allowed ? 'allow' : 'deny'}`, () => assert.equal(checkPolicy(parsePolicy(requirement, ''), claims), allowed));
  }
});

describe('createPolicyCache', () => {
  test('returns the same parsed policy for the same inputs', () => {
    const policyFor = createPolicyCache();
    assert.equal(policyFor('role=admin', ''), policyFor('role=admin', ''));
  });

  test('keeps header and query apart in its key', () => {
    const policyFor = createPolicyCache();
    assert.notDeepEqual(policyFor('role=admin', ''), policyFor('', 'role=admin&scope=x'));
  });

  test('rethrows a cached parse failure on every call', () => {
    const policyFor = createPolicyCache();
    for (let i = 0; i < 3; i++) {
      assert.throws(
        () => policyFor('bogus', ''),
        (error: unknown) => error instanceof AppError && error.code === 'policy_invalid',
      );
    }
  });

  test('stays correct past its bound', () => {
    const policyFor = createPolicyCache(2);
    for (let i = 0; i < 10; i++) assert.deepEqual(policyFor(`claim.n=${i}`, ''), [{ kind: 'claim', claim: parseClaimPath('n'), value: String(i) }]);
  });
});

describe('namespaced claims', () => {
  test('claim.["https://example.org/tenant"] matches the claim of that exact name, in the header and the query form', () => {
    const claims = { 'https://example.org/tenant': 'acme' };
    assert.equal(checkPolicy(parsePolicy('claim.["https://example.org/tenant"]=acme', ''), claims), true);
    assert.equal(checkPolicy(parsePolicy('', 'claim.%5B%22https%3A%2F%2Fexample.org%2Ftenant%22%5D=acme'), claims), true);
    assert.equal(checkPolicy(parsePolicy('claim.["https://example.org/tenant"]=other', ''), claims), false);
  });

  test('the policy_invalid reason shows the quoted spelling of a bare namespaced name', () => {
    assert.throws(
      () => parsePolicy('claim.https://example.org/tenant=acme', ''),
      (error: unknown) => error instanceof AppError && error.message.includes('["https://example.org/tenant"]'),
    );
  });
});

describe('nested claims and the claims role= and scope= read', () => {
  const keycloak = {
    sub: 'f1e2',
    realm_access: { roles: ['admin', 'offline_access'] },
    resource_access: { 'my-app': { roles: ['editor'] }, 'my.app': { roles: ['viewer'] } },
    groups: ['/ops', '/dev'],
    scope: 'openid profile email',
  };
  const realmRoles: PolicyClaims = { rolesClaim: parseClaimPath('realm_access.roles'), scopesClaims: [parseClaimPath('scope')] };
  const rows: Array<[name: string, requirement: string, claims: Record<string, unknown>, from: PolicyClaims | undefined, allowed: boolean]> = [
    ['claim.realm_access.roles holds admin', 'claim.realm_access.roles=admin', keycloak, undefined, true],
    ['claim.resource_access.my-app.roles holds editor', 'claim.resource_access.my-app.roles=editor', keycloak, undefined, true],
    ['a quoted segment inside a path', 'claim.resource_access["my.app"].roles=viewer', keycloak, undefined, true],
    ['the dotted name is not read as a nested one', 'claim.resource_access["my.app"].roles=editor', keycloak, undefined, false],
    ['claim.groups holds /ops', 'claim.groups=/ops', keycloak, undefined, true],
    ['role= reads ROLES_CLAIM', 'role=admin', keycloak, realmRoles, true],
    ['role= with ROLES_CLAIM, a role the token lacks', 'role=auditor', keycloak, realmRoles, false],
    ['role= reads roles by default, which a Keycloak token lacks', 'role=admin', keycloak, undefined, false],
    ['role= with ROLES_CLAIM=groups', 'role=/dev', keycloak, { ...realmRoles, rolesClaim: parseClaimPath('groups') }, true],
    ['scope= from a space-separated string', 'scope=openid email', keycloak, realmRoles, true],
    ['scope= from an array at a nested path', 'scope=read', { authz: { scp: ['read'] } }, { ...realmRoles, scopesClaims: [parseClaimPath('authz.scp')] }, true],
    ['scope= reads the first of SCOPES_CLAIM present', 'scope=read', { scp: ['read'], scope: null }, undefined, true],
    ['scope= does not fall through a present first claim', 'scope=read', { scope: 'write', scp: ['read'] }, undefined, false],
    ['a path through an array is absent', 'claim.groups.0=/ops', keycloak, undefined, false],
    ['a path through a string is absent', 'claim.scope.length=20', keycloak, undefined, false],
    ['a nested __proto__ is not a claim', 'claim.realm_access.__proto__=x', keycloak, undefined, false],
    ['a nested constructor is not a claim', 'claim.realm_access.constructor=function Object() { [native code] }', keycloak, undefined, false],
    [
      'an own __proto__ member of the token is a claim',
      'claim.a["__proto__"]=x',
      JSON.parse('{"a":{"__proto__":"x"}}') as Record<string, unknown>,
      undefined,
      true,
    ],
  ];
  for (const [name, requirement, claims, from, allowed] of rows) {
    test(`${name} → ${allowed ? 'allow' : 'deny'}`, () => assert.equal(checkPolicy(parsePolicy(requirement, ''), claims, from), allowed));
  }
});
