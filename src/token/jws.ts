/**
 * Strict structural checks of a compact JWS (RFC 7515 §7.1) before any key is chosen.
 *
 * Written by hand rather than taken from a library because it is both hot (it runs on every /check)
 * and security-critical: it is where we refuse the encodings that let two parsers disagree about what
 * was signed — padding and non-canonical base64url, invalid UTF-8, duplicate JSON member names
 * (RFC 7515 §5.2 lets a recipient reject them, and we do), `crit` and `b64: false` (RFC 7797).
 */
import { isUtf8 } from 'node:buffer';
import { AppError } from '../errors.js';

/** What selects the key before any signature is checked: the header's alg and kid, and the payload's iss. */
export interface JwsHeader {
  readonly alg: string;
  readonly kid: string | undefined;
  /** The issuer the token claims: it picks whose keys and rules apply, and is verified with them. */
  readonly iss: string | undefined;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Registered claims holding a NumericDate (RFC 7519 §4.1.4-6). */
const NUMERIC_DATES = ['exp', 'nbf', 'iat'] as const;

/** Decodes one segment, refusing anything but the single canonical unpadded base64url spelling. */
function decodeSegment(segment: string): Buffer {
  // A length of 1 mod 4 cannot come from any byte string; other lengths may still carry non-zero
  // spare bits, which the re-encoding comparison below catches.
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) throw new AppError('token_malformed', 'not base64url');
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) throw new AppError('token_malformed', 'non-canonical base64url');
  return bytes;
}

/** Parses a JSON object segment, refusing invalid UTF-8 and duplicate member names at any depth. */
function parseObjectSegment(segment: string): Record<string, unknown> {
  const bytes = decodeSegment(segment);
  if (!isUtf8(bytes)) throw new AppError('token_malformed', 'invalid UTF-8');
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('token_malformed', 'invalid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AppError('token_malformed', 'not a JSON object');
  if (hasDuplicateMemberNames(text)) throw new AppError('token_malformed', 'duplicate JSON member names');
  return value as Record<string, unknown>;
}

/**
 * Scans already-valid JSON text for an object that names a member twice. JSON.parse silently keeps
 * the last one, so without this a token could mean one thing to us and another to its issuer.
 * Callers parse first; on text that is not JSON the answer means nothing, but it always comes: an
 * unterminated string or a trailing backslash ends the scan instead of running past the end.
 */
export function hasDuplicateMemberNames(json: string): boolean {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const char = json.charCodeAt(i);
    if (char === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (char === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (char === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    } else if (char === 0x22 /* " */) {
      let end = i + 1;
      while (end < json.length && json.charCodeAt(end) !== 0x22) end += json.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      if (end >= json.length) return false;
      if (expectKey) {
        // Escapes are decoded so that "a" and "\u0061" count as the same name: both sides of the
        // comparison must be the decoded name, without its quotes.
        const raw = json.slice(i, end + 1);
        const name = raw.includes('\\') ? decodedName(raw) : raw.slice(1, -1);
        const names = stack[stack.length - 1] as Set<string>;
        if (names.has(name)) return true;
        names.add(name);
        expectKey = false;
      }
      i = end;
    }
  }
  return false;
}

/** A quoted member name with its escapes decoded; as written when an escape is not valid JSON. */
function decodedName(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted;
  }
}

/**
 * Splits and checks a compact JWS and returns the fields that select the issuer and the key.
 * Payload and signature are checked for canonical encoding here; fast-jwt then verifies them.
 * @throws AppError token_malformed, token_algorithm_not_allowed, token_header_invalid, or
 *   token_claims_invalid for a NumericDate that JSON reads as ±Infinity.
 */
export function inspectJws(token: string): JwsHeader {
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot <= 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) {
    throw new AppError('token_malformed', 'not three segments');
  }
  const header = parseObjectSegment(token.slice(0, firstDot));
  const { alg, kid } = header;
  if (typeof alg !== 'string') throw new AppError('token_malformed', 'alg is not a string');
  // Unsecured JWS (alg "none", RFC 7515 §A.5) is never acceptable, whatever the key set.
  const signature = token.slice(secondDot + 1);
  if (signature === '' || alg.toLowerCase() === 'none') throw new AppError('token_algorithm_not_allowed', 'unsigned token');
  const payload = parseObjectSegment(token.slice(firstDot + 1, secondDot));
  decodeSegment(signature);
  // RFC 7519 §2 NumericDate: JSON.parse reads 1e999 as Infinity, which passes every clock comparison
  // one way or the other (an exp that never comes), and other parsers read it differently or refuse it.
  for (const claim of NUMERIC_DATES) {
    const value = payload[claim];
    if (typeof value === 'number' && !Number.isFinite(value)) throw new AppError('token_claims_invalid', `${claim} is not a finite number`);
  }

  if (kid !== undefined && typeof kid !== 'string') throw new AppError('token_malformed', 'kid is not a string');
  const { iss } = payload;
  if (iss !== undefined && typeof iss !== 'string') throw new AppError('token_claims_invalid', 'iss is not a string');
  // We implement no JWS extension, so any critical one must be refused (RFC 7515 §4.1.11), and an
  // unencoded payload (RFC 7797) would be verified over different bytes than we decoded.
  if (header.crit !== undefined || header.b64 !== undefined) throw new AppError('token_header_invalid', 'crit or b64 header');
  return { alg, kid, iss };
}
