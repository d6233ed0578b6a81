/**
 * Identity providers whose tokens /check accepts beside (or instead of) the service's own: one
 * OpenID issuer from OIDC_ISSUER, a JWK Set URL for the service's own issuer (JWT_JWKS_URL), and any
 * number of issuers from ISSUERS_FILE, each with its own keys, audiences, algorithms and claims.
 * How their keys are fetched and cached (JWKS_*) applies to all of them.
 */
import { ALGORITHMS, factsOf, isAlgorithm, type Algorithm } from '../algorithms.js';
import { ClaimPathError, parseClaimPath, type ClaimPath } from '../claim-path.js';
import { issuerUrlProblem } from '../jwks/discovery.js';
import { keySetUrlProblem } from '../jwks/url.js';
import type { EnvReader } from './env-reader.js';
import { parseIdentityMapping, type IdentityHeader } from './identity-headers.js';

/** What `role=` and `scope=` terms read in a token of this issuer. */
export interface IssuerClaims {
  readonly rolesClaim: ClaimPath;
  /** The first one present is read. */
  readonly scopesClaims: readonly ClaimPath[];
}

/** A provider trusted by its `iss`: its tokens are held to its own rules only. */
export interface TrustedIssuerConfig {
  /** The exact `iss` its tokens carry. */
  readonly issuer: string;
  /** Where its keys are; undefined: found by OpenID discovery at `<issuer>/.well-known/openid-configuration`. */
  readonly jwksUri: string | undefined;
  /** Its tokens must name one of these in `aud`: never empty, or any token it issues to any client would pass. */
  readonly audiences: readonly string[];
  readonly algorithms: readonly Algorithm[];
  /** Undefined: the service-wide ROLES_CLAIM / SCOPES_CLAIM. */
  readonly claims: IssuerClaims | undefined;
  /**
   * Which of its claims fill the identity headers (its `identity_headers`, IDENTITY_HEADERS' format,
   * onto IDENTITY_HEADERS' own header names); undefined: IDENTITY_HEADERS.
   */
  readonly identityHeaders: readonly IdentityHeader[] | undefined;
  /** Where it was configured, for messages: OIDC_ISSUER or ISSUERS_FILE[i]. */
  readonly origin: string;
}

export interface JwksFetchConfig {
  /** Bounds for the key server's Cache-Control max-age; the lower one also applies without the header. */
  readonly minCacheMs: number;
  readonly maxCacheMs: number;
  /** How long the last good keys keep serving past their cache lifetime while refreshes fail. */
  readonly maxStaleMs: number;
  /** At most one refetch for an unknown kid per this interval, per issuer. */
  readonly unknownKidCooldownMs: number;
  /** How long /check waits for that refetch before denying token_key_unknown (the fetch goes on). */
  readonly unknownKidWaitMs: number;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Plain http:// to a host that is not loopback; off unless asked for. */
  readonly allowInsecureHttp: boolean;
  /** Extra trusted CA certificates (PEM) for providers with a private CA. */
  readonly caPem: string | undefined;
}

export interface IssuersConfig {
  /** JWT_JWKS_URL: more keys for the service's own issuer (JWT_ISSUER, JWT_AUDIENCE), fetched. */
  readonly ownJwksUri: string | undefined;
  /** The algorithms keys from JWT_JWKS_URL may verify. */
  readonly ownJwksAlgorithms: readonly Algorithm[];
  readonly trusted: readonly TrustedIssuerConfig[];
  readonly jwks: JwksFetchConfig;
}

/** Every asymmetric algorithm: a key server publishes public keys, never a shared secret. */
export const PUBLIC_KEY_ALGORITHMS: readonly Algorithm[] = Object.freeze(ALGORITHMS.filter((alg) => factsOf(alg).family !== 'HMAC'));

/** Whether the environment names any provider besides the service's own keys (then those are optional). */
export function namesRemoteKeys(env: EnvReader): boolean {
  return ['OIDC_ISSUER', 'JWT_JWKS_URL', 'ISSUERS_FILE'].some((name) => env.string(name) !== undefined);
}

/**
 * Why a URL keys are fetched from is refused, if it is: https always; plain http only to loopback (a
 * sidecar, the tests) unless JWKS_ALLOW_HTTP, since anyone on the path could swap the keys. The rules
 * are the key client's own (src/jwks/), so configuration refuses what it would refuse.
 */
function keyUrlProblem(text: string, allowInsecureHttp: boolean, issuer = false): string | undefined {
  const problem = issuer ? issuerUrlProblem(text, allowInsecureHttp) : keySetUrlProblem(text, allowInsecureHttp);
  return problem === undefined ? undefined : `${problem}${problem.includes('plain http') ? ' (JWKS_ALLOW_HTTP=true)' : ''}`;
}

function readAlgorithms(env: EnvReader, where: string, value: unknown): Algorithm[] {
  const names = typeof value === 'string' ? value.split(',').map((name) => name.trim()) : value;
  if (!Array.isArray(names) || names.length === 0 || names.some((name) => typeof name !== 'string')) {
    env.problem(`${where}: expected a list of algorithms from ${PUBLIC_KEY_ALGORITHMS.join(', ')}`);
    return [...PUBLIC_KEY_ALGORITHMS];
  }
  const algorithms: Algorithm[] = [];
  for (const name of names as string[]) {
    if (!isAlgorithm(name)) env.problem(`${where}: "${name}" is not one of ${PUBLIC_KEY_ALGORITHMS.join(', ')}`);
    else if (factsOf(name).family === 'HMAC') env.problem(`${where}: ${name} needs a shared secret, which a key server must never publish`);
    else if (!algorithms.includes(name)) algorithms.push(name);
  }
  return algorithms.length > 0 ? algorithms : [...PUBLIC_KEY_ALGORITHMS];
}

function readClaimPath(env: EnvReader, where: string, text: unknown): ClaimPath | undefined {
  if (typeof text !== 'string') {
    env.problem(`${where}: expected a claim name`);
    return undefined;
  }
  try {
    return parseClaimPath(text);
  } catch (error) {
    if (!(error instanceof ClaimPathError)) throw error;
    env.problem(`${where}: ${error.message}`);
    return undefined;
  }
}

const FILE_FIELDS = ['issuer', 'jwks_uri', 'audiences', 'algorithms', 'roles_claim', 'scopes_claim', 'identity_headers'] as const;

/** One entry of ISSUERS_FILE; undefined when it cannot be used (its problems are recorded). */
function readFileEntry(env: EnvReader, where: string, entry: unknown, allowInsecureHttp: boolean): TrustedIssuerConfig | undefined {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    env.problem(`${where}: expected an object with "issuer" and "audiences"`);
    return undefined;
  }
  const fields = entry as Record<string, unknown>;
  // A misspelt field would otherwise be a rule silently not applied.
  for (const name of Object.keys(fields)) {
    if (!(FILE_FIELDS as readonly string[]).includes(name)) env.problem(`${where}: unknown field "${name}" (known: ${FILE_FIELDS.join(', ')})`);
  }
  const { issuer, jwks_uri: jwksUri, audiences } = fields;
  let usable = true;
  if (typeof issuer !== 'string' || issuer === '') {
    env.problem(`${where}.issuer: expected the exact "iss" of the provider's tokens`);
    usable = false;
  } else if (jwksUri === undefined) {
    const problem = keyUrlProblem(issuer, allowInsecureHttp, true);
    if (problem !== undefined) env.problem(`${where}.issuer: ${problem} (its keys are found by OpenID discovery under it)`);
  }
  if (jwksUri !== undefined) {
    const problem = typeof jwksUri === 'string' ? keyUrlProblem(jwksUri, allowInsecureHttp) : 'expected a URL';
    if (problem !== undefined) {
      env.problem(`${where}.jwks_uri: ${problem}`);
      usable = false;
    }
  }
  const audienceList = typeof audiences === 'string' ? [audiences] : audiences;
  if (!Array.isArray(audienceList) || audienceList.length === 0 || audienceList.some((aud) => typeof aud !== 'string' || aud === '')) {
    env.problem(
      `${where}.audiences: expected the audiences your API's tokens carry (["my-api"]): without them any token the provider issues to any client would pass`,
    );
    usable = false;
  }
  const algorithms = fields.algorithms === undefined ? [...PUBLIC_KEY_ALGORITHMS] : readAlgorithms(env, `${where}.algorithms`, fields.algorithms);
  let claims: IssuerClaims | undefined;
  if (fields.roles_claim !== undefined || fields.scopes_claim !== undefined) {
    const scopes = fields.scopes_claim === undefined ? ['scope', 'scp'] : Array.isArray(fields.scopes_claim) ? fields.scopes_claim : [fields.scopes_claim];
    const rolesClaim = readClaimPath(env, `${where}.roles_claim`, fields.roles_claim ?? 'roles');
    const scopesClaims = scopes.map((text: unknown) => readClaimPath(env, `${where}.scopes_claim`, text));
    if (rolesClaim === undefined || scopesClaims.includes(undefined) || scopesClaims.length === 0) usable = false;
    else claims = { rolesClaim, scopesClaims: scopesClaims as ClaimPath[] };
  }
  let identityHeaders: IdentityHeader[] | undefined;
  if (fields.identity_headers !== undefined) {
    if (typeof fields.identity_headers !== 'string' || fields.identity_headers.trim() === '') {
      env.problem(`${where}.identity_headers: expected "claim:Header-Name" pairs, comma-separated, as in IDENTITY_HEADERS`);
      usable = false;
    } else identityHeaders = parseIdentityMapping(env, `${where}.identity_headers`, fields.identity_headers);
  }
  if (!usable) return undefined;
  return {
    issuer: issuer as string,
    jwksUri: jwksUri as string | undefined,
    audiences: audienceList as string[],
    algorithms,
    claims,
    identityHeaders,
    origin: where,
  };
}

function readIssuersFile(env: EnvReader, allowInsecureHttp: boolean): TrustedIssuerConfig[] {
  const text = env.file('ISSUERS_FILE');
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    env.problem('ISSUERS_FILE: not valid JSON');
    return [];
  }
  const entries = Array.isArray(parsed) ? parsed : (parsed as { issuers?: unknown } | null)?.issuers;
  if (!Array.isArray(entries)) {
    env.problem('ISSUERS_FILE: expected {"issuers": [{"issuer": ..., "audiences": [...]}, ...]}');
    return [];
  }
  return entries.flatMap((entry, index) => readFileEntry(env, `ISSUERS_FILE[${index}]`, entry, allowInsecureHttp) ?? []);
}

function readOidcIssuer(env: EnvReader, allowInsecureHttp: boolean, algorithms: Algorithm[]): TrustedIssuerConfig | undefined {
  const issuer = env.string('OIDC_ISSUER');
  const audiences = env.list('OIDC_AUDIENCE', '');
  if (issuer === undefined) {
    if (audiences.length > 0) env.problem('OIDC_AUDIENCE is set without OIDC_ISSUER');
    return undefined;
  }
  const problem = keyUrlProblem(issuer, allowInsecureHttp, true);
  if (problem !== undefined) env.problem(`OIDC_ISSUER: ${problem}`);
  if (audiences.length === 0) {
    env.problem(
      "OIDC_AUDIENCE is required with OIDC_ISSUER: the audience your API's tokens carry (Keycloak: the client id or a mapped audience; Auth0: the API identifier; Entra ID: api://<app id> or the app id); without it any token the provider issues to any client would pass",
    );
  }
  return { issuer, jwksUri: undefined, audiences, algorithms, claims: undefined, identityHeaders: undefined, origin: 'OIDC_ISSUER' };
}

/** The auth location's proxy_read_timeout in the shipped snippet: past it nginx answers 500 itself. */
const NGINX_AUTH_READ_TIMEOUT_MS = 5000;

function readUnknownKidWait(env: EnvReader): number {
  const waitMs = env.durationMs('JWKS_UNKNOWN_KID_WAIT', '2s');
  if (waitMs >= NGINX_AUTH_READ_TIMEOUT_MS)
    env.problem(`JWKS_UNKNOWN_KID_WAIT must be shorter than the auth location's proxy_read_timeout (5s in jwt-auth-location.conf), got ${waitMs} ms`);
  return waitMs;
}

function readJwksFetch(env: EnvReader): JwksFetchConfig {
  const minCacheMs = env.durationMs('JWKS_CACHE_MIN', '5m', 1000);
  const maxCacheMs = env.durationMs('JWKS_CACHE_MAX', '24h', 1000);
  if (maxCacheMs < minCacheMs) env.problem('JWKS_CACHE_MAX must not be shorter than JWKS_CACHE_MIN');
  return {
    minCacheMs,
    maxCacheMs,
    maxStaleMs: env.durationMs('JWKS_MAX_STALE', '6h'),
    unknownKidCooldownMs: env.durationMs('JWKS_UNKNOWN_KID_COOLDOWN', '30s', 100),
    unknownKidWaitMs: readUnknownKidWait(env),
    timeoutMs: env.durationMs('JWKS_TIMEOUT', '5s', 100),
    maxBytes: env.bytes('JWKS_MAX_BYTES', '512kb'),
    allowInsecureHttp: env.boolean('JWKS_ALLOW_HTTP', false),
    caPem: env.file('JWKS_CA_FILE'),
  };
}

export function readIssuers(env: EnvReader): IssuersConfig {
  const jwks = readJwksFetch(env);
  const algorithmsText = env.string('JWKS_ALGORITHMS');
  const algorithms = algorithmsText === undefined ? [...PUBLIC_KEY_ALGORITHMS] : readAlgorithms(env, 'JWKS_ALGORITHMS', algorithmsText);
  const ownJwksUri = env.string('JWT_JWKS_URL');
  if (ownJwksUri !== undefined) {
    const problem = keyUrlProblem(ownJwksUri, jwks.allowInsecureHttp);
    if (problem !== undefined) env.problem(`JWT_JWKS_URL: ${problem}`);
  }
  const oidc = readOidcIssuer(env, jwks.allowInsecureHttp, algorithms);
  const trusted = [...(oidc === undefined ? [] : [oidc]), ...readIssuersFile(env, jwks.allowInsecureHttp)];
  // One issuer, one set of rules: a second entry for it would make which rules apply a matter of order.
  const seen = new Map<string, string>();
  for (const entry of trusted) {
    const earlier = seen.get(entry.issuer);
    if (earlier !== undefined) env.problem(`${entry.origin}: issuer "${entry.issuer}" is already configured by ${earlier}`);
    seen.set(entry.issuer, entry.origin);
  }
  const ownIssuer = env.string('JWT_ISSUER');
  if (ownIssuer !== undefined && seen.has(ownIssuer)) {
    env.problem(`JWT_ISSUER: "${ownIssuer}" is also configured by ${seen.get(ownIssuer)}: the service's own tokens need an issuer of their own`);
  }
  return { ownJwksUri, ownJwksAlgorithms: algorithms, trusted, jwks };
}
