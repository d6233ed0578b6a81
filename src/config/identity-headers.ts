/** Which token claims /check passes to nginx as headers, and how large they may be. */
import { ClaimPath, ClaimPathError, parseClaimPath, splitOutsideQuotes } from '../claim-path.js';
import { TOKEN, type EnvReader } from './env-reader.js';

export interface IdentityHeader {
  /** The claim, flat or nested, in the claim path syntax (src/claim-path.ts). */
  readonly claim: ClaimPath;
  /** Header name as sent to nginx, lower case. */
  readonly header: string;
}

export interface IdentityHeadersConfig {
  readonly headers: readonly IdentityHeader[];
  /** Characters of one encoded value: a longer one denies rather than being cut. */
  readonly maxValueLength: number;
  /** Bytes of every identity header line together (name, value, separators): more denies. */
  readonly maxTotalBytes: number;
}

/** The default: what nginx/snippets/jwt-auth-protect.conf ships (test/unit/nginx-snippet.test.ts holds them together). */
export const DEFAULT_IDENTITY_HEADERS = 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name';

/**
 * `claim:Header-Name` pairs, comma-separated. A claim name may hold `:` or `,` inside its quoted
 * form; a header name holds neither, so the pair splits at its last `:`. `where` names the setting
 * in messages (IDENTITY_HEADERS, or an ISSUERS_FILE entry's identity_headers).
 */
export function parseIdentityMapping(env: EnvReader, where: string, text: string): IdentityHeader[] {
  const headers: IdentityHeader[] = [];
  for (const pair of splitOutsideQuotes(text, ',')) {
    const colon = pair.lastIndexOf(':');
    const claim = colon < 0 ? '' : pair.slice(0, colon).trim();
    const header = colon < 0 ? '' : pair.slice(colon + 1).trim();
    if (!claim || !header || !TOKEN.test(header)) {
      env.problem(`${where}: "${pair}" is not claim:Header-Name`);
      continue;
    }
    try {
      headers.push({ claim: parseClaimPath(claim), header: header.toLowerCase() });
    } catch (error) {
      if (!(error instanceof ClaimPathError)) throw error;
      env.problem(`${where}: "${pair}": ${error.message}`);
    }
  }
  return headers;
}

export function readIdentityHeaders(env: EnvReader): IdentityHeadersConfig {
  return {
    headers: parseIdentityMapping(env, 'IDENTITY_HEADERS', env.string('IDENTITY_HEADERS') ?? DEFAULT_IDENTITY_HEADERS),
    maxValueLength: env.integer('IDENTITY_HEADER_MAX_LENGTH', 2048, 16, 65_536),
    maxTotalBytes: env.bytes('IDENTITY_HEADERS_MAX_TOTAL', '8kb'),
  };
}
