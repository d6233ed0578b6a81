/**
 * The login body, parsed once and strictly, then re-serialized: what the per-username limit counts
 * and what the authenticator is sent are the same parsed value, so no body can mean one username
 * to us and another to the authenticator.
 *
 * Hand-written because it is security-critical and small: body parsers (co-body, Flask/werkzeug)
 * are lenient in different ways (a BOM, `NaN`, multipart, duplicate names, a Content-Type that says
 * `json` somewhere in its parameters), and every leniency one side has and the other lacks is a way
 * past the limit. Here anything that two parsers could read differently is refused.
 */
import { isUtf8 } from 'node:buffer';
import { AppError } from '../errors.js';
import { hasDuplicateMemberNames } from '../token/jws.js';

export type LoginContentType = 'application/json' | 'application/x-www-form-urlencoded';

export interface LoginBody {
  /** The canonical Content-Type sent to the authenticator, without parameters. */
  readonly contentType: LoginContentType;
  /** The parsed body re-serialized in its one canonical spelling: exactly what was parsed. */
  readonly body: Buffer;
  /** The username field as the authenticator will read it; undefined when the body has none. */
  readonly username: string | undefined;
}

/**
 * The two types a login form or a JSON client sends, with at most a UTF-8 charset: any other
 * parameter (`; x=json`) could steer a parser that looks for "json" anywhere in the header.
 */
const ACCEPTED_TYPE = /^[ \t]*(application\/json|application\/x-www-form-urlencoded)[ \t]*(?:;[ \t]*charset=(?:utf-8|"utf-8")[ \t]*)?$/i;

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The login body's media type, checked before the body is read.
 * @throws AppError unsupported_media_type for a missing type, another type (multipart, text/plain)
 *   or any parameter other than charset=utf-8.
 */
export function loginContentType(header: string | undefined): LoginContentType {
  const match = ACCEPTED_TYPE.exec(header ?? '');
  if (match === null) throw new AppError('unsupported_media_type', 'not application/json or application/x-www-form-urlencoded');
  return (match[1] as string).toLowerCase() as LoginContentType;
}

function parseJson(text: string, usernameField: string): { body: Buffer; username: string | undefined } {
  let value: unknown;
  try {
    // JSON.parse reads 1e999 as Infinity, which JSON.stringify would forward as null.
    value = JSON.parse(text, (_name, member: unknown) => {
      if (typeof member === 'number' && !Number.isFinite(member)) throw new RangeError('number out of range');
      return member;
    });
  } catch {
    throw new AppError('body_malformed', 'invalid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AppError('body_malformed', 'JSON body is not an object');
  if (hasDuplicateMemberNames(text)) throw new AppError('body_malformed', 'duplicate JSON member names');
  const object = value as Record<string, unknown>;
  const username = Object.hasOwn(object, usernameField) ? object[usernameField] : undefined;
  if (username !== undefined && typeof username !== 'string') throw new AppError('body_malformed', 'the username field is not a string');
  return { body: Buffer.from(JSON.stringify(object)), username };
}

/** One name or value of a form: `+` is a space, and every %XX must make valid UTF-8. */
function decodeFormComponent(component: string): string {
  try {
    // decodeURIComponent refuses a lone or truncated %, and percent-encoded bytes that are not
    // UTF-8 (overlong forms and surrogates included), where URLSearchParams would substitute U+FFFD.
    return decodeURIComponent(component.replaceAll('+', ' '));
  } catch {
    throw new AppError('body_malformed', 'invalid percent-encoding');
  }
}

/** application/x-www-form-urlencoded as the WHATWG URL standard parses it (§5.1), minus its repairs. */
function parseForm(text: string, usernameField: string): { body: Buffer; username: string | undefined } {
  const pairs: Array<[string, string]> = [];
  for (const sequence of text.split('&')) {
    if (sequence === '') continue;
    const equals = sequence.indexOf('=');
    const name = decodeFormComponent(equals < 0 ? sequence : sequence.slice(0, equals));
    const value = decodeFormComponent(equals < 0 ? '' : sequence.slice(equals + 1));
    pairs.push([name, value]);
  }
  const usernames = pairs.filter(([name]) => name === usernameField);
  if (usernames.length > 1) throw new AppError('body_malformed', 'the username field is given more than once');
  // URLSearchParams serializes every byte outside [A-Za-z0-9*-._] as %XX, so no separator survives.
  return { body: Buffer.from(new URLSearchParams(pairs).toString()), username: usernames[0]?.[1] };
}

/**
 * Parses a login body of the given type and re-serializes it.
 * @throws AppError body_malformed: a BOM, invalid UTF-8, JSON that is not one object or names a
 *   member twice at any depth, invalid percent-encoding, a username field given twice or not a string.
 */
export function parseLoginBody(raw: Buffer, contentType: LoginContentType, usernameField: string): LoginBody {
  // A BOM is skipped by some JSON parsers and kept by others (RFC 8259 §8.1 forbids sending one).
  if (raw.subarray(0, BOM.length).equals(BOM)) throw new AppError('body_malformed', 'byte order mark');
  if (!isUtf8(raw)) throw new AppError('body_malformed', 'invalid UTF-8');
  const text = raw.toString('utf8');
  const parsed = contentType === 'application/json' ? parseJson(text, usernameField) : parseForm(text, usernameField);
  return { contentType, ...parsed };
}
