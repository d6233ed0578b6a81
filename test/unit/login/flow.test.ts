/**
 * The login flow without HTTP: a fake authenticator, limiter and signer, a captured log and real
 * metrics, and each outcome the route may write: a token issued, the authenticator's rejection
 * passed on, or a refusal with its code and headers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthenticatorAnswer, LoginRequest } from '../../../src/authenticator.js';
import { createCrossSiteCheck, type SiteSignals } from '../../../src/cross-site.js';
import { AppError, type ErrorCode } from '../../../src/errors.js';
import { tokenCookie } from '../../../src/http/cookie.js';
import { createLogger } from '../../../src/logging.js';
import { createLoginFlow, type LoginFlowDeps, type LoginInput, type LoginOutcome } from '../../../src/login/flow.js';
import { createTokenIssuer } from '../../../src/login/issue.js';
import type { LoginAttempt, LoginLimiter } from '../../../src/login/limiter.js';
import { createMetrics, type Metrics } from '../../../src/metrics.js';
import type { SignedToken, TokenSigner } from '../../../src/token/sign.js';

const ALICE_BODY = '{"username":" Alice ","password":"wonderland"}';
const ALICE_USER = { sub: 'alice', name: 'Alice', roles: ['admin'] };
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
const COOKIE = { name: 'auth', setOnLogin: false, secure: true, sameSite: 'Lax', domain: undefined, path: '/' } as const;
const SAME_SITE: SiteSignals = { origin: undefined, secFetchSite: undefined, host: 'app.example', forwardedHost: undefined, forwardedProto: undefined };

const user = (fields: Record<string, unknown> = ALICE_USER, setCookie: string[] = []): AuthenticatorAnswer => ({ kind: 'user', user: fields, setCookie });
const rejection = (setCookie: string[] = []): AuthenticatorAnswer => ({
  kind: 'rejected',
  status: 401,
  body: Buffer.from('{"error":"bad password"}'),
  contentType: 'application/json',
  setCookie,
});

interface Options {
  /** What the authenticator answers, or throws. */
  readonly answer?: AuthenticatorAnswer | Error;
  /** What the limiter says: allowed unless given. */
  readonly limit?: { key: 'ip' | 'user'; retryAfterSeconds: number };
  readonly signed?: Partial<SignedToken> | Error;
  readonly verifyOnly?: boolean;
  readonly setCookie?: boolean;
  readonly passAuthenticatorCookies?: boolean;
  readonly maxFailuresPerUser?: number;
  readonly maxTokenLength?: number;
  readonly crossSiteProtection?: boolean;
}

/** The flow with fakes that record what they were asked. */
function setup(options: Options = {}) {
  const calls = {
    authenticator: [] as LoginRequest[],
    limiter: [] as Array<[string, string | undefined]>,
    withdrawn: 0,
    signer: [] as Array<[string, unknown]>,
  };
  const logs: Array<Record<string, unknown>> = [];
  const metrics: Metrics = createMetrics({ version: 'test', defaultMetrics: false });
  const limiter: LoginLimiter = {
    async attempt(address, username) {
      calls.limiter.push([address, username]);
      if (options.limit !== undefined) return { allowed: false, ...options.limit } satisfies LoginAttempt;
      return { allowed: true, withdraw: async () => void calls.withdrawn++ };
    },
  };
  const signer: TokenSigner = (subject, claims, _ttl, session) => {
    calls.signer.push([subject, claims]);
    if (options.signed instanceof Error) throw options.signed;
    return { token: TOKEN, expiresIn: 600, jti: 'jti-1', session: session ?? { sid: 'sid-1', authTime: 0 }, ...options.signed };
  };
  const deps: LoginFlowDeps = {
    login: { bodyLimitBytes: 1024, usernameField: 'username', subjectFields: ['sub', 'id'], maxFailuresPerUser: options.maxFailuresPerUser ?? 5 },
    passAuthenticatorCookies: options.passAuthenticatorCookies ?? false,
    issue: options.verifyOnly
      ? undefined
      : createTokenIssuer({
          signer,
          jwt: { maxTokenLength: options.maxTokenLength ?? 8192 },
          cookie: { ...COOKIE, setOnLogin: options.setCookie ?? false },
          session: { maxLifetimeMs: 12 * 3_600_000 },
        }),
    isCrossSite: options.crossSiteProtection === false ? undefined : createCrossSiteCheck({ protection: true, allowedOrigins: [] }),
    authenticator: {
      async login(request) {
        calls.authenticator.push(request);
        const answer = options.answer ?? user();
        if (answer instanceof Error) throw answer;
        return answer;
      },
    },
    limiter,
    metrics,
    logger: createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }),
  };
  const attemptLogin = createLoginFlow(deps);
  const bodiesRead: number[] = [];
  const login = (input: Partial<LoginInput> & { body?: string } = {}): Promise<LoginOutcome> =>
    attemptLogin({
      requestId: 'req-1',
      clientAddress: '192.0.2.7',
      site: SAME_SITE,
      contentType: 'application/json',
      readBody: async (limit) => {
        bodiesRead.push(limit);
        return Buffer.from(input.body ?? ALICE_BODY);
      },
      ...input,
    });
  const count = async (metric: 'logins' | 'authenticatorCalls' | 'rateLimited', label: string): Promise<number> =>
    (await metrics[metric].get()).values.find((value) => Object.values(value.labels).includes(label))?.value ?? 0;
  return { login, calls, logs, bodiesRead, count };
}

function issued(outcome: LoginOutcome) {
  assert.equal(outcome.kind, 'issued', JSON.stringify(outcome));
  return outcome as Extract<LoginOutcome, { kind: 'issued' }>;
}

function refused(outcome: LoginOutcome, code: ErrorCode): AppError {
  assert.equal(outcome.kind, 'refused', JSON.stringify(outcome));
  const { error } = outcome as Extract<LoginOutcome, { kind: 'refused' }>;
  assert.ok(error instanceof AppError);
  assert.equal(error.code, code);
  return error;
}

describe('login flow: a token issued', () => {
  test('the authenticator vouches for the user: a Bearer token for its subject, the attempt withdrawn, one "ok"', async () => {
    const { login, calls, logs, count } = setup();
    const outcome = issued(await login());
    assert.deepEqual(outcome.issued.body, { token: TOKEN, token_type: 'Bearer', expires_in: 600 });
    assert.equal(outcome.issued.setCookie, undefined);
    assert.deepEqual(outcome.authenticatorCookies, []);
    assert.deepEqual(calls.signer, [['alice', ALICE_USER]]);
    assert.equal(calls.withdrawn, 1);
    assert.equal(await count('logins', 'ok'), 1);
    assert.equal(await count('authenticatorCalls', 'user'), 1);
    const [line] = logs;
    assert.deepEqual(
      { ...line, time: undefined, pid: undefined, hostname: undefined },
      {
        level: 'info',
        service: 'nginx-jwt-auth',
        event: 'login',
        requestId: 'req-1',
        client: '192.0.2.7',
        outcome: 'ok',
        sub: 'alice',
        jti: 'jti-1',
        sid: outcome.issued.session.sid,
        msg: 'login succeeded',
        time: undefined,
        pid: undefined,
        hostname: undefined,
      },
    );
    assert.doesNotMatch(JSON.stringify(logs), /eyJ|wonderland/);
  });

  test('the limiter counts the normalized username, the authenticator gets the body re-serialized, with the request id and client', async () => {
    const { login, calls, bodiesRead } = setup();
    issued(await login({ body: '{ "username" : " Alice ",\n "password": "wonderland" }', contentType: 'application/json; charset=utf-8' }));
    assert.deepEqual(bodiesRead, [1024]);
    assert.deepEqual(calls.limiter, [['192.0.2.7', 'alice']]);
    assert.equal(calls.authenticator.length, 1);
    const [request] = calls.authenticator;
    assert.equal(request?.body.toString(), ALICE_BODY);
    assert.equal(request?.contentType, 'application/json');
    assert.equal(request?.requestId, 'req-1');
    assert.equal(request?.clientAddress, '192.0.2.7');
  });

  test('the subject is the first subject field holding a non-empty string or a number', async () => {
    for (const [fields, subject] of [
      [{ sub: '', id: 42 }, '42'],
      [{ sub: 'alice', id: 42 }, 'alice'],
      [{ id: 'bob' }, 'bob'],
    ] as const) {
      const { login, calls } = setup({ answer: user(fields) });
      issued(await login());
      assert.equal(calls.signer[0]?.[0], subject);
    }
  });

  test("in cookie mode the token cookie comes with the body; the authenticator's cookies only when passed on", async () => {
    const withCookie = issued(await setup({ setCookie: true, answer: user(ALICE_USER, ['session=1']) }).login());
    assert.equal(withCookie.issued.setCookie, tokenCookie('auth', TOKEN, 600, COOKIE));
    assert.deepEqual(withCookie.authenticatorCookies, []);
    const passed = issued(await setup({ passAuthenticatorCookies: true, answer: user(ALICE_USER, ['session=1']) }).login());
    assert.deepEqual(passed.authenticatorCookies, ['session=1']);
  });

  test('without a per-username limit a body with no username logs in, counted by address alone', async () => {
    const { login, calls } = setup({ maxFailuresPerUser: 0 });
    issued(await login({ body: '{"password":"wonderland"}' }));
    assert.deepEqual(calls.limiter, [['192.0.2.7', undefined]]);
  });
});

describe('login flow: the authenticator rejects the credentials', () => {
  test('its status, body and content type are passed on as sent, and the attempt stays a failure', async () => {
    const { login, calls, logs, count } = setup({ answer: rejection(['tries=3']), passAuthenticatorCookies: true });
    const outcome = await login();
    assert.deepEqual(outcome, {
      kind: 'rejected',
      status: 401,
      body: Buffer.from('{"error":"bad password"}'),
      contentType: 'application/json',
      authenticatorCookies: ['tries=3'],
    });
    assert.equal(calls.withdrawn, 0);
    assert.deepEqual(calls.signer, []);
    assert.equal(await count('logins', 'rejected'), 1);
    assert.equal(await count('authenticatorCalls', 'rejected'), 1);
    assert.equal(logs[0]?.msg, 'login rejected by the authenticator');
    assert.equal(logs[0]?.username, 'alice');
    assert.equal(logs[0]?.status, 401);
  });

  test('its cookies are dropped unless passed on', async () => {
    const outcome = await setup({ answer: rejection(['tries=3']) }).login();
    assert.equal(outcome.kind, 'rejected');
    assert.deepEqual((outcome as Extract<LoginOutcome, { kind: 'rejected' }>).authenticatorCookies, []);
  });
});

describe('login flow: refused before the authenticator is asked', () => {
  test('a verify-only setup refuses every login as not_found without reading the body', async () => {
    const { login, calls, bodiesRead, count } = setup({ verifyOnly: true });
    refused(await login(), 'not_found');
    assert.deepEqual(bodiesRead, []);
    assert.deepEqual(calls.authenticator, []);
    assert.equal(await count('logins', 'not_found'), 1);
  });

  test('a page of another site is refused before the body is read; without the check it logs in', async () => {
    const crossSite: SiteSignals = { ...SAME_SITE, origin: 'https://evil.example', secFetchSite: 'cross-site' };
    const guarded = setup();
    refused(await guarded.login({ site: crossSite }), 'cross_site_request');
    assert.deepEqual(guarded.bodiesRead, []);
    assert.deepEqual(guarded.calls.limiter, []);
    issued(await setup({ crossSiteProtection: false }).login({ site: crossSite }));
  });

  for (const [name, contentType] of [
    ['no Content-Type', undefined],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['a parameter besides charset', 'application/json; x=1'],
  ] as const) {
    test(`${name}: unsupported_media_type, the body unread`, async () => {
      const { login, bodiesRead, calls } = setup();
      refused(await login({ contentType }), 'unsupported_media_type');
      assert.deepEqual(bodiesRead, []);
      assert.deepEqual(calls.limiter, []);
    });
  }

  test("a body that cannot be read is refused with the reader's code", async () => {
    const { login, calls } = setup();
    refused(await login({ readBody: async () => Promise.reject(new AppError('body_too_large', 'over 1024 bytes')) }), 'body_too_large');
    assert.deepEqual(calls.limiter, []);
  });

  test('a malformed body is refused before the limiter counts anything', async () => {
    const { login, calls, logs } = setup();
    refused(await login({ body: '{"username":"alice","username":"bob"}' }), 'body_malformed');
    assert.deepEqual(calls.limiter, []);
    assert.equal(logs[0]?.msg, 'login failed');
    assert.equal(logs[0]?.code, 'body_malformed');
  });

  test('with a per-username limit, a body without a username (or a blank one) is refused', async () => {
    for (const body of ['{"password":"wonderland"}', '{"username":"  ","password":"wonderland"}']) {
      const { login, calls } = setup();
      refused(await login({ body }), 'username_missing');
      assert.deepEqual(calls.limiter, []);
    }
  });

  for (const key of ['ip', 'user'] as const) {
    test(`over the ${key} limit: rate_limited with Retry-After, counted by key, the authenticator not asked`, async () => {
      const { login, calls, logs, count } = setup({ limit: { key, retryAfterSeconds: 42 } });
      const error = refused(await login(), 'rate_limited');
      assert.deepEqual(error.headers, { 'retry-after': '42' });
      assert.deepEqual(calls.authenticator, []);
      assert.equal(await count('rateLimited', key), 1);
      assert.equal(await count('logins', 'rate_limited'), 1);
      assert.equal(logs[0]?.username, 'alice');
    });
  }
});

describe('login flow: refused after the authenticator was asked, the attempt withdrawn', () => {
  test('the authenticator fails: its code, counted as its outcome', async () => {
    const { login, calls, count } = setup({ answer: new AppError('authenticator_timeout', 'no answer in time') });
    refused(await login(), 'authenticator_timeout');
    assert.equal(calls.withdrawn, 1);
    assert.equal(await count('authenticatorCalls', 'authenticator_timeout'), 1);
    assert.equal(await count('logins', 'authenticator_timeout'), 1);
  });

  test('an answer with no subject in any subject field: authenticator_bad_response, nothing signed', async () => {
    for (const fields of [{ name: 'Alice' }, { sub: '' }, { sub: null, id: Number.NaN }, { sub: ['alice'] }]) {
      const { login, calls } = setup({ answer: user(fields) });
      refused(await login(), 'authenticator_bad_response');
      assert.deepEqual(calls.signer, []);
      assert.equal(calls.withdrawn, 1);
    }
  });

  test('a token longer than /check accepts: issued_token_too_long, and no success is logged', async () => {
    const { login, calls, logs } = setup({ maxTokenLength: TOKEN.length - 1 });
    refused(await login(), 'issued_token_too_long');
    assert.equal(calls.withdrawn, 1);
    assert.deepEqual(
      logs.map((line) => line.msg),
      ['login failed'],
    );
  });

  test('a token that fits /check but not a 4096-byte Set-Cookie: issued_token_too_long in cookie mode only', async () => {
    const long = `${TOKEN}${'A'.repeat(4096)}`;
    refused(await setup({ setCookie: true, signed: { token: long } }).login(), 'issued_token_too_long');
    assert.equal(issued(await setup({ signed: { token: long } }).login()).issued.body.token, long);
  });

  test('an unexpected error becomes internal_error, with the error as its cause', async () => {
    const bug = new TypeError('a bug');
    const { login, calls } = setup({ signed: bug });
    const error = refused(await login(), 'internal_error');
    assert.equal(error.cause, bug);
    assert.equal(calls.withdrawn, 1);
  });
});
