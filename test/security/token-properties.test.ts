/**
 * Property-based tests of /check, with fast-check at a fixed seed (override with FC_SEED;
 * fast-check prints the seed and the shrunk counterexample on failure):
 * - any mutation of a valid token that changes its text — and so what was signed — is denied;
 * - arbitrary Authorization, Cookie and X-Auth-Require values never yield a 5xx, and never reach the
 *   "unexpected failure" path (check_failed) that would mean an exception escaped the checks.
 * The bulk runs on the service's own `check` function; a smaller run goes over real sockets.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/index.js';
import { createCheckAnswers } from '../../src/check/answer.js';
import { createLogger } from '../../src/logging.js';
import { createService, type Service } from '../../src/service.js';
import { checkOutcomes } from '../../support/check.js';
import { b64url, signInput, signJws } from '../../support/jws.js';
import { KeyFiles } from '../../support/keys.js';
import { rawCheck, rawRequest } from '../../support/raw-http.js';
import { now, startApp, SECRET, type App } from './support.js';

const SEED = Number(process.env.FC_SEED ?? 20_240_605);
const RUNS = Number(process.env.FC_RUNS ?? 300);
const HTTP_RUNS = Math.max(10, Math.floor(RUNS / 5));
const COOKIE = 'auth_token';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const claims = { sub: 'alice', roles: ['admin', 'editor'], scope: 'read write', exp: now() + 3600 };

/** Valid tokens, one per configured key: HS256 (no kid), RS256 and ES256 (by kid). */
const VALID: Readonly<Record<string, string>> = {
  HS256: signJws({ alg: 'HS256', typ: 'JWT' }, claims, SECRET),
  RS256: signJws({ alg: 'RS256', typ: 'JWT', kid: 'rsa-1' }, claims, rsa.privateKey),
  ES256: signJws({ alg: 'ES256', typ: 'JWT', kid: 'ec-1' }, claims, ec.privateKey),
};

let dir: KeyFiles;
let service: Service;
let env: Record<string, string>;

before(() => {
  dir = new KeyFiles();
  const jwks = {
    keys: [
      { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256' },
      { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256' },
    ],
  };
  env = {
    JWT_SECRET: SECRET,
    JWT_VERIFY_JWKS_FILE: dir.write('jwks.json', JSON.stringify(jwks)),
    TOKEN_COOKIE: COOKIE,
    IDENTITY_HEADERS: 'sub:X-Auth-User,roles:X-Auth-Roles,scope:X-Auth-Scope',
  };
  service = createService(loadConfig(env), { logger: createLogger('silent'), defaultMetrics: false });
});

after(() => {
  service.close();
  dir.remove();
});

let outcomeOf: ReturnType<typeof checkOutcomes> | undefined;
const check = (rawHeaders: string[], query = '') =>
  (outcomeOf ??= checkOutcomes(service.deps.decideAccess, createCheckAnswers(service.deps.config)))({ rawHeaders, query });
const withBearer = (token: string) => check(['Authorization', `Bearer ${token}`]);

// ---------------------------------------------------------------------------------------------------
// Mutations

type Mutation = (token: string) => string;

const segmentIndex = fc.integer({ min: 0, max: 2 });

function mapSegment(token: string, index: number, change: (segment: string) => string): string {
  const parts = token.split('.');
  parts[index] = change(parts[index] ?? '');
  return parts.join('.');
}

const mutation: fc.Arbitrary<{ name: string; apply: Mutation }> = fc.oneof(
  // A flipped bit in the decoded bytes of any segment, re-encoded canonically.
  fc.tuple(segmentIndex, fc.nat(), fc.integer({ min: 0, max: 7 })).map(([index, byte, bit]) => ({
    name: `flip bit ${bit} of byte ${byte} in segment ${index}`,
    apply: (token: string) =>
      mapSegment(token, index, (segment) => {
        const bytes = Buffer.from(segment, 'base64url');
        if (bytes.length === 0) return segment;
        const at = byte % bytes.length;
        bytes[at] = (bytes[at] as number) ^ (1 << bit);
        return bytes.toString('base64url');
      }),
  })),
  fc.nat().map((at) => ({ name: `truncate at ${at}`, apply: (token: string) => token.slice(0, at % token.length) })),
  fc
    .nat()
    .map((at) => ({ name: `drop the character at ${at}`, apply: (token: string) => token.slice(0, at % token.length) + token.slice((at % token.length) + 1) })),
  fc.tuple(fc.nat(), fc.constantFrom(...'AQgw_-.09azAZ')).map(([at, char]) => ({
    name: `replace the character at ${at} with ${char}`,
    apply: (token: string) => token.slice(0, at % token.length) + char + token.slice((at % token.length) + 1),
  })),
  fc.tuple(segmentIndex, segmentIndex).map(([a, b]) => ({
    name: `swap segments ${a} and ${b}`,
    apply: (token: string) => {
      const parts = token.split('.');
      [parts[a], parts[b]] = [parts[b] as string, parts[a] as string];
      return parts.join('.');
    },
  })),
  fc.tuple(segmentIndex, fc.constantFrom('padding', 'standard alphabet', 'both')).map(([index, kind]) => ({
    name: `re-encode segment ${index} with ${kind}`,
    apply: (token: string) =>
      mapSegment(token, index, (segment) => {
        const bytes = Buffer.from(segment, 'base64url');
        return kind === 'padding'
          ? bytes.toString('base64url') + '='.repeat((4 - (segment.length % 4)) % 4)
          : kind === 'standard alphabet'
            ? bytes.toString('base64').replace(/=+$/, '')
            : bytes.toString('base64');
      }),
  })),
  fc.nat().map((at) => ({
    name: `change the case of the character at ${at}`,
    apply: (token: string) => {
      const i = at % token.length;
      const char = token.charAt(i);
      const swapped = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
      return token.slice(0, i) + swapped + token.slice(i + 1);
    },
  })),
  fc.tuple(fc.nat(), fc.constantFrom(' ', '\t', '\u00a0', ',', '\u2028')).map(([at, space]) => ({
    name: `insert ${JSON.stringify(space)} inside at ${at}`,
    // Inside only: leading and trailing whitespace is not part of the token (RFC 9110 §5.5).
    apply: (token: string) => {
      const i = 1 + (at % (token.length - 1));
      return token.slice(0, i) + space + token.slice(i);
    },
  })),
  fc.tuple(segmentIndex, fc.uint8Array({ minLength: 0, maxLength: 4 })).map(([index, extra]) => ({
    name: `append bytes ${Buffer.from(extra).toString('hex')} to segment ${index}`,
    apply: (token: string) => mapSegment(token, index, (segment) => Buffer.concat([Buffer.from(segment, 'base64url'), extra]).toString('base64url')),
  })),
);

/** Names the converse property leaves alone: duplicates of the fixed claims, dates, identity headers. */
const RESERVED = new Set(['sub', 'exp', 'nbf', 'iat', 'roles', 'scope']);

describe('mutations of a valid token', () => {
  test('the unmutated tokens are allowed (the property is not vacuous)', () => {
    for (const [alg, token] of Object.entries(VALID)) assert.equal(withBearer(token).status, 200, alg);
  });

  test('any mutation that changes the token text is denied, and never by an unexpected failure', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(VALID)), fc.array(mutation, { minLength: 1, maxLength: 3 }), (alg, mutations) => {
        const original = VALID[alg] as string;
        const mutated = mutations.reduce((token, { apply }) => apply(token), original);
        fc.pre(mutated !== original);
        const decision = withBearer(mutated);
        assert.notEqual(decision.status, 200, `${alg}: ${mutations.map((m) => m.name).join(', ')} was allowed`);
        assert.ok(decision.status === 401 || decision.status === 403, `status ${decision.status}`);
        assert.notEqual(decision.code, 'check_failed', String(decision.cause));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('a token signed over any other payload is allowed with the configured key and denied with an attacker key', () => {
    // The converse: the signature, not the parser, is what binds the bytes. An attacker key never works.
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), (extra) => {
        const payload = `{"sub":"alice","exp":${claims.exp}${Object.keys(extra).length === 0 ? '' : `,${JSON.stringify(extra).slice(1, -1)}`}}`;
        const header = b64url({ alg: 'RS256', kid: 'rsa-1' });
        const input = `${header}.${b64url(payload)}`;
        const forged = `${input}.${signInput('RS256', input, attacker.privateKey).toString('base64url')}`;
        assert.notEqual(withBearer(forged).status, 200);
        const decision = withBearer(`${input}.${signInput('RS256', input, rsa.privateKey).toString('base64url')}`);
        // Some generated payloads are refused on their own (duplicate names such as a second "sub"); none fail unexpectedly.
        assert.notEqual(decision.code, 'check_failed', String(decision.cause));
        if (!Object.keys(extra).some((name) => RESERVED.has(name))) assert.equal(decision.status, 200, payload);
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Arbitrary input

/** Any UTF-16 code unit, lone surrogates included. */
const anyString = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 200 });
/** Bytes as node hands header values to the app (latin1). */
const anyBytes = fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1'));
/** Things shaped like a JWT, to get past the first checks: JSON segments with interesting header fields. */
const tokenLike = fc
  .tuple(
    fc.record(
      {
        alg: fc.oneof(fc.constantFrom('HS256', 'RS256', 'ES256', 'none', 'NONE', 'EdDSA', 'HS512'), fc.jsonValue()),
        kid: fc.oneof(fc.constantFrom('rsa-1', 'ec-1', '../../etc/passwd'), fc.jsonValue()),
        crit: fc.jsonValue(),
        b64: fc.jsonValue(),
        typ: fc.string(),
      },
      { requiredKeys: [] },
    ),
    fc.oneof(
      fc.jsonValue(),
      fc.record({ sub: fc.jsonValue(), exp: fc.oneof(fc.double(), fc.jsonValue()), nbf: fc.jsonValue(), roles: fc.jsonValue() }, { requiredKeys: [] }),
    ),
    fc.uint8Array({ maxLength: 80 }),
    fc.constantFrom('', '=', '.', '..'),
  )
  .map(
    ([header, payload, signature, suffix]) =>
      `${b64url(header)}.${b64url(JSON.stringify(payload) ?? '')}.${Buffer.from(signature).toString('base64url')}${suffix}`,
  );
const authorization = fc.oneof(
  anyString,
  anyBytes,
  tokenLike.map((token) => `Bearer ${token}`),
  anyString.map((text) => `Bearer ${text}`),
  tokenLike,
);
const cookie = fc.oneof(
  anyString,
  anyBytes,
  tokenLike.map((token) => `${COOKIE}=${token}`),
  anyString.map((text) => `${COOKIE}=${text}; ${COOKIE}=x`),
);
const requirement = fc.oneof(
  anyString,
  anyBytes,
  fc
    .array(
      fc.tuple(
        fc.constantFrom('role', 'scope', 'claim.sub', 'claim.', 'claim.__proto__', 'claim.roles', 'x', ''),
        fc.oneof(fc.constantFrom('admin', 'read', 'alice', ',', ''), anyString),
      ),
      { maxLength: 4 },
    )
    .map((terms) => terms.map(([key, value]) => `${key}=${value}`).join(';')),
);
const query = fc.oneof(
  fc.constant(''),
  anyString,
  fc.webQueryParameters(),
  requirement.map((text) => text.replace(/;/g, '&')),
);

/** Raw header pairs with any of the three present, repeated or absent, in any order. */
const rawHeaders = fc
  .array(
    fc.oneof(
      authorization.map((value) => ['Authorization', value]),
      cookie.map((value) => ['Cookie', value]),
      requirement.map((value) => ['X-Auth-Require', value]),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.flat());

describe('arbitrary input to check()', () => {
  test('arbitrary Authorization, Cookie and X-Auth-Require values and auth-URI queries never allow and never fail unexpectedly', () => {
    fc.assert(
      fc.property(rawHeaders, query, (headers, queryString) => {
        const decision = check(headers, queryString);
        assert.ok(decision.status === 401 || decision.status === 403, `status ${decision.status}`);
        assert.notEqual(decision.code, 'check_failed', String(decision.cause));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('with a valid token, arbitrary requirements and queries either allow or deny with 403, never fail unexpectedly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(VALID)), fc.array(requirement, { maxLength: 2 }), query, (token, requirements, queryString) => {
        const headers = ['Authorization', `Bearer ${token}`, ...requirements.flatMap((value) => ['X-Auth-Require', value])];
        const decision = check(headers, queryString);
        assert.ok(decision.status === 200 || decision.status === 403, `status ${decision.status}`);
        assert.ok(decision.code === undefined || decision.code === 'insufficient_scope' || decision.code === 'policy_invalid', String(decision.code));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

describe('arbitrary input over HTTP', () => {
  let app: App;
  before(async () => {
    app = await startApp(env);
  });
  after(() => app.close());

  /** A header value as bytes on the wire: anything but CR and LF, which end the line (tested in hostile-tokens). */
  const wireValue = fc
    .oneof(
      anyBytes,
      tokenLike,
      tokenLike.map((token) => `Bearer ${token}`),
    )
    .map((text) => text.replace(/[\r\n]/g, ''));

  test('arbitrary header bytes never yield a 5xx or an allow, and every connection gets an answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        wireValue,
        wireValue,
        wireValue,
        fc.constantFrom('', '?role=admin', '?scope=%ff', '?claim.sub=%E0%A4%A'),
        async (auth, cookieValue, require, path) => {
          const head = Buffer.from(rawCheck([`Authorization: ${auth}`, `Cookie: ${cookieValue}`, `X-Auth-Require: ${require}`], `/check${path}`), 'latin1');
          const reply = await rawRequest(app.port, head);
          assert.ok([400, 401, 403, 431].includes(reply.status), `status ${reply.status}: ${reply.head}`);
        },
      ),
      { seed: SEED, numRuns: HTTP_RUNS },
    );
    assert.ok(!app.logs.some((line) => line.code === 'check_failed' || line.level === 'error'), 'no unexpected failure was logged');
  });
});
