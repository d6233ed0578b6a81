/**
 * Where the verifier, /.well-known/jwks.json and /readyz get the keys. A source holds one immutable
 * snapshot at a time and replaces it whole, so a reader takes one reference per request, never waits,
 * and sees either the old keys or the new ones, never a mix of both.
 *
 * Today's only source is the configuration, read once at start. A source that reloads files or
 * fetches a remote JWK Set owns a replaceable source, builds a KeySet off the request path (async,
 * validated like loadKeys) and calls replace(): nothing that reads keys changes.
 */
import type { Config } from './config/index.js';
import { loadKeys, publicJwks, type KeySet } from './keys.js';

/** One generation of keys: the signing key, the verification keys and the document that publishes them. */
export interface KeySnapshot extends KeySet {
  /** The body of /.well-known/jwks.json: public keys only, built once per snapshot. */
  readonly jwks: ReturnType<typeof publicJwks>;
}

export interface KeySource {
  /** The keys to use now: the same object until the source replaces it, so it is cheap per request. */
  current(): KeySnapshot;
  /** Whether the source holds the keys it is meant to (one that fetches them is not before it has). */
  readonly ready: boolean;
  /**
   * Calls `listener` with each new snapshot right after it becomes current, so readers can build
   * what they derive from it off the request path; returns the way to stop. Absent when keys never change.
   */
  onChange?(listener: (snapshot: KeySnapshot) => void): () => void;
}

/** A source its owner replaces the keys of: what a reloading or remote source is built on. */
export interface ReplaceableKeySource extends KeySource {
  replace(keys: KeySet): void;
  onChange(listener: (snapshot: KeySnapshot) => void): () => void;
}

export function keySnapshot(keys: KeySet): KeySnapshot {
  return Object.freeze({ signing: keys.signing, verification: keys.verification, jwks: Object.freeze(publicJwks(keys)) });
}

const NO_KEYS: KeySnapshot = keySnapshot({ signing: undefined, verification: [] });

/** Keys that never change. */
export function staticKeySource(keys: KeySet): KeySource {
  const snapshot = keySnapshot(keys);
  return { current: () => snapshot, ready: true };
}

/** The keys of the configuration (secret, PEM files, JWK Set file), read once. @throws ConfigError */
export function keySourceFromConfig(jwt: Config['jwt']): KeySource {
  return staticKeySource(loadKeys(jwt));
}

/**
 * A source that starts with `initial`, or with no keys and not ready until the first replace().
 * Listeners run inside replace(), so when it returns every reader has prepared for the new keys.
 */
export function replaceableKeySource(initial?: KeySet): ReplaceableKeySource {
  let snapshot = initial === undefined ? NO_KEYS : keySnapshot(initial);
  let ready = initial !== undefined;
  const listeners = new Set<(snapshot: KeySnapshot) => void>();
  return {
    current: () => snapshot,
    get ready() {
      return ready;
    },
    replace(keys) {
      snapshot = keySnapshot(keys);
      ready = true;
      for (const listener of listeners) listener(snapshot);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
