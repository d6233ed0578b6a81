import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createVerifier } from 'fast-jwt';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { ALGORITHMS, factsOf, type Algorithm } from '../../src/algorithms.js';
import { remoteKeySet, type RemoteKeySet } from '../../src/jwks/index.js';
import { createLogger } from '../../src/logging.js';
import { request } from '../../support/http.js';
import { startJwksServer, type JwksServer } from '../../support/jwks-server.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { waitUntil } from '../../support/wait.js';

const ASYMMETRIC = ALGORITHMS.filter((alg) => factsOf(alg).family !== 'HMAC');
const ENTRA_KID = 'entra-style-no-alg';

interface Signer {
  readonly alg: Algorithm;
  readonly kid: string;
}

/** Every algorithm with a key of its own, and an alg-less RSA key signing as RS256 and PS512. */
const SIGNERS: readonly Signer[] = [
  ...ASYMMETRIC.map((alg) => ({ alg, kid: `jose-${alg}` })),
  { alg: 'RS256', kid: ENTRA_KID },
  { alg: 'PS512', kid: ENTRA_KID },
];

let server: JwksServer;
let set: RemoteKeySet;
const privateKeys = new Map<string, CryptoKey | KeyObject>();

before(async () => {
  const keys: object[] = [];
  for (const alg of ASYMMETRIC) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    keys.push({ ...(await exportJWK(publicKey)), kid: `jose-${alg}`, alg, use: 'sig' });
    privateKeys.set(`jose-${alg}`, privateKey);
  }
  // An RSA key published without alg (Entra ID's way) verifies RS* and PS* tokens alike. A node
  // KeyObject, since a WebCrypto key is bound to one algorithm.
  const entra = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.push({ ...(await exportJWK(entra.publicKey)), kid: ENTRA_KID, use: 'sig' });
  privateKeys.set(ENTRA_KID, entra.privateKey);

  server = await startJwksServer({ keys });
  set = remoteKeySet({
    issuer: server.issuer,
    url: server.jwksUrl,
    algorithms: ALGORITHMS,
    minCacheMs: 60_000,
    maxCacheMs: 60_000,
    maxStaleMs: 60_000,
    unknownKidCooldownMs: 1_000,
    timeoutMs: 5_000,
    maxBytes: 256 * 1024,
    allowInsecureHttp: false,
    logger: createLogger('silent'),
  });
  set.start();
  await set.idle();
});
after(async () => {
  set.close();
  await server.close();
});

/** A token of `signer`'s algorithm, signed with the private key of `keyOf` (default: its own). */
const sign = (signer: Signer, keyOf = signer.kid, claims: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })
    .setIssuer(server.issuer)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKeys.get(keyOf) ?? assert.fail(`no private key ${keyOf}`));

/** What the verifier does: the key of the token's kid and alg, and only that algorithm. */
function verifyWith(token: string, kid: string, alg: Algorithm): unknown {
  const key = set.current().verification.find((candidate) => candidate.kid === kid && candidate.alg === alg);
  assert.ok(key, `no key ${kid} for ${alg}`);
  return createVerifier({ key: key.material, algorithms: [alg as never] })(token);
}

describe('jose-signed tokens verify with the keys of a remote JWK Set', () => {
  test('every asymmetric algorithm of the table is served', () => {
    assert.ok(set.usable);
    for (const alg of ASYMMETRIC)
      assert.ok(
        set.current().verification.some((key) => key.kid === `jose-${alg}` && key.alg === alg),
        alg,
      );
  });

  test('a key without alg becomes a key per fitting algorithm', () => {
    assert.deepEqual(
      set
        .current()
        .verification.filter((key) => key.kid === ENTRA_KID)
        .map((key) => key.alg),
      ASYMMETRIC.filter((alg) => factsOf(alg).family === 'RSA' || factsOf(alg).family === 'RSA-PSS'),
    );
  });

  for (const signer of SIGNERS) {
    test(`${signer.alg}, kid ${signer.kid}`, async () => {
      const token = await sign(signer);
      assert.equal((verifyWith(token, signer.kid, signer.alg) as { sub: string }).sub, 'alice');
    });
  }

  test("a token signed with another key than its kid's fails", async () => {
    const forged = await sign({ alg: 'RS256', kid: 'jose-RS256' }, ENTRA_KID);
    assert.throws(() => verifyWith(forged, 'jose-RS256', 'RS256'), /signature/i);
  });
});

describe("the same tokens through the service's /check, the provider found by OIDC_ISSUER alone", () => {
  let service: InProcessService;
  before(async () => {
    service = await startServiceInProcess({ OIDC_ISSUER: server.issuer, OIDC_AUDIENCE: 'interop-api', LOG_LEVEL: 'silent' });
    service.service.deps.lifecycle.ready = true;
    await waitUntil(() => service.service.deps.trust.ready, 'the provider keys');
  });
  after(() => service?.close());

  for (const signer of SIGNERS) {
    test(`${signer.alg}, kid ${signer.kid}: allowed, X-Auth-User from sub`, async () => {
      const token = await sign(signer, signer.kid, { aud: 'interop-api' });
      const reply = await request(`${service.url}/check`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(reply.status, 200, String(reply.headers['x-auth-error']));
      assert.equal(reply.headers['x-auth-user'], 'alice');
    });
  }

  test('without the audience: token_claims_invalid; with the wrong key: token_signature_invalid', async () => {
    const check = async (token: string) => (await request(`${service.url}/check`, { headers: { authorization: `Bearer ${token}` } })).headers['x-auth-error'];
    assert.equal(await check(await sign({ alg: 'ES256', kid: 'jose-ES256' })), 'token_claims_invalid');
    assert.equal(await check(await sign({ alg: 'RS256', kid: 'jose-RS256' }, ENTRA_KID, { aud: 'interop-api' })), 'token_signature_invalid');
  });
});
