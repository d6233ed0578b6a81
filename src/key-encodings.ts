/**
 * Recognises encoded keys and certificates, so that one put in the wrong place is refused at start
 * with a sentence an operator can act on instead of being used as it is: a public key read as an
 * HMAC secret lets everyone who has it (it is public) sign HS* tokens that verify.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';

/** RFC 7468 armor; also what OpenSSH private keys and most tools write. */
const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/;
/** A PEM private key in any form, encrypted and OpenSSH ones included. */
const PEM_PRIVATE = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** Legacy OpenSSL encryption keeps the "RSA PRIVATE KEY" label and adds this header (RFC 1421). */
const PEM_LEGACY_ENCRYPTED = /^Proc-Type: *4, *ENCRYPTED/m;
/** RFC 4716 public key file, as `ssh-keygen -e` writes it. */
const SSH2_PUBLIC = /---- BEGIN SSH2 PUBLIC KEY ----/;
/** An authorized_keys / id_*.pub line: key type, then base64 that starts with the length of that type name. */
const OPENSSH_PUBLIC = /^\s*(?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+\s+AAAA[A-Za-z0-9+/]/;
/** Base64 of a DER SEQUENCE (tag 0x30 encodes as "M"), once whitespace is removed. */
const BASE64_DER = /^M[A-Za-z0-9+/]+={0,2}$/;

export type KeyEncoding = 'pem' | 'ssh2-public' | 'openssh-public' | 'jwk' | 'jwk-set' | 'der-public-key' | 'der-certificate';

/** Each encoding as a message names it. */
export const KEY_ENCODING_NAMES: Readonly<Record<KeyEncoding, string>> = {
  pem: 'PEM text (a key or certificate)',
  'ssh2-public': 'an SSH2 public key (RFC 4716)',
  'openssh-public': 'an OpenSSH public key',
  jwk: 'a JWK',
  'jwk-set': 'a JWK Set',
  'der-public-key': 'a base64 DER public key',
  'der-certificate': 'a base64 DER certificate',
};

/** The label of the first PEM block in `text`, such as "PUBLIC KEY". */
export function pemLabel(text: string): string | undefined {
  return PEM_BEGIN.exec(text)?.[1];
}

/** Whether `text` has a PEM private key block anywhere, in any form. */
export function holdsPemPrivateKey(text: string): boolean {
  return PEM_PRIVATE.test(text);
}

/** Whether `text` is a passphrase-protected PEM private key (PKCS#8 or legacy OpenSSL). */
export function isEncryptedPem(text: string): boolean {
  return pemLabel(text) === 'ENCRYPTED PRIVATE KEY' || PEM_LEGACY_ENCRYPTED.test(text);
}

function jsonKeyEncoding(text: string): KeyEncoding | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  if (Object.hasOwn(parsed, 'keys')) return 'jwk-set';
  if (Object.hasOwn(parsed, 'kty')) return 'jwk';
  return undefined;
}

/** Only what node parses as a DER public key or certificate counts: a random secret never does. */
function base64DerEncoding(text: string): KeyEncoding | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 40 || !BASE64_DER.test(compact)) return undefined;
  const der = Buffer.from(compact, 'base64');
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      createPublicKey({ key: der, format: 'der', type });
      return 'der-public-key';
    } catch {
      // Not this structure: try the next.
    }
  }
  try {
    new X509Certificate(der);
    return 'der-certificate';
  } catch {
    return undefined;
  }
}

/**
 * Which encoded key or certificate `text` is, or undefined when it is none of them (a random secret).
 * Base64 DER private keys are not looked for: they are no public knowledge, so no forgery risk.
 */
export function keyEncodingOf(text: string): KeyEncoding | undefined {
  if (PEM_BEGIN.test(text)) return 'pem';
  if (SSH2_PUBLIC.test(text)) return 'ssh2-public';
  if (OPENSSH_PUBLIC.test(text)) return 'openssh-public';
  return jsonKeyEncoding(text) ?? base64DerEncoding(text);
}

/** How a message names the encoding of `text`, or undefined for a random secret. */
export function keyEncodingName(text: string): string | undefined {
  const encoding = keyEncodingOf(text);
  return encoding === undefined ? undefined : KEY_ENCODING_NAMES[encoding];
}
