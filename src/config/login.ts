/** /login: the body it reads, where the subject comes from, its failure limits, and whom to believe about the client address. */
import { BlockList, isIP } from 'node:net';
import type { TrustedProxies } from '../client-address.js';
import type { EnvReader } from './env-reader.js';

export interface LoginConfig {
  readonly bodyLimitBytes: number;
  readonly subjectFields: readonly string[];
  readonly usernameField: string;
  readonly maxFailuresPerIp: number;
  readonly maxFailuresPerUser: number;
  /** The window failures are counted in, a whole number of seconds. */
  readonly failureWindowMs: number;
  readonly trustedProxies: TrustedProxyList;
}

/** TRUSTED_PROXIES: single addresses or CIDR ranges (compose networks have no fixed address). */
export class TrustedProxyList implements TrustedProxies {
  readonly #list = new BlockList();
  /** The last address asked about and its answer: nearly every request comes from the same nginx. */
  #last: { readonly address: string; readonly trusted: boolean } | undefined;

  /** @param entries checked by parseTrustedProxies; kept so two lists of the same entries compare equal. */
  private constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(address, family);
      else this.#list.addSubnet(address, Number(prefix), family);
    }
  }

  has(address: string): boolean {
    if (this.#last?.address === address) return this.#last.trusted;
    const family = isIP(address);
    const trusted = family !== 0 && this.#list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    this.#last = { address, trusted };
    return trusted;
  }

  /** The list of the entries that are an address or a CIDR range, and the ones that are not. */
  static parse(entries: readonly string[]): { readonly proxies: TrustedProxyList; readonly refused: readonly string[] } {
    const accepted: string[] = [];
    const refused: string[] = [];
    for (const entry of entries) {
      const [address = '', prefix, extra] = entry.split('/');
      const bits = isIP(address) === 6 ? 128 : 32;
      const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= bits);
      (isIP(address) !== 0 && prefixOk && extra === undefined ? accepted : refused).push(entry);
    }
    return { proxies: new TrustedProxyList(accepted), refused };
  }
}

function readTrustedProxies(env: EnvReader): TrustedProxyList {
  const { proxies, refused } = TrustedProxyList.parse(env.list('TRUSTED_PROXIES', '127.0.0.1,::1'));
  for (const entry of refused) env.problem(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range`);
  return proxies;
}

export function readLogin(env: EnvReader): LoginConfig {
  return {
    bodyLimitBytes: env.bytes('LOGIN_BODY_LIMIT', '16kb'),
    subjectFields: env.list('LOGIN_SUBJECT_FIELDS', 'sub,id,username'),
    usernameField: env.string('LOGIN_USERNAME_FIELD') ?? 'username',
    maxFailuresPerIp: env.integer('LOGIN_MAX_FAILURES_PER_IP', 50, 0, 1_000_000),
    maxFailuresPerUser: env.integer('LOGIN_MAX_FAILURES_PER_USER', 10, 0, 1_000_000),
    failureWindowMs: env.wholeSecondsMs('LOGIN_FAILURE_WINDOW', '15m', 1000),
    trustedProxies: readTrustedProxies(env),
  };
}
