/** Which token claims /check passes to nginx as headers, and how large they may be. */
import { TOKEN, type EnvReader } from './env-reader.js';

export interface IdentityHeader {
  /** Claim name in the token payload. */
  readonly claim: string;
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

function readMapping(env: EnvReader): IdentityHeader[] {
  const headers: IdentityHeader[] = [];
  for (const pair of env.list('IDENTITY_HEADERS', 'sub:X-Auth-User')) {
    const [claim, header, extra] = pair.split(':').map((part) => part.trim());
    if (!claim || !header || extra !== undefined || !TOKEN.test(header)) {
      env.problem(`IDENTITY_HEADERS: "${pair}" is not claim:Header-Name`);
      continue;
    }
    headers.push({ claim, header: header.toLowerCase() });
  }
  return headers;
}

export function readIdentityHeaders(env: EnvReader): IdentityHeadersConfig {
  return {
    headers: readMapping(env),
    maxValueLength: env.integer('IDENTITY_HEADER_MAX_LENGTH', 2048, 16, 65_536),
    maxTotalBytes: env.bytes('IDENTITY_HEADERS_MAX_TOTAL', '8kb'),
  };
}
