/**
 * Per-location policy, written in nginx: `role=admin,editor;scope=read,write;claim.dept=eng` in an
 * `X-Auth-Require` header and/or the same keys as query arguments on the auth URI. Terms are ANDed;
 * `role` is any-of, `scope` is all-of, `claim.PATH` is an exact match, PATH in the claim path
 * syntax of src/claim-path.ts (`claim.realm_access.roles=admin`, `claim.["https://example.org/tenant"]=acme`).
 */
import { ClaimPathError, parseClaimPath, type ClaimPath } from './claim-path.js';
import { AppError } from './errors.js';
import type { Claims } from './token/verify.js';

export type PolicyTerm =
  | { readonly kind: 'role'; readonly anyOf: readonly string[] }
  | { readonly kind: 'scope'; readonly allOf: readonly string[] }
  | { readonly kind: 'claim'; readonly claim: ClaimPath; readonly value: string };

export type Policy = readonly PolicyTerm[];

/** Which claims `role=` and `scope=` read (ROLES_CLAIM, SCOPES_CLAIM). */
export interface PolicyClaims {
  readonly rolesClaim: ClaimPath;
  /** The first one present is read. */
  readonly scopesClaims: readonly ClaimPath[];
}

export const DEFAULT_POLICY_CLAIMS: PolicyClaims = Object.freeze({
  rolesClaim: parseClaimPath('roles'),
  scopesClaims: Object.freeze([parseClaimPath('scope'), parseClaimPath('scp')]),
});

function parseTerm(key: string, rawValue: string): PolicyTerm {
  const values = rawValue.split(/[\s,]+/).filter((value) => value !== '');
  if (values.length === 0) throw new AppError('policy_invalid', `empty value for ${key}`);
  if (key === 'role') return { kind: 'role', anyOf: values };
  if (key === 'scope') return { kind: 'scope', allOf: values };
  if (key.startsWith('claim.')) {
    try {
      return { kind: 'claim', claim: parseClaimPath(key.slice('claim.'.length)), value: rawValue.trim() };
    } catch (error) {
      if (!(error instanceof ClaimPathError)) throw error;
      throw new AppError('policy_invalid', error.message, { cause: error });
    }
  }
  throw new AppError('policy_invalid', `unknown policy key ${key}`);
}

/**
 * The header form's terms as [key, value] pairs. A quoted claim name may hold `=` or `;`, so the
 * key ends at the first `=` outside quotes; the value, as ever, at the next `;`.
 */
function headerTerms(header: string): Array<[key: string, value: string]> {
  const terms: Array<[string, string]> = [];
  let i = 0;
  while (i < header.length) {
    const start = i;
    let equals = -1;
    while (i < header.length && equals < 0) {
      const char = header.charCodeAt(i);
      if (char === 0x3b /* ; */) break;
      if (char === 0x3d /* = */) equals = i;
      else if (char === 0x22 /* " */) {
        i++;
        while (i < header.length && header.charCodeAt(i) !== 0x22) i += header.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      }
      i++;
    }
    if (equals < 0) {
      if (header.slice(start, i).trim() !== '') throw new AppError('policy_invalid', 'term without =');
      i++;
      continue;
    }
    const end = header.indexOf(';', i);
    const valueEnd = end < 0 ? header.length : end;
    terms.push([header.slice(start, equals).trim(), header.slice(equals + 1, valueEnd)]);
    i = valueEnd + 1;
  }
  return terms;
}

/**
 * Parses the header form (`;`-separated terms) and the query form (`&`-separated, URL-encoded).
 * An empty requirement is the empty policy: any valid token passes.
 * @throws AppError policy_invalid for anything it does not understand: a policy typo must deny.
 */
export function parsePolicy(header: string, query: string): Policy {
  const terms: PolicyTerm[] = [];
  for (const [key, value] of headerTerms(header)) terms.push(parseTerm(key, value));
  if (query !== '') {
    let params: URLSearchParams;
    try {
      params = new URLSearchParams(query);
    } catch (error) {
      throw new AppError('policy_invalid', 'bad query string', { cause: error });
    }
    for (const [key, value] of params) terms.push(parseTerm(key, value));
  }
  return terms;
}

/** A claim holding a list: a JSON array, or a space- or comma-separated string. */
function claimList(value: unknown): readonly string[] {
  if (Array.isArray(value)) return value.filter((item) => typeof item === 'string' || typeof item === 'number').map(String);
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((item) => item !== '');
  return [];
}

function claimMatches(value: unknown, expected: string): boolean {
  if (Array.isArray(value)) return value.some((item) => claimMatches(item, expected));
  return (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') && String(value) === expected;
}

/** The value of the first of `paths` the claims hold (null counts as absent). */
function firstPresent(paths: readonly ClaimPath[], claims: Claims): unknown {
  for (let i = 0; i < paths.length; i++) {
    const value = (paths[i] as ClaimPath).read(claims);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

/** True when the claims satisfy every term of the policy. */
export function checkPolicy(policy: Policy, claims: Claims, from: PolicyClaims = DEFAULT_POLICY_CLAIMS): boolean {
  for (const term of policy) {
    if (term.kind === 'role') {
      const roles = claimList(from.rolesClaim.read(claims));
      if (!term.anyOf.some((role) => roles.includes(role))) return false;
    } else if (term.kind === 'scope') {
      const scopes = claimList(firstPresent(from.scopesClaims, claims));
      if (!term.allOf.every((scope) => scopes.includes(scope))) return false;
    } else if (!claimMatches(term.claim.read(claims), term.value)) {
      return false;
    }
  }
  return true;
}

/**
 * Memoises parsed policies. The inputs come from nginx configuration, so there are only a few
 * distinct ones; the bound only guards against a misconfiguration that forwards client input.
 */
export function createPolicyCache(limit = 1000): (header: string, query: string) => Policy {
  const cache = new Map<string, Policy | AppError>();
  const none: Policy = Object.freeze([]);
  return (header, query) => {
    // Most protected locations have no requirement: no key to build for them.
    if (header === '' && query === '') return none;
    const key = `${header}\n${query}`;
    let entry = cache.get(key);
    if (entry === undefined) {
      try {
        entry = parsePolicy(header, query);
      } catch (error) {
        entry = error instanceof AppError ? error : new AppError('policy_invalid', 'unparseable', { cause: error });
      }
      if (cache.size >= limit) cache.clear();
      cache.set(key, entry);
    }
    if (entry instanceof AppError) throw entry;
    return entry;
  };
}
