/**
 * Fetched keys the test drives by hand: what an identity provider's key set looks like to the
 * verifier and the service (ready or not, usable or not, refreshed for an unknown kid), without a
 * network. The real client (src/jwks/) is tested against a real HTTP key server of its own.
 */
import { replaceableKeySource } from '../src/key-source.js';
import type { KeySet } from '../src/keys.js';
import type { KeysHealth, RemoteKeys, RemoteKeysFactory } from '../src/trust.js';

export interface ControlledKeys extends RemoteKeys {
  usable: boolean;
  /** Delivers keys, as a good fetch would. */
  deliver(keys: KeySet): void;
  /** What the next unknown-kid refresh brings. */
  next: KeySet | undefined;
  /** Refreshes asked for so far. */
  refreshes: number;
  /** While true, refreshForKid allows none (the cooldown). */
  coolingDown: boolean;
  started: boolean;
}

export function controlledKeys(initial?: KeySet): ControlledKeys {
  const source = replaceableKeySource(initial);
  const keys: ControlledKeys = {
    current: () => source.current(),
    get ready() {
      return source.ready;
    },
    onChange: (listener) => source.onChange(listener),
    usable: initial !== undefined,
    next: undefined,
    refreshes: 0,
    coolingDown: false,
    started: false,
    deliver(set) {
      source.replace(set);
      keys.usable = true;
    },
    refreshForKid(kid) {
      if (keys.coolingDown) return undefined;
      keys.refreshes++;
      keys.coolingDown = true;
      return Promise.resolve().then(() => {
        if (keys.next !== undefined) keys.deliver(keys.next);
        return source.current().verification.some((key) => key.kid === kid);
      });
    },
    start: () => void (keys.started = true),
    close: () => undefined,
    health: (): KeysHealth => ({ state: keys.usable ? 'fresh' : 'unavailable', keys: source.current().verification.length }),
  };
  return keys;
}

/** A factory (`make`) whose key sets are made on demand and kept by issuer, for the test to drive. */
export function controlledKeysFactory(): { readonly make: RemoteKeysFactory; readonly byIssuer: Map<string, ControlledKeys> } {
  const byIssuer = new Map<string, ControlledKeys>();
  const make: RemoteKeysFactory = (issuer) => {
    const keys = controlledKeys();
    byIssuer.set(issuer, keys);
    return keys;
  };
  return { make, byIssuer };
}
