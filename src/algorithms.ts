/**
 * Every fact the service knows about a JWS algorithm, in one table: which key fits it, how small a
 * key may be, and what `keygen` makes for it. Config, key loading and keygen all read it here.
 */

export type AlgorithmFamily = 'HMAC' | 'RSA' | 'RSA-PSS' | 'EC' | 'EdDSA';

/** What `keygen` writes for an algorithm: a random secret, or a key pair of node's kind. */
export type KeygenParameters =
  | { readonly kind: 'secret'; readonly bytes: number }
  | { readonly kind: 'rsa'; readonly modulusLength: number }
  | { readonly kind: 'ec'; readonly namedCurve: string }
  | { readonly kind: 'ed25519' };

export interface AlgorithmFacts {
  readonly family: AlgorithmFamily;
  /** Output size of the hash in bytes; absent for EdDSA, whose curve fixes it. */
  readonly hashBytes: number | undefined;
  /** HMAC only: RFC 7518 §3.2 asks for a key of the hash size or larger. */
  readonly minimumSecretBytes: number | undefined;
  /** EC only: the one curve RFC 7518 §3.4 pairs with the algorithm (OpenSSL's name). */
  readonly curve: string | undefined;
  /** RSA and RSA-PSS only. */
  readonly minimumRsaBits: number | undefined;
  readonly keygen: KeygenParameters;
}

/** NIST SP 800-131A disallows RSA moduli under 2048 bits for signatures. */
const MIN_RSA_BITS = 2048;
/** What keygen makes: 128-bit security (NIST SP 800-57), above the minimum it must accept. */
const KEYGEN_RSA_BITS = 3072;

function hmac(hashBytes: number): AlgorithmFacts {
  // Twice the hash size in random bytes: comfortably above the minimum.
  return {
    family: 'HMAC',
    hashBytes,
    minimumSecretBytes: hashBytes,
    curve: undefined,
    minimumRsaBits: undefined,
    keygen: { kind: 'secret', bytes: hashBytes * 2 },
  };
}

function rsa(family: 'RSA' | 'RSA-PSS', hashBytes: number): AlgorithmFacts {
  return {
    family,
    hashBytes,
    minimumSecretBytes: undefined,
    curve: undefined,
    minimumRsaBits: MIN_RSA_BITS,
    keygen: { kind: 'rsa', modulusLength: KEYGEN_RSA_BITS },
  };
}

function ec(hashBytes: number, curve: string): AlgorithmFacts {
  return { family: 'EC', hashBytes, minimumSecretBytes: undefined, curve, minimumRsaBits: undefined, keygen: { kind: 'ec', namedCurve: curve } };
}

/** The supported algorithms, in the order error messages list them. */
export const ALGORITHM_FACTS = {
  HS256: hmac(32),
  HS384: hmac(48),
  HS512: hmac(64),
  RS256: rsa('RSA', 32),
  RS384: rsa('RSA', 48),
  RS512: rsa('RSA', 64),
  PS256: rsa('RSA-PSS', 32),
  PS384: rsa('RSA-PSS', 48),
  PS512: rsa('RSA-PSS', 64),
  ES256: ec(32, 'prime256v1'),
  ES384: ec(48, 'secp384r1'),
  ES512: ec(64, 'secp521r1'),
  // Ed25519 and Ed448 keys both verify EdDSA; keygen makes Ed25519, which every JOSE library reads.
  EdDSA: { family: 'EdDSA', hashBytes: undefined, minimumSecretBytes: undefined, curve: undefined, minimumRsaBits: undefined, keygen: { kind: 'ed25519' } },
} as const satisfies Readonly<Record<string, AlgorithmFacts>>;

export type Algorithm = keyof typeof ALGORITHM_FACTS;

export const ALGORITHMS = Object.freeze(Object.keys(ALGORITHM_FACTS)) as readonly Algorithm[];

export function isAlgorithm(name: string): name is Algorithm {
  return Object.hasOwn(ALGORITHM_FACTS, name);
}

export function factsOf(alg: Algorithm): AlgorithmFacts {
  return ALGORITHM_FACTS[alg];
}
