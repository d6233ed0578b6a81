/**
 * Who the verifier trusts: issuers, each with its own key sources and rules. A token's `iss` picks
 * one issuer, and only that issuer's keys, audiences and claim mapping apply to it, so a token signed
 * by issuer A's key but claiming issuer B is verified with B's keys, and fails.
 */
import type { IdentityHeader } from './config/identity-headers.js';
import type { Config } from './config/index.js';
import type { KeySource } from './key-source.js';
import type { PolicyClaims } from './policy.js';

/** One source of an issuer's keys: a fixed or reloaded key set, or a fetched JWK Set. */
export interface IssuerKeySource extends KeySource {
  /**
   * False while the keys must not be used: a fetched set that has never arrived, or is older than
   * its cache lifetime plus the staleness bound. Absent: always usable.
   */
  readonly usable?: boolean;
  /**
   * The unknown-kid path of a fetched set: a promise that settles (never rejects) when one refetch
   * ends, or undefined when none may happen now (one is allowed per cooldown).
   */
  refreshForKid?(kid: string): Promise<boolean> | undefined;
}

export interface TrustedIssuer {
  /**
   * The exact `iss` its tokens carry. Undefined only for the service's own issuer without
   * JWT_ISSUER, which takes tokens with any `iss` that no other trusted issuer claims, or none.
   */
  readonly iss: string | undefined;
  /** How logs and metrics name it: its iss, or "local". */
  readonly label: string;
  /** Its tokens must carry one of these in `aud`; empty: aud is not checked. */
  readonly audiences: readonly string[];
  /** What role= and scope= read; undefined: the service-wide ROLES_CLAIM / SCOPES_CLAIM. */
  readonly claims: PolicyClaims | undefined;
  /** Which claims fill the identity headers; undefined: IDENTITY_HEADERS. */
  readonly identityHeaders?: readonly IdentityHeader[] | undefined;
  readonly sources: readonly IssuerKeySource[];
}

/** How the service's own issuer is named where it has no iss. */
export const LOCAL_ISSUER_LABEL = 'local';

/**
 * Whether the service's own keys, beside identity providers, take tokens with any iss no provider
 * claims (issuerSelector's rule when JWT_ISSUER is unset): what check-config and serve warn about
 * with OWN_ISSUER_UNNAMED.
 */
export function ownIssuerTakesAnyIss(config: Pick<Config, 'jwt' | 'issuers'>, hasOwnKeys: boolean): boolean {
  return hasOwnKeys && config.jwt.issuer === undefined && config.issuers.trusted.length > 0;
}

export const OWN_ISSUER_UNNAMED =
  "JWT_ISSUER is unset, so the service's own keys verify tokens that carry any iss no provider claims; set JWT_ISSUER to your own tokens' iss";

/** The issuer a token's `iss` selects, or undefined when none will take it. */
export type IssuerSelector = (iss: string | undefined) => TrustedIssuer | undefined;

/**
 * Named issuers by exact iss. Any other iss goes to the service's own issuer only when that has no
 * iss of its own; a token without iss goes to the service's own issuer, whose rules then say whether
 * an iss was required (token_claims_invalid), so the answer does not change with who else is trusted.
 * `own` is the service's own issuer (its keys, JWT_ISSUER), when it has keys.
 */
export function issuerSelector(issuers: readonly TrustedIssuer[], own: TrustedIssuer | undefined): IssuerSelector {
  const byIss = new Map<string, TrustedIssuer>();
  for (const issuer of own === undefined ? issuers : [own, ...issuers]) if (issuer.iss !== undefined) byIss.set(issuer.iss, issuer);
  const anyIss = own !== undefined && own.iss === undefined ? own : undefined;
  return (iss) => (iss === undefined ? own : (byIss.get(iss) ?? anyIss));
}
