/**
 * Claims → identity headers for nginx's `auth_request_set`. A header value can carry only visible
 * ASCII safely through nginx to an upstream, so anything else is percent-encoded (RFC 3986 style, as
 * UTF-8), which keeps CR/LF and NUL out and keeps non-ASCII names readable by the application. So
 * are spaces at either end of a value or list element, which nginx would trim (RFC 9110 §5.5):
 * distinct claims stay distinct headers. Plain values, the usual case, pass as they are.
 */
import type { Config } from './config/index.js';
import { AppError } from './errors.js';
import type { Claims } from './token/verify.js';

/** Header name/value pairs, flat: [name0, value0, name1, value1, …]. */
export type HeaderList = string[];

export type IdentityHeaderBuilder = (claims: Claims) => HeaderList;

/** Visible ASCII and space, less `%` (so that encoded values stay unambiguous). */
const PLAIN = /^[\x20-\x24\x26-\x7e]*$/;
const NOT_PLAIN = /[^\x20-\x24\x26-\x7e]/gu;
/** Inside a list, a comma is the separator, so an element's own commas are encoded too. */
const PLAIN_IN_LIST = /^[\x20-\x24\x26-\x2b\x2d-\x7e]*$/;
const NOT_PLAIN_IN_LIST = /[^\x20-\x24\x26-\x2b\x2d-\x7e]/gu;

const SPACE = 0x20;

/** nginx drops spaces around a header value, so " alice" and "alice " would both reach the app as "alice". */
function hasEdgeSpace(text: string): boolean {
  return text.length > 0 && (text.charCodeAt(0) === SPACE || text.charCodeAt(text.length - 1) === SPACE);
}

/** Percent-encodes the characters `unsafe` matches, then the spaces at either end. */
function encode(text: string, unsafe: RegExp): string {
  const encoded = text.toWellFormed().replace(unsafe, (char) => encodeURIComponent(char));
  if (!hasEdgeSpace(encoded)) return encoded;
  let start = 0;
  while (start < encoded.length && encoded.charCodeAt(start) === SPACE) start++;
  let end = encoded.length;
  while (end > start && encoded.charCodeAt(end - 1) === SPACE) end--;
  return `${'%20'.repeat(start)}${encoded.slice(start, end)}${'%20'.repeat(encoded.length - end)}`;
}

/** A list claim: elements joined with commas, each encoded (plain ones, the usual case, as they are). */
function listValue(items: readonly unknown[]): string {
  let joined = '';
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const text = typeof item === 'string' ? item : (JSON.stringify(item) ?? '');
    joined += `${i === 0 ? '' : ','}${PLAIN_IN_LIST.test(text) && !hasEdgeSpace(text) ? text : encode(text, NOT_PLAIN_IN_LIST)}`;
  }
  return joined;
}

/** The header value of one claim, or undefined when the claim is absent. */
export function headerValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return PLAIN.test(value) && !hasEdgeSpace(value) ? value : encode(value, NOT_PLAIN);
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      if (value === null) return undefined;
      if (Array.isArray(value)) return listValue(value);
      return encode(JSON.stringify(value), NOT_PLAIN);
    default:
      return undefined;
  }
}

/** `: ` and CRLF around every header line. */
const LINE_OVERHEAD = 4;

/**
 * Prepares the claim → header mapping once.
 * @throws AppError identity_too_large (from the returned function) when an encoded value exceeds the
 * per-header limit, or all identity header lines together exceed the total one.
 */
export function createIdentityHeaders(identity: Config['identityHeaders']): IdentityHeaderBuilder {
  const mapping = identity.headers.map(({ claim, header }) => ({ claim, header, lineBytes: header.length + LINE_OVERHEAD }));
  const maxLength = identity.maxValueLength;
  const maxTotal = identity.maxTotalBytes;
  return (claims) => {
    const headers: HeaderList = [];
    // Values are visible ASCII once encoded, so their length is their size in bytes.
    let total = 0;
    for (const { claim, header, lineBytes } of mapping) {
      const value = headerValue(claim.read(claims));
      if (value === undefined) continue;
      // Truncating could turn "admin-readonly" into "admin": refuse rather than pass a different identity.
      if (value.length > maxLength) throw new AppError('identity_too_large', `claim ${claim.text} is ${value.length} characters`);
      // nginx reads the whole answer's head into proxy_buffer_size and answers its client with a 500
      // when it does not fit: a bound on the sum keeps the answer a deny with a code instead.
      total += lineBytes + value.length;
      if (total > maxTotal) throw new AppError('identity_too_large', `identity headers exceed ${maxTotal} bytes`);
      headers.push(header, value);
    }
    return headers;
  };
}
