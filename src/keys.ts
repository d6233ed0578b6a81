/**
 * Turns the configured secret, PEM files and JWK Set into the keys the signer and the verifier use,
 * once at start. Each key is bound to exactly one algorithm: the verifier's allow-list is the set of
 * these algorithms and never comes from a token.
 */
import { createHash, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ALGORITHMS, factsOf, isAlgorithm, type Algorithm } from './algorithms.js';
import { ConfigError, type Config } from './config/index.js';
import { KEY_ENCODING_NAMES, holdsPemPrivateKey, isEncryptedPem, keyEncodingName, keyEncodingOf, pemLabel } from './key-encodings.js';

export interface VerificationKey {
  readonly alg: Algorithm;
  /** The kid tokens must carry to select this key; every key has one (configured or RFC 7638 thumbprint). */
  readonly kid: string;
  /** HMAC secret bytes, or an SPKI PEM public key: the forms fast-jwt takes. */
  readonly material: Buffer | string;
  /** The public JWK published at /.well-known/jwks.json; absent for HMAC secrets. */
  readonly publicJwk: JsonWebKey | undefined;
}

export interface SigningKey {
  readonly alg: Algorithm;
  readonly kid: string;
  /** HMAC secret bytes, or a PKCS#8 PEM private key. */
  readonly material: Buffer | string;
}

export interface KeySet {
  /** Absent in verify-only setups (a public key and no private key). */
  readonly signing: SigningKey | undefined;
  readonly verification: readonly VerificationKey[];
}

/** Why `key` cannot sign or verify `alg`, or undefined when it fits. Also judges keys from a remote JWK Set (src/jwks/). */
export function keyMismatch(key: KeyObject, alg: Algorithm): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const facts = factsOf(alg);
  switch (facts.family) {
    case 'RSA':
    case 'RSA-PSS': {
      // RSA-PSS-restricted keys (id-RSASSA-PSS) have no JWK form (RFC 7518 §6.3), so they could be
      // neither published nor given a thumbprint kid: plain RSA keys sign PS* as well.
      if (type !== 'rsa') return `${alg} needs an RSA key (rsaEncryption), got ${type ?? 'a secret'}`;
      const minimumBits = facts.minimumRsaBits ?? 0;
      if ((details.modulusLength ?? 0) < minimumBits) return `RSA keys must have at least ${minimumBits} bits, got ${details.modulusLength}`;
      return undefined;
    }
    case 'EC':
      return type === 'ec' && details.namedCurve === facts.curve
        ? undefined
        : `${alg} needs an EC key on ${facts.curve}, got ${type ?? 'a secret'} ${details.namedCurve ?? ''}`.trim();
    case 'EdDSA':
      return type === 'ed25519' || type === 'ed448' ? undefined : `EdDSA needs an Ed25519 or Ed448 key, got ${type ?? 'a secret'}`;
    case 'HMAC':
      return `${alg} needs a secret, not a ${type} key`;
  }
}

/** RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const required: Readonly<Record<string, readonly string[]>> = {
    RSA: ['e', 'kty', 'n'],
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
    oct: ['k', 'kty'],
  };
  const members = required[jwk.kty ?? ''];
  if (members === undefined) throw new Error(`unsupported kty ${jwk.kty}`);
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

function publicJwkOf(key: KeyObject, alg: Algorithm, kid: string): JsonWebKey {
  const { kty, n, e, crv, x, y } = key.export({ format: 'jwk' });
  return Object.fromEntries(Object.entries({ kty, n, e, crv, x, y, kid, alg, use: 'sig' }).filter(([, value]) => value !== undefined));
}

/** The verification key of a public key for one algorithm; the kid defaults to the key's RFC 7638 thumbprint. */
export function asymmetricVerificationKey(publicKey: KeyObject, alg: Algorithm, kid: string | undefined): VerificationKey {
  const keyId = kid ?? jwkThumbprint(publicKey.export({ format: 'jwk' }));
  return {
    alg,
    kid: keyId,
    material: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicJwk: publicJwkOf(publicKey, alg, keyId),
  };
}

function secretVerificationKey(secret: Buffer, alg: Algorithm, kid: string | undefined): VerificationKey {
  return { alg, kid: kid ?? jwkThumbprint({ kty: 'oct', k: secret.toString('base64url') }), material: secret, publicJwk: undefined };
}

function parses(read: () => unknown): boolean {
  try {
    read();
    return true;
  } catch {
    return false;
  }
}

/** ", got …" for a message, when the text is some other key encoding or a PEM block that does not parse. */
function whatItIs(text: string): string {
  const label = pemLabel(text);
  if (label !== undefined) return `, got a "${label}" block that does not parse`;
  const encoding = keyEncodingName(text);
  return encoding === undefined ? '' : `, got ${encoding}`;
}

/**
 * The private key of JWT_PRIVATE_KEY_FILE. OpenSSL's own reason ("DECODER routines::unsupported")
 * says nothing about the usual mistakes, so they are named instead.
 */
function privateKeyFrom(text: string, alg: Algorithm): KeyObject {
  const keygen = `make a pair with \`node dist/src/cli.js keygen --alg ${alg}\``;
  try {
    return createPrivateKey(text);
  } catch {
    // Named below.
  }
  if (parses(() => createPublicKey(text))) {
    throw new Error(
      'this is a public key (or certificate), which can only verify: set it as JWT_PUBLIC_KEY_FILE for a verify-only setup, or put the private key ' +
        'here to sign',
    );
  }
  if (isEncryptedPem(text))
    throw new Error('the private key is encrypted and the service has no passphrase: decrypt it with `openssl pkey -in FILE -out FILE.pem`');
  if (pemLabel(text) === 'OPENSSH PRIVATE KEY') {
    throw new Error(`an OpenSSH private key, which node cannot read: convert an RSA or ECDSA one with \`ssh-keygen -p -m PKCS8 -f FILE\`, or ${keygen}`);
  }
  throw new Error(`not a PEM private key (expected -----BEGIN PRIVATE KEY-----${whatItIs(text)}): ${keygen}`);
}

/** The public key of JWT_PUBLIC_KEY_FILE. */
function publicKeyFrom(text: string, alg: Algorithm): KeyObject {
  // node would derive the public key from a private one, but a private key on a verify-only host
  // is a key in the wrong place: whoever reads that host can sign.
  if (holdsPemPrivateKey(text)) {
    throw new Error(
      'this is a private key, and a verify-only setup must not hold one: give its public key (`openssl pkey -in FILE -pubout`), or set it as ' +
        'JWT_PRIVATE_KEY_FILE to sign as well',
    );
  }
  try {
    return createPublicKey(text);
  } catch {
    // Named below.
  }
  const encoding = keyEncodingOf(text);
  if (encoding === 'openssh-public' || encoding === 'ssh2-public') {
    throw new Error(
      `${KEY_ENCODING_NAMES[encoding]}, which node cannot read: convert an RSA or ECDSA one with \`ssh-keygen -e -m PKCS8 -f FILE\`, or make a ` +
        `pair with \`node dist/src/cli.js keygen --alg ${alg}\``,
    );
  }
  if (encoding === 'jwk' || encoding === 'jwk-set')
    throw new Error(`${KEY_ENCODING_NAMES[encoding]}: list JWKs, each with kid and alg, in JWT_VERIFY_JWKS_FILE`);
  throw new Error(`not a PEM public key (expected -----BEGIN PUBLIC KEY-----${whatItIs(text)})`);
}

function parseJwks(text: string, problems: string[]): VerificationKey[] {
  const where = 'JWT_VERIFY_JWKS_FILE';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    problems.push(`${where}: not valid JSON`);
    return [];
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    problems.push(`${where}: expected a JWK Set, {"keys": [...]}`);
    return [];
  }
  const result: VerificationKey[] = [];
  keys.forEach((jwk: JsonWebKey, index) => {
    const { kid, alg } = jwk as { kid?: unknown; alg?: unknown };
    if (typeof kid !== 'string' || kid === '' || typeof alg !== 'string' || !isAlgorithm(alg)) {
      problems.push(`${where}: key ${index} needs a "kid" and an "alg" from ${ALGORITHMS.join(', ')}`);
      return;
    }
    try {
      if (jwk.kty === 'oct') {
        const secret = Buffer.from(String(jwk.k ?? ''), 'base64url');
        const { family, minimumSecretBytes = 0 } = factsOf(alg);
        if (family !== 'HMAC') throw new Error(`${alg} cannot use an oct key`);
        const encoding = keyEncodingName(secret.toString('utf8'));
        if (encoding !== undefined) {
          throw new Error(
            `its "k" holds ${encoding}, not random bytes, and whoever has a public key could sign ${alg} tokens with it: list a public key as an ` +
              `RSA, EC or OKP JWK with its own alg`,
          );
        }
        if (secret.length < minimumSecretBytes) throw new Error(`${alg} needs at least ${minimumSecretBytes} bytes`);
        result.push(secretVerificationKey(secret, alg, kid));
        return;
      }
      const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
      const mismatch = keyMismatch(publicKey, alg);
      if (mismatch) throw new Error(mismatch);
      result.push(asymmetricVerificationKey(publicKey, alg, kid));
    } catch (error) {
      problems.push(`${where}: key "${kid}": ${(error as Error).message}`);
    }
  });
  return result;
}

/**
 * Builds the signing key and the verification keys from the configuration.
 * @throws ConfigError naming every unusable key.
 */
export function loadKeys(jwt: Config['jwt']): KeySet {
  const problems: string[] = [];
  const { algorithm, keyId } = jwt;
  let signing: SigningKey | undefined;
  const verification: VerificationKey[] = [];

  if (jwt.secret !== undefined) {
    const key = secretVerificationKey(jwt.secret, algorithm, keyId);
    signing = { alg: algorithm, kid: key.kid, material: jwt.secret };
    verification.push(key);
  }
  if (jwt.privateKeyPem !== undefined) {
    try {
      const privateKey = privateKeyFrom(jwt.privateKeyPem, algorithm);
      const mismatch = keyMismatch(privateKey, algorithm);
      if (mismatch) throw new Error(mismatch);
      const key = asymmetricVerificationKey(createPublicKey(privateKey), algorithm, keyId);
      signing = { alg: algorithm, kid: key.kid, material: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
      verification.push(key);
    } catch (error) {
      problems.push(`JWT_PRIVATE_KEY_FILE: ${(error as Error).message}`);
    }
  }
  if (jwt.publicKeyPem !== undefined) {
    try {
      const publicKey = publicKeyFrom(jwt.publicKeyPem, algorithm);
      const mismatch = keyMismatch(publicKey, algorithm);
      if (mismatch) throw new Error(mismatch);
      // With a private key too, the public one is its twin or an extra key; without, it is the verify-only key.
      verification.push(asymmetricVerificationKey(publicKey, algorithm, signing ? undefined : keyId));
    } catch (error) {
      problems.push(`JWT_PUBLIC_KEY_FILE: ${(error as Error).message}`);
    }
  }
  if (jwt.verifyJwks !== undefined) verification.push(...parseJwks(jwt.verifyJwks, problems));

  const byKid = new Map<string, VerificationKey>();
  for (const key of verification) {
    const twin = byKid.get(key.kid);
    if (twin && (twin.alg !== key.alg || !sameMaterial(twin.material, key.material))) {
      problems.push(`two different verification keys share kid "${key.kid}"`);
    }
    byKid.set(key.kid, twin ?? key);
  }
  // No key material at all is a verify-only service for identity providers, which the configuration allowed.
  const anyMaterial = [jwt.secret, jwt.privateKeyPem, jwt.publicKeyPem, jwt.verifyJwks].some((material) => material !== undefined);
  if (byKid.size === 0 && problems.length === 0 && anyMaterial) problems.push('no verification key is configured');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ signing, verification: Object.freeze([...byKid.values()]) });
}

export function sameMaterial(a: Buffer | string, b: Buffer | string): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** The JWK Set for /.well-known/jwks.json: public keys only; empty for HMAC-only setups. */
export function publicJwks(keys: KeySet): { keys: JsonWebKey[] } {
  return { keys: keys.verification.flatMap((key) => (key.publicJwk ? [key.publicJwk] : [])) };
}
