/**
 * Per-location policy, written in nginx: `role=admin,editor;scope=read,write;claim.dept=eng` in an
 * `X-Auth-Require` header and/or the same keys as query arguments on the auth URI. Terms are ANDed;
 * `role` is any-of, `scope` is all-of, `claim.NAME` is an exact match.
 */
import { AppError } from './errors.js';
import type { Claims } from './token/verify.js';

export type PolicyTerm =
  | { readonly kind: 'role'; readonly anyOf: readonly string[] }
  | { readonly kind: 'scope'; readonly allOf: readonly string[] }
  | { readonly kind: 'claim'; readonly name: string; readonly value: string };

export type Policy = readonly PolicyTerm[];

// Namespaced claims (https://example.org/roles) are common in OIDC providers, hence : / and .
const CLAIM_NAME = /^[A-Za-z0-9_:./-]+$/;

function parseTerm(key: string, rawValue: string): PolicyTerm {
  const values = rawValue.split(/[\s,]+/).filter((value) => value !== '');
  if (values.length === 0) throw new AppError('policy_invalid', `empty value for ${key}`);
  if (key === 'role') return { kind: 'role', anyOf: values };
  if (key === 'scope') return { kind: 'scope', allOf: values };
  if (key.startsWith('claim.')) {
    const name = key.slice('claim.'.length);
    if (!CLAIM_NAME.test(name)) throw new AppError('policy_invalid', `bad claim name in ${key}`);
    return { kind: 'claim', name, value: rawValue.trim() };
  }
  throw new AppError('policy_invalid', `unknown policy key ${key}`);
}

/**
 * Parses the header form (`;`-separated terms) and the query form (`&`-separated, URL-encoded).
 * An empty requirement is the empty policy: any valid token passes.
 * @throws AppError policy_invalid for anything it does not understand: a policy typo must deny.
 */
export function parsePolicy(header: string, query: string): Policy {
  const terms: PolicyTerm[] = [];
  for (const part of header.split(';')) {
    if (part.trim() === '') continue;
    const equals = part.indexOf('=');
    if (equals < 0) throw new AppError('policy_invalid', 'term without =');
    terms.push(parseTerm(part.slice(0, equals).trim(), part.slice(equals + 1)));
  }
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

/** True when the claims satisfy every term of the policy. */
export function checkPolicy(policy: Policy, claims: Claims): boolean {
  for (const term of policy) {
    if (term.kind === 'role') {
      const roles = claimList(claims.roles);
      if (!term.anyOf.some((role) => roles.includes(role))) return false;
    } else if (term.kind === 'scope') {
      // RFC 8693 `scope` is a space-separated string; some issuers (Azure, Okta) use `scp`, sometimes an array.
      const scopes = claimList(claims.scope ?? claims.scp);
      if (!term.allOf.every((scope) => scopes.includes(scope))) return false;
    } else if (!Object.hasOwn(claims, term.name) || !claimMatches(claims[term.name], term.value)) {
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
