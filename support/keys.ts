/**
 * Key material for tests, generated with node:crypto: PEM files in a temp dir for the service to load,
 * and KeyObjects for tests that sign tokens themselves.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Algorithm } from '../src/algorithms.js';

export type AsymmetricAlgorithm = Exclude<Algorithm, 'HS256' | 'HS384' | 'HS512'>;
export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';

/** Every algorithm the service supports (JWT_ALGORITHM), in the order tests list them. */
export const SUPPORTED_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'ES256',
  'ES384',
  'EdDSA',
] as const satisfies readonly Algorithm[];

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly privatePem: string;
  readonly publicPem: string;
}

export function isHmac(alg: Algorithm): alg is HmacAlgorithm {
  return alg.startsWith('HS');
}

/** A fresh key pair of the kind `alg` needs; RSA at 2048 bits (the minimum the service accepts). */
export function generatePair(alg: AsymmetricAlgorithm, rsaBits = 2048): KeyPair {
  const pair =
    alg.startsWith('RS') || alg.startsWith('PS')
      ? generateKeyPairSync('rsa', { modulusLength: rsaBits })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[alg as 'ES256' | 'ES384' | 'ES512'] });
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const cachedPairs = new Map<AsymmetricAlgorithm, KeyPair>();

/** One key pair per algorithm per test process: RSA generation is slow enough to share. */
export function pairFor(alg: AsymmetricAlgorithm): KeyPair {
  let pair = cachedPairs.get(alg);
  if (pair === undefined) {
    pair = generatePair(alg);
    cachedPairs.set(alg, pair);
  }
  return pair;
}

/** A random HMAC secret of exactly the hash size (the minimum accepted), as a printable string. */
export function hmacSecret(alg: HmacAlgorithm = 'HS256'): string {
  const bytes = Number(alg.slice(2)) / 8;
  return randomBytes(bytes).toString('base64url').slice(0, bytes);
}

/** A temp dir for key files, removed by `remove()` (call it in an after hook). */
export class KeyFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'jwt-auth-test-'));
  private readonly secrets = new Map<HmacAlgorithm, string>();

  write(name: string, content: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  }

  /** The HMAC secret this instance uses for `alg` (stable across calls). */
  secret(alg: HmacAlgorithm): string {
    let secret = this.secrets.get(alg);
    if (secret === undefined) {
      secret = hmacSecret(alg);
      this.secrets.set(alg, secret);
    }
    return secret;
  }

  /** Environment for a signing service using `alg`: a secret, or a private key file. */
  env(alg: Algorithm, pair?: KeyPair): Record<string, string> {
    if (isHmac(alg)) return { JWT_ALGORITHM: alg, JWT_SECRET: this.secret(alg) };
    const keys = pair ?? pairFor(alg);
    return { JWT_ALGORITHM: alg, JWT_PRIVATE_KEY_FILE: this.write(`${alg}-${randomBytes(4).toString('hex')}-private.pem`, keys.privatePem) };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A self-signed Ed25519 certificate (`openssl req -x509 -newkey ed25519 -subj /CN=t`) as base64 DER,
 * of a throwaway key: tests only parse it, as operators paste certificates where keys belong.
 */
export const CERTIFICATE_DER_BASE64 =
  'MIIBLDCB36ADAgECAhRkWsb2mZbY2zBCTc9sUWksJg5beTAFBgMrZXAwDDEKMAgGA1UEAwwBdDAeFw0yNjEyMDExOTU4MTRaFw0yNjEyMDIxOTU4MTRaMAwxCjAIBgNVBAMMAXQwKjAFBgMr' +
  'ZXADIQD9vyxHrEtgUYKjskUQOWnJNUv50zCTbMwEXY2lMv99+aNTMFEwHQYDVR0OBBYEFAoPefL7cxUNp3TcsUG1EZSKOJsSMB8GA1UdIwQYMBaAFAoPefL7cxUNp3TcsUG1EZSKOJsSMA' +
  '8GA1UdEwEB/wQFMAMBAf8wBQYDK2VwA0EAbmXy7XyyxmB3UJjIcl0XrHEBOSRKj9s7EjqoCQtLWIFfTlqMjIXagfS0bTOMRTYhoD7L78ZEOc2TtzHV2iqkAg==';

/** The same certificate as PEM (RFC 7468: base64 in lines of 64). */
export const CERTIFICATE_PEM = `-----BEGIN CERTIFICATE-----\n${CERTIFICATE_DER_BASE64.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;

/** The PEM body alone: base64 DER with line breaks, as some tools print a key. */
export function pemBody(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, '').trim();
}

/** An Ed25519 public key as an OpenSSH authorized_keys line (RFC 8709 §4: string name, string key). */
export function opensshPublicLine(publicKey: KeyObject, comment = 'alice@laptop'): string {
  const name = Buffer.from('ssh-ed25519');
  const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url');
  const length = (bytes: Buffer): Buffer => Buffer.from([0, 0, 0, bytes.length]);
  return `ssh-ed25519 ${Buffer.concat([length(name), name, length(raw), raw]).toString('base64')} ${comment}`;
}
