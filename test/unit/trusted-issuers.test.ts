/**
 * Several issuers: the token's iss picks one, and only that issuer's keys, audiences and claim
 * mapping apply. Fetched keys are stood in for by sources the tests drive (the real client has its
 * own tests in test/unit/jwks/).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createCheckAnswers } from '../../src/check/answer.js';
import { createAccessDecider } from '../../src/check/decision.js';
import { parseClaimPath } from '../../src/claim-path.js';
import { loadConfig } from '../../src/config/index.js';
import { createIdentityHeaders } from '../../src/identity-headers.js';
import { staticKeySource } from '../../src/key-source.js';
import { loadKeys, type KeySet } from '../../src/keys.js';
import { RevocationList } from '../../src/revocation/list.js';
import type { IssuerKeySource, TrustedIssuer } from '../../src/trusted-issuer.js';
import { createTokenVerifier, ownIssuer, type Trust } from '../../src/token/verify.js';
import { controlledKeys } from '../../support/controlled-keys.js';
import { checkOutcomes, codeOf, settledCheckOutcomes, settledCodeOf } from '../../support/check.js';
import { signJws } from '../../support/jws.js';
import { KeyFiles, generatePair, type KeyPair } from '../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

const NOW = 1_750_000_000;
const CLOCK = { clockTimestamp: NOW * 1000 };
const OWN = 'https://auth.example';
const IDP = 'https://idp.example/realms/main';

const ownPair = generatePair('ES256');
const idpPair = generatePair('RS256');
const rotatedPair = generatePair('RS256');

const env = { ...files.env('ES256', ownPair), JWT_KEY_ID: 'own', JWT_ISSUER: OWN };
const config = loadConfig(env);
const keysOf = (pair: KeyPair, alg: 'RS256' | 'ES256', kid: string): KeySet => loadKeys(loadConfig({ ...files.env(alg, pair), JWT_KEY_ID: kid }).jwt);
const ownKeys = staticKeySource(keysOf(ownPair, 'ES256', 'own'));

const token = (pair: KeyPair, alg: string, kid: string | undefined, claims: Record<string, unknown>): string =>
  signJws({ alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }) }, { sub: 'alice', iat: NOW, exp: NOW + 600, ...claims }, pair.privateKey);

function idpIssuer(sources: IssuerKeySource[], rolesClaim = 'realm_access.roles'): TrustedIssuer {
  return { iss: IDP, label: IDP, audiences: ['api'], claims: { rolesClaim: parseClaimPath(rolesClaim), scopesClaims: [parseClaimPath('scope')] }, sources };
}

function trust(remote: IssuerKeySource, own = ownIssuer(config.jwt, [ownKeys])): Trust {
  return { issuers: [idpIssuer([remote])], own };
}

describe("a token's iss picks whose keys and rules apply", () => {
  const remote = controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'));
  const verify = createTokenVerifier(config.jwt, trust(remote), CLOCK);

  test("the provider's token with its audience verifies, and names the provider", () => {
    const verified = verify(token(idpPair, 'RS256', 'idp-1', { iss: IDP, aud: 'api' }));
    assert.ok(!(verified instanceof Promise));
    assert.equal(verified.issuer.label, IDP);
    assert.equal(verified.claims.sub, 'alice');
  });

  test("the service's own token verifies with its own keys", () => {
    const verified = verify(token(ownPair, 'ES256', 'own', { iss: OWN }));
    assert.ok(!(verified instanceof Promise));
    assert.equal(verified.issuer.label, OWN);
  });

  const rows: Array<[name: string, token: string, code: string]> = [
    ["signed with the service's key but claiming the provider", token(ownPair, 'ES256', 'own', { iss: IDP, aud: 'api' }), 'token_key_unknown'],
    ["signed with the provider's key but claiming the service", token(idpPair, 'RS256', 'idp-1', { iss: OWN }), 'token_key_unknown'],
    ["the provider's token without the audience", token(idpPair, 'RS256', 'idp-1', { iss: IDP }), 'token_claims_invalid'],
    ["the provider's token for another audience", token(idpPair, 'RS256', 'idp-1', { iss: IDP, aud: 'other-api' }), 'token_claims_invalid'],
    ['an iss nobody is trusted for', token(idpPair, 'RS256', 'idp-1', { iss: 'https://evil.example' }), 'token_issuer_unknown'],
    ["no iss: the service's own rules, which require one", token(ownPair, 'ES256', 'own', {}), 'token_claims_invalid'],
    ['an iss that differs only in a trailing slash', token(idpPair, 'RS256', 'idp-1', { iss: `${IDP}/`, aud: 'api' }), 'token_issuer_unknown'],
  ];
  // An unknown kid at the provider may wait for its one refetch: settled, the answer is the same.
  for (const [name, jwt, code] of rows) test(`${name} → ${code}`, async () => assert.equal(await settledCodeOf(verify, jwt), code));
});

describe("the service's own issuer without JWT_ISSUER takes every iss no provider claims", () => {
  const anyIss = loadConfig({ ...files.env('ES256', ownPair), JWT_KEY_ID: 'own' });
  const verify = createTokenVerifier(anyIss.jwt, trust(controlledKeys(keysOf(idpPair, 'RS256', 'idp-1')), ownIssuer(anyIss.jwt, [ownKeys])), CLOCK);
  test('its own token with any iss, or none, verifies', () => {
    assert.equal(codeOf(verify, token(ownPair, 'ES256', 'own', { iss: 'https://anything.example' })), 'ok');
    assert.equal(codeOf(verify, token(ownPair, 'ES256', 'own', {})), 'ok');
  });
  test("but a token claiming the provider is held to the provider's keys", async () =>
    assert.equal(await settledCodeOf(verify, token(ownPair, 'ES256', 'own', { iss: IDP, aud: 'api' })), 'token_key_unknown'));
});

describe('a verify-only service: providers only', () => {
  const verify = createTokenVerifier(config.jwt, { issuers: [idpIssuer([controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'))])], own: undefined }, CLOCK);
  test('a token without iss belongs to nobody', () => assert.equal(codeOf(verify, token(idpPair, 'RS256', 'idp-1', { aud: 'api' })), 'token_issuer_unknown'));
  test("the provider's token verifies", () => assert.equal(codeOf(verify, token(idpPair, 'RS256', 'idp-1', { iss: IDP, aud: 'api' })), 'ok'));
});

describe('an unknown kid at a provider whose keys are fetched', () => {
  test('waits for the one refetch allowed, and a rotated key verifies on the first request that needs it', async () => {
    const remote = controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'));
    const verify = createTokenVerifier(config.jwt, trust(remote), CLOCK);
    remote.next = keysOf(rotatedPair, 'RS256', 'idp-2');
    const pending = verify(token(rotatedPair, 'RS256', 'idp-2', { iss: IDP, aud: 'api' }));
    assert.ok(pending instanceof Promise, 'the only path that waits');
    assert.equal((await pending).claims.sub, 'alice');
    assert.equal(remote.refreshes, 1);
    // Known now: no more waiting.
    assert.equal(codeOf(verify, token(rotatedPair, 'RS256', 'idp-2', { iss: IDP, aud: 'api' })), 'ok');
  });

  test('a kid the refetch did not bring is unknown, and during the cooldown nothing waits', async () => {
    const remote = controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'));
    const verify = createTokenVerifier(config.jwt, trust(remote), CLOCK);
    assert.equal(await settledCodeOf(verify, token(rotatedPair, 'RS256', 'random-1', { iss: IDP, aud: 'api' })), 'token_key_unknown');
    assert.equal(codeOf(verify, token(rotatedPair, 'RS256', 'random-2', { iss: IDP, aud: 'api' })), 'token_key_unknown');
    assert.equal(remote.refreshes, 1);
  });

  test('a refetch that does not end in time is a token_key_unknown deny, not a wait past nginx’s timeout', async () => {
    const remote = controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'));
    remote.refreshForKid = () => new Promise<boolean>(() => undefined);
    const verify = createTokenVerifier(config.jwt, trust(remote), { ...CLOCK, unknownKidWaitMs: 20 });
    assert.equal(await settledCodeOf(verify, token(rotatedPair, 'RS256', 'idp-2', { iss: IDP, aud: 'api' })), 'token_key_unknown');
  });

  test("the service's own keys are never refetched: an unknown kid is answered at once", () =>
    assert.equal(
      codeOf(createTokenVerifier(config.jwt, trust(controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'))), CLOCK), token(ownPair, 'ES256', 'x', { iss: OWN })),
      'token_key_unknown',
    ));
});

describe('a provider whose keys may not be used (never fetched, or stale past JWKS_MAX_STALE)', () => {
  const remote = controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'));
  const verify = createTokenVerifier(config.jwt, trust(remote), CLOCK);
  const good = token(idpPair, 'RS256', 'idp-1', { iss: IDP, aud: 'api' });
  test('denies its tokens with issuer_keys_unavailable, even ones it verified before', () => {
    assert.equal(codeOf(verify, good), 'ok');
    remote.usable = false;
    assert.equal(codeOf(verify, good), 'issuer_keys_unavailable');
    assert.equal(codeOf(verify, token(idpPair, 'RS256', undefined, { iss: IDP, aud: 'api' })), 'issuer_keys_unavailable');
  });
  test("while the service's own tokens still pass", () => assert.equal(codeOf(verify, token(ownPair, 'ES256', 'own', { iss: OWN })), 'ok'));
  test('and serves again once the keys are usable', () => {
    remote.usable = true;
    assert.equal(codeOf(verify, good), 'ok');
  });
});

describe('local keys beside fetched ones for one issuer', () => {
  const remote = controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'));
  const verify = createTokenVerifier(config.jwt, { issuers: [], own: ownIssuer(config.jwt, [ownKeys, remote]) }, CLOCK);
  test('a token of either verifies', () => {
    assert.equal(codeOf(verify, token(ownPair, 'ES256', 'own', { iss: OWN })), 'ok');
    assert.equal(codeOf(verify, token(idpPair, 'RS256', 'idp-1', { iss: OWN })), 'ok');
  });
  test('with the fetched ones unusable, the local ones still serve', () => {
    remote.usable = false;
    assert.equal(codeOf(verify, token(ownPair, 'ES256', 'own', { iss: OWN })), 'ok');
    assert.equal(codeOf(verify, token(idpPair, 'RS256', 'idp-1', { iss: OWN })), 'issuer_keys_unavailable');
  });
});

describe("role= reads the issuer's own roles claim", () => {
  const remote = controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'));
  const decide = createAccessDecider({
    config,
    verify: createTokenVerifier(config.jwt, trust(remote), CLOCK),
    identityHeaders: createIdentityHeaders(config.identityHeaders),
    revocations: new RevocationList(() => NOW * 1000),
    now: () => NOW,
  });
  const outcome = checkOutcomes(decide, createCheckAnswers(config));
  const ask = (jwt: string) => outcome({ rawHeaders: ['Authorization', `Bearer ${jwt}`, 'X-Auth-Require', 'role=admin'], query: '' });
  test("the provider's realm_access.roles", () => {
    assert.equal(ask(token(idpPair, 'RS256', 'idp-1', { iss: IDP, aud: 'api', realm_access: { roles: ['admin'] } })).code, undefined);
    assert.equal(ask(token(idpPair, 'RS256', 'idp-1', { iss: IDP, aud: 'api', roles: ['admin'] })).code, 'insufficient_scope');
  });
  test("the service's own token: ROLES_CLAIM (roles)", () => {
    assert.equal(ask(token(ownPair, 'ES256', 'own', { iss: OWN, roles: ['admin'] })).code, undefined);
    assert.equal(ask(token(ownPair, 'ES256', 'own', { iss: OWN, realm_access: { roles: ['admin'] } })).code, 'insufficient_scope');
  });
  test('a decision that waited for keys is an allow or a deny like any other', async () => {
    remote.next = keysOf(rotatedPair, 'RS256', 'idp-2');
    const settled = settledCheckOutcomes(decide, createCheckAnswers(config));
    const answer = await settled({
      rawHeaders: [
        'Authorization',
        `Bearer ${token(rotatedPair, 'RS256', 'idp-2', { iss: IDP, aud: 'api', realm_access: { roles: ['user'] } })}`,
        'X-Auth-Require',
        'role=admin',
      ],
      query: '',
    });
    assert.equal(answer.code, 'insufficient_scope');
    assert.equal(answer.status, 403);
  });
});

describe("the identity headers come from the issuer's own identity_headers, onto the same header names", () => {
  const remote = controlledKeys(keysOf(idpPair, 'RS256', 'idp-1'));
  const mapped: TrustedIssuer = {
    ...idpIssuer([remote]),
    identityHeaders: [
      { claim: parseClaimPath('preferred_username'), header: 'x-auth-user' },
      { claim: parseClaimPath('realm_access.roles'), header: 'x-auth-roles' },
    ],
  };
  const decide = createAccessDecider({
    config,
    verify: createTokenVerifier(config.jwt, { issuers: [mapped], own: ownIssuer(config.jwt, [ownKeys]) }, CLOCK),
    identityHeaders: createIdentityHeaders(config.identityHeaders),
    revocations: new RevocationList(() => NOW * 1000),
    now: () => NOW,
  });
  const headersFor = (jwt: string): string[] => {
    const decision = decide({ rawHeaders: ['Authorization', `Bearer ${jwt}`], query: '' });
    assert.ok(!(decision instanceof Promise) && decision.code === undefined, 'allowed');
    return [...decision.identityHeaders];
  };
  test("the provider's token: its preferred_username and realm roles, and nothing IDENTITY_HEADERS maps but it does not (name)", () => {
    const jwt = token(idpPair, 'RS256', 'idp-1', {
      iss: IDP,
      aud: 'api',
      sub: 'f81d4fae',
      preferred_username: 'alice',
      name: 'Alice',
      realm_access: { roles: ['admin'] },
    });
    assert.deepEqual(headersFor(jwt), ['x-auth-user', 'alice', 'x-auth-roles', 'admin']);
  });
  test("the service's own token: IDENTITY_HEADERS as before", () => {
    const jwt = token(ownPair, 'ES256', 'own', { iss: OWN, preferred_username: 'mallory', name: 'Alice', roles: ['user'] });
    assert.deepEqual(headersFor(jwt), ['x-auth-user', 'alice', 'x-auth-roles', 'user', 'x-auth-name', 'Alice']);
  });
});
