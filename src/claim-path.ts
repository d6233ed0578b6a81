/**
 * Claim paths: how configuration and policies name a claim, flat or nested, in one syntax.
 *
 *   sub                              the top-level claim `sub`
 *   realm_access.roles               `roles` inside the object claim `realm_access`
 *   resource_access.my-app.roles     a segment may hold letters, digits, `_` and `-`
 *   ["https://example.org/roles"]    any other name is a JSON string in brackets
 *   resource_access["my.app"].roles  …at any depth
 *
 * A bare name never holds `.`, `:`, `/` or anything else, so `https://example.org/roles` is refused
 * rather than read as the nested path `https://example` → `org/roles`: a name is never silently
 * split in a way its author did not mean. Paths are parsed once (configuration, or a policy text the
 * policy cache keeps); reading one walks own properties of plain objects only, so `__proto__` or
 * `constructor` resolve only when the token itself carries them, and reading allocates nothing.
 */

const BARE = /^[A-Za-z0-9_-]$/;

export class ClaimPathError extends Error {
  override readonly name = 'ClaimPathError';
}

export class ClaimPath {
  /** The path as written, for messages. */
  readonly text: string;
  /** The decoded names, outermost first; never empty. */
  readonly segments: readonly string[];

  constructor(text: string, segments: readonly string[]) {
    this.text = text;
    this.segments = segments;
  }

  /** The claim's value, or undefined when any step is absent or not a plain object. */
  read(claims: Readonly<Record<string, unknown>>): unknown {
    const segments = this.segments;
    let value: unknown = claims;
    for (let i = 0; i < segments.length; i++) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      const segment = segments[i] as string;
      if (!Object.hasOwn(value, segment)) return undefined;
      value = (value as Record<string, unknown>)[segment];
    }
    return value;
  }
}

function bareEnd(text: string, start: number): number {
  let end = start;
  while (end < text.length && BARE.test(text.charAt(end))) end++;
  return end;
}

/** The index just past the closing quote of the JSON string starting at `start`, or -1. */
function quotedEnd(text: string, start: number): number {
  let end = start + 1;
  while (end < text.length) {
    const char = text.charCodeAt(end);
    if (char === 0x22 /* " */) return end + 1;
    end += char === 0x5c /* \ */ ? 2 : 1;
  }
  return -1;
}

function hint(text: string): string {
  return text.includes('[') || text.includes('"') ? '' : `; a name with other characters is written ${JSON.stringify([text])}`;
}

/**
 * Parses a whole claim path.
 * @throws ClaimPathError saying what is wrong, with the quoted spelling when a bare name has other characters.
 */
export function parseClaimPath(text: string): ClaimPath {
  const segments: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new ClaimPathError(`claim name ${JSON.stringify(text)}: ${why}`);
  };
  if (text === '') fail('empty');
  while (i < text.length) {
    if (text.charCodeAt(i) === 0x5b /* [ */) {
      if (text.charCodeAt(i + 1) !== 0x22) fail(`expected a JSON string after [ at ${i}`);
      const end = quotedEnd(text, i + 1);
      if (end < 0) fail('unterminated string');
      let name: unknown;
      try {
        name = JSON.parse(text.slice(i + 1, end));
      } catch {
        fail('invalid JSON string');
      }
      if (name === '') fail('empty name');
      if (text.charCodeAt(end) !== 0x5d /* ] */) fail(`expected ] at ${end}`);
      segments.push(name as string);
      i = end + 1;
    } else {
      if (segments.length > 0) {
        if (text.charCodeAt(i) !== 0x2e /* . */) fail(`expected . or [ at ${i}`);
        i++;
      }
      const end = bareEnd(text, i);
      if (end === i) fail(`${i === text.length ? 'ends with .' : `${JSON.stringify(text.charAt(i))} at ${i}`} outside ["…"]${hint(text)}`);
      segments.push(text.slice(i, end));
      i = end;
      if (i < text.length && text.charCodeAt(i) !== 0x2e && text.charCodeAt(i) !== 0x5b)
        fail(`${JSON.stringify(text.charAt(i))} at ${i} outside ["…"]${hint(text)}`);
    }
  }
  return new ClaimPath(text, Object.freeze(segments));
}

/**
 * Splits a list of claim paths (or of entries starting with one) on `separator`, except inside a
 * quoted name, which may hold the separator itself. Entries are trimmed; empty ones dropped.
 */
export function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (char === '"') {
      const end = quotedEnd(text, i);
      i = end < 0 ? text.length : end;
    } else if (char === separator) {
      parts.push(text.slice(start, i));
      start = ++i;
    } else {
      i++;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}
