/**
 * The issuers the service trusts, built once from the configuration: its own (its key files, plus
 * JWT_JWKS_URL), OIDC_ISSUER and every ISSUERS_FILE entry, each over its key sources. Fetched keys
 * come from a RemoteKeysFactory (src/jwks/), so nothing here touches the network; readiness and
 * health are the sources' own, summed up.
 */
import type { Algorithm } from './algorithms.js';
import type { Config } from './config/index.js';
import type { KeySource } from './key-source.js';
import { LOCAL_ISSUER_LABEL, type IssuerKeySource, type TrustedIssuer } from './trusted-issuer.js';
import { ownIssuer, type Trust } from './token/verify.js';

/** How one issuer's keys are doing, for /readyz and check-config --online. */
export interface KeysHealth {
  readonly state: 'fresh' | 'stale' | 'unavailable';
  readonly keys: number;
  /** Since the last good fetch; absent for keys that are not fetched, or not yet. */
  readonly ageMs?: number;
  /** Why the last fetch failed, when it did: never a token, at most a URL and a reason. */
  readonly lastError?: string;
}

/** A fetched key set: it starts fetching when asked and stops when closed. */
export interface RemoteKeys extends IssuerKeySource {
  start(): void;
  close(): void;
  health(): KeysHealth;
}

/**
 * Makes the fetched keys for tokens of `issuer` (also their label in logs and metrics): from the JWK
 * Set at `url`, or, without one, from the jwks_uri of the issuer's OpenID discovery document.
 */
export type RemoteKeysFactory = (issuer: string, url: string | undefined, algorithms: readonly Algorithm[]) => RemoteKeys;

export interface IssuerHealth extends KeysHealth {
  readonly issuer: string;
}

export interface TrustRuntime extends Trust {
  /** Every issuer has keys it may use: until then /readyz answers 503. */
  readonly ready: boolean;
  health(): IssuerHealth[];
  start(): void;
  close(): void;
}

function isRemote(source: IssuerKeySource): source is RemoteKeys {
  return 'health' in source && 'start' in source;
}

/** A source the service holds (its key files): fresh while it has keys. */
function localHealth(source: KeySource): KeysHealth {
  const keys = source.current().verification.length;
  return { state: keys > 0 ? 'fresh' : 'unavailable', keys };
}

/** The issuer's state is its best source's: local keys keep it fresh even while its JWKS URL fails. */
function issuerHealth(issuer: TrustedIssuer): IssuerHealth {
  const states = issuer.sources.map((source) => (isRemote(source) ? source.health() : localHealth(source)));
  const rank = { fresh: 0, stale: 1, unavailable: 2 } as const;
  const best = states.reduce((a, b) => (rank[b.state] < rank[a.state] ? b : a));
  return { issuer: issuer.label, ...best, keys: states.reduce((sum, state) => sum + state.keys, 0) };
}

/**
 * @param localKeys the service's own keys (its key files); an issuer only when it holds keys or
 *   JWT_JWKS_URL adds some.
 * @param remote how fetched keys are made; required when the configuration names any.
 */
export function createTrust(config: Pick<Config, 'jwt' | 'issuers'>, localKeys: KeySource, remote: RemoteKeysFactory | undefined): TrustRuntime {
  const { issuers: settings } = config;
  const needsRemote = settings.ownJwksUri !== undefined || settings.trusted.length > 0;
  if (needsRemote && remote === undefined) throw new Error('identity providers are configured but no way to fetch their keys was given');
  const fetched: RemoteKeys[] = [];
  const track = (keys: RemoteKeys): RemoteKeys => (fetched.push(keys), keys);

  const ownSources: IssuerKeySource[] = [];
  // A source still waiting for its first keys counts as keys to come (a test's, or a future loader's).
  if (localKeys.current().verification.length > 0 || !localKeys.ready) ownSources.push(localKeys);
  if (settings.ownJwksUri !== undefined && remote !== undefined) {
    ownSources.push(track(remote(config.jwt.issuer ?? LOCAL_ISSUER_LABEL, settings.ownJwksUri, settings.ownJwksAlgorithms)));
  }
  const own = ownSources.length > 0 ? ownIssuer(config.jwt, ownSources) : undefined;

  const issuers: TrustedIssuer[] = settings.trusted.map((entry) => ({
    iss: entry.issuer,
    label: entry.issuer,
    audiences: entry.audiences,
    claims: entry.claims,
    identityHeaders: entry.identityHeaders,
    sources: [track((remote as RemoteKeysFactory)(entry.issuer, entry.jwksUri, entry.algorithms))],
  }));
  const all = own === undefined ? issuers : [own, ...issuers];

  return {
    issuers,
    own,
    get ready() {
      // An issuer is ready once one of its sources has had keys: local keys beside a JWKS URL serve
      // at once. A provider whose keys went stale past their bound later does not make the service
      // unready: every instance would be in the same state, and taking them all out of the load
      // balancer would refuse every other issuer's tokens too. Its own tokens are denied
      // (issuer_keys_unavailable) and /readyz's detail says so.
      return all.every((issuer) => issuer.sources.some((source) => source.ready));
    },
    health: () => all.map(issuerHealth),
    start: () => fetched.forEach((keys) => keys.start()),
    close: () => fetched.forEach((keys) => keys.close()),
  };
}
