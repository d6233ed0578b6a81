/**
 * Interoperability with another JWT library (jose): its tokens pass /check, and /login tokens verify
 * in it, with the secret or with the published JWK Set, for every supported algorithm.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { json, request } from '../../support/http.js';
import { SUPPORTED_ALGORITHMS, KeyFiles, isHmac, pairFor, type AsymmetricAlgorithm, type HmacAlgorithm } from '../../support/keys.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { ALICE, startStubAuthenticator, type StubAuthenticator } from '../../support/stub-authenticator.js';

const ISS = 'https://auth.example';
const AUD = 'app';
const files = new KeyFiles();
let stub: StubAuthenticator;

before(async () => {
  stub = await startStubAuthenticator();
});
after(async () => {
  await stub?.close();
  files.remove();
});

for (const alg of SUPPORTED_ALGORITHMS) {
  describe(alg, { timeout: 30_000 }, () => {
    let svc: InProcessService;
    const signingKey = isHmac(alg) ? new TextEncoder().encode(files.secret(alg as HmacAlgorithm)) : pairFor(alg as AsymmetricAlgorithm).privateKey;
    const verificationKey = isHmac(alg) ? signingKey : pairFor(alg as AsymmetricAlgorithm).publicKey;

    before(async () => {
      svc = await startServiceInProcess({
        ...files.env(alg),
        AUTHENTICATOR_URL: stub.url,
        JWT_ISSUER: ISS,
        JWT_AUDIENCE: AUD,
        IDENTITY_HEADERS: 'sub:X-Auth-User,roles:X-Auth-Roles',
      });
    });
    after(() => svc?.close());

    const joseToken = (header: Record<string, string> = {}) =>
      new SignJWT({ roles: ['reader'] })
        .setProtectedHeader({ alg, typ: 'JWT', ...header })
        .setSubject('jose-user')
        .setIssuer(ISS)
        .setAudience(AUD)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('5m')
        .sign(signingKey);

    test('a jose token without kid passes /check', async () => {
      const reply = await request(`${svc.url}/check`, { headers: { authorization: `Bearer ${await joseToken()}` } });
      assert.equal(reply.status, 200, String(reply.headers['x-auth-error']));
      assert.equal(reply.headers['x-auth-user'], 'jose-user');
      assert.equal(reply.headers['x-auth-roles'], 'reader');
    });

    test("a jose token with the service's kid passes /check", async () => {
      const kid = svc.service.deps.keySource.current().signing?.kid ?? assert.fail('no signing key');
      const reply = await request(`${svc.url}/check`, { headers: { authorization: `Bearer ${await joseToken({ kid })}` } });
      assert.equal(reply.status, 200, String(reply.headers['x-auth-error']));
    });

    test('a jose token for another audience is refused', async () => {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg })
        .setSubject('x')
        .setIssuer(ISS)
        .setAudience('other')
        .setExpirationTime('5m')
        .sign(signingKey);
      const reply = await request(`${svc.url}/check`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(reply.status, 403);
      assert.equal(reply.headers['x-auth-error'], 'token_claims_invalid');
    });

    test('a /login token verifies with jose and the key', async () => {
      const login = await request(`${svc.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ALICE) });
      assert.equal(login.status, 200);
      const { payload, protectedHeader } = await jwtVerify(String(json(login).token), verificationKey, {
        issuer: ISS,
        audience: AUD,
        algorithms: [alg],
        requiredClaims: ['exp', 'iat', 'nbf', 'jti'],
      });
      assert.equal(protectedHeader.alg, alg);
      assert.equal(payload.sub, 'alice');
      assert.deepEqual(payload.roles, ['admin', 'editor']);
    });

    if (!isHmac(alg)) {
      test('a /login token verifies with jose and the published JWK Set', async () => {
        const jwks = json(await request(`${svc.url}/.well-known/jwks.json`)) as unknown as JSONWebKeySet;
        const login = await request(`${svc.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ALICE) });
        const { payload } = await jwtVerify(String(json(login).token), createLocalJWKSet(jwks), { issuer: ISS, audience: AUD });
        assert.equal(payload.sub, 'alice');
      });
    }
  });
}
