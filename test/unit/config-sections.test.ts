/**
 * Each configuration section on its own: it reads its variables, checks its rules (the cross-field
 * ones too) and reports problems that name its variables, without any other section being read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseClaimPath } from '../../src/claim-path.js';
import { readAuthenticator } from '../../src/config/authenticator.js';
import { readCheck } from '../../src/config/check.js';
import { readCookie } from '../../src/config/cookie.js';
import { readCsrf } from '../../src/config/csrf.js';
import { EnvReader } from '../../src/config/env-reader.js';
import { readIdentityHeaders } from '../../src/config/identity-headers.js';
import { PUBLIC_KEY_ALGORITHMS, readIssuers } from '../../src/config/issuers.js';
import { readJwt } from '../../src/config/jwt.js';
import { readLogging } from '../../src/config/logging.js';
import { TrustedProxyList, readLogin } from '../../src/config/login.js';
import { readPages } from '../../src/config/pages.js';
import { parseRedisUrl, readRedis, redisTarget } from '../../src/config/redis.js';
import { readRevocation } from '../../src/config/revocation.js';
import { readServer } from '../../src/config/server.js';
import { readSession } from '../../src/config/session.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { tokenCookie } from '../../src/http/cookie.js';
import { KeyFiles, hmacSecret } from '../../support/keys.js';

/** What one section makes of an environment: its value and the problems it reported. */
function read<T>(section: (env: EnvReader) => T, vars: Record<string, string>): { value: T; problems: readonly string[] } {
  const env = new EnvReader(vars);
  const value = section(env);
  return { value, problems: env.problems };
}

function assertRefused(problems: readonly string[], variable: string, value?: string): void {
  assert.ok(problems.length > 0, `expected a problem naming ${variable}`);
  assert.ok(
    problems.every((problem) => problem.includes(variable)),
    problems.join('\n'),
  );
  if (value !== undefined)
    assert.ok(
      problems.some((problem) => problem.includes(`"${value}"`)),
      `the value is quoted: ${problems.join('\n')}`,
    );
}

describe('every section reads its defaults without a problem', () => {
  const sections = {
    readServer,
    readLogging,
    readIssuers,
    readCheck,
    readIdentityHeaders,
    readCookie,
    readLogin,
    readCsrf,
    readAuthenticator,
    readPages,
    readRedis,
  };
  for (const [name, section] of Object.entries(sections)) {
    test(name, () => assert.deepEqual(read(section as (env: EnvReader) => unknown, {}).problems, []));
  }
  test('readJwt, given its one required variable', () => assert.deepEqual(read(readJwt, { JWT_SECRET: hmacSecret('HS256') }).problems, []));
});

describe('durations are milliseconds; those counted in whole seconds are rounded down to one', () => {
  const rows: Array<[name: string, section: (env: EnvReader) => unknown, vars: Record<string, string>, pick: (value: never) => number, expected: number]> = [
    ['JWT_TTL=90.9s', readJwt, { JWT_SECRET: hmacSecret('HS256'), JWT_TTL: '90.9s' }, (jwt: { ttlMs: number }) => jwt.ttlMs, 90_000],
    ['JWT_TTL=1500ms', readJwt, { JWT_SECRET: hmacSecret('HS256'), JWT_TTL: '1500ms' }, (jwt: { ttlMs: number }) => jwt.ttlMs, 1000],
    [
      'JWT_CLOCK_TOLERANCE keeps milliseconds',
      readJwt,
      { JWT_SECRET: hmacSecret('HS256'), JWT_CLOCK_TOLERANCE: '1500ms' },
      (jwt: { clockToleranceMs: number }) => jwt.clockToleranceMs,
      1500,
    ],
    ['CHECK_CACHE_MAX_AGE=2500ms', readCheck, { CHECK_CACHE_MAX_AGE: '2500ms' }, (check: { cacheMaxAgeMs: number }) => check.cacheMaxAgeMs, 2000],
    ['CHECK_CACHE_MAX_AGE=500ms is no caching', readCheck, { CHECK_CACHE_MAX_AGE: '500ms' }, (check: { cacheMaxAgeMs: number }) => check.cacheMaxAgeMs, 0],
    ['LOGIN_FAILURE_WINDOW default 15m', readLogin, {}, (login: { failureWindowMs: number }) => login.failureWindowMs, 900_000],
    ['LOGIN_FAILURE_WINDOW=1999ms', readLogin, { LOGIN_FAILURE_WINDOW: '1999ms' }, (login: { failureWindowMs: number }) => login.failureWindowMs, 1000],
    ['SHUTDOWN_TIMEOUT default 10s', readServer, {}, (server: { shutdownTimeoutMs: number }) => server.shutdownTimeoutMs, 10_000],
    ['SERVER_HEADERS_TIMEOUT=250ms', readServer, { SERVER_HEADERS_TIMEOUT: '250ms' }, (server: { headersTimeoutMs: number }) => server.headersTimeoutMs, 250],
    [
      'AUTHENTICATOR_TIMEOUT=1500ms',
      readAuthenticator,
      { AUTHENTICATOR_TIMEOUT: '1500ms' },
      (authenticator: { timeoutMs: number }) => authenticator.timeoutMs,
      1500,
    ],
  ];
  for (const [name, section, vars, pick, expected] of rows) {
    test(`${name} → ${expected} ms`, () => {
      const { value, problems } = read(section, vars);
      assert.deepEqual(problems, []);
      assert.equal(pick(value as never), expected);
    });
  }

  test('JWT_TTL below one second is refused rather than rounded to zero', () =>
    assertRefused(read(readJwt, { JWT_SECRET: hmacSecret('HS256'), JWT_TTL: '999ms' }).problems, 'JWT_TTL', '999ms'));
  test('LOGIN_FAILURE_WINDOW below one second is refused', () =>
    assertRefused(read(readLogin, { LOGIN_FAILURE_WINDOW: '10ms' }).problems, 'LOGIN_FAILURE_WINDOW', '10ms'));
});

describe('server section', () => {
  test('SERVER_HEADERS_TIMEOUT longer than SERVER_REQUEST_TIMEOUT is refused, naming both', () => {
    const { problems } = read(readServer, { SERVER_HEADERS_TIMEOUT: '40s', SERVER_REQUEST_TIMEOUT: '30s' });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0]?.includes('SERVER_HEADERS_TIMEOUT') && problems[0].includes('SERVER_REQUEST_TIMEOUT'), problems[0]);
  });
  test('equal bounds are accepted', () => assert.deepEqual(read(readServer, { SERVER_HEADERS_TIMEOUT: '30s', SERVER_REQUEST_TIMEOUT: '30s' }).problems, []));
  test('a bound under 100 ms is refused', () => assertRefused(read(readServer, { SERVER_REQUEST_TIMEOUT: '50ms' }).problems, 'SERVER_REQUEST_TIMEOUT', '50ms'));
  for (const host of ['999.1.1.1', '1.2.3.4.5', '10.0.0', 'host name', 'a..b', 'http://127.0.0.1', '[::1]'])
    test(`HOST=${host} is refused: neither an IP address nor a host name`, () => assertRefused(read(readServer, { HOST: host }).problems, 'HOST', host));
  for (const host of ['127.0.0.1', '::', '::1', '0.0.0.0', 'localhost', 'auth-1.internal.example'])
    test(`HOST=${host} is accepted`, () => assert.equal(read(readServer, { HOST: host }).value.host, host));
  for (const [why, path] of [
    ['a relative path', 'run/auth.sock'],
    ['longer than a unix socket address holds (107 bytes)', `/${'a'.repeat(107)}`],
  ] as const)
    test(`SOCKET_PATH ${why} is refused`, () => assertRefused(read(readServer, { SOCKET_PATH: path }).problems, 'SOCKET_PATH', path));
  test('SOCKET_PATH of 107 bytes is accepted', () =>
    assert.equal(read(readServer, { SOCKET_PATH: `/${'a'.repeat(106)}` }).value.socketPath, `/${'a'.repeat(106)}`));
});

describe('logging section', () => {
  test('LOG_LEVEL and LOG_DENY_RATE', () =>
    assert.deepEqual(read(readLogging, { LOG_LEVEL: 'WARN', LOG_DENY_RATE: '0' }).value, { level: 'warn', denyRate: 0 }));
  test('an unknown LOG_LEVEL is refused', () => assertRefused(read(readLogging, { LOG_LEVEL: 'loud' }).problems, 'LOG_LEVEL', 'loud'));
});

describe('jwt section: exactly the key material the algorithm uses', () => {
  test('a secret for RS256 is refused together with the missing key file', () => {
    const { problems } = read(readJwt, { JWT_ALGORITHM: 'RS256', JWT_SECRET: hmacSecret('HS256') });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.ok(
      problems.some((problem) => problem.startsWith('JWT_SECRET is set but JWT_ALGORITHM is RS256')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((problem) => problem.startsWith('JWT_PRIVATE_KEY_FILE (sign and verify) or JWT_PUBLIC_KEY_FILE')),
      problems.join('\n'),
    );
  });
  test('HS512 refuses a secret sized for HS256', () =>
    assertRefused(read(readJwt, { JWT_ALGORITHM: 'HS512', JWT_SECRET: 'k'.repeat(32) }).problems, 'JWT_SECRET'));
});

describe('check section', () => {
  test('ROLES_CLAIM and SCOPES_CLAIM: one problem per bad claim name, each naming its variable and value', () => {
    const { value, problems } = read(readCheck, { ROLES_CLAIM: 'realm_access..roles', SCOPES_CLAIM: 'scp,urn:x:scopes,["ok"],a b' });
    assert.equal(problems.length, 3, problems.join('\n'));
    assertRefused([problems[0] as string], 'ROLES_CLAIM', 'realm_access..roles');
    assertRefused([problems[1] as string], 'SCOPES_CLAIM', 'urn:x:scopes');
    assertRefused([problems[2] as string], 'SCOPES_CLAIM', 'a b');
    assert.deepEqual(
      value.scopesClaims.map((path) => path.segments),
      [['scp'], ['ok']],
    );
  });
  test('ROLES_CLAIM names one claim', () => assertRefused(read(readCheck, { ROLES_CLAIM: 'roles, groups' }).problems, 'ROLES_CLAIM'));
  test('CHECK_REALM with a quote and a backslash is visible ASCII, so accepted', () =>
    assert.deepEqual(read(readCheck, { CHECK_REALM: 'a "b" \\c' }).problems, []));
  for (const realm of ['line\r\nX-Injected: 1', 'tab\there', 'caf\u00e9']) {
    test(`CHECK_REALM=${JSON.stringify(realm)} is refused`, () => assertRefused(read(readCheck, { CHECK_REALM: realm }).problems, 'CHECK_REALM'));
  }
});

describe('identity headers section', () => {
  test('header names are lower-cased, claims kept as written', () => {
    assert.deepEqual(read(readIdentityHeaders, { IDENTITY_HEADERS: 'Email:X-Auth-Email' }).value.headers, [
      { claim: parseClaimPath('Email'), header: 'x-auth-email' },
    ]);
  });
  test('a quoted claim name may hold : and , (the pair splits at its last :, the list outside quotes)', () => {
    const { value, problems } = read(readIdentityHeaders, { IDENTITY_HEADERS: '["urn:a,b"]:X-A, resource_access["my.app"].roles : X-B' });
    assert.deepEqual(problems, []);
    assert.deepEqual(
      value.headers.map(({ claim, header }) => [claim.segments, header]),
      [
        [['urn:a,b'], 'x-a'],
        [['resource_access', 'my.app', 'roles'], 'x-b'],
      ],
    );
  });
  test('one problem per bad pair, the good ones kept', () => {
    const { value, problems } = read(readIdentityHeaders, { IDENTITY_HEADERS: 'sub:X-A,https://example.org/roles:X-B,realm_access.roles:X-C,a.:X-D' });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0] as string, /^IDENTITY_HEADERS: .*\["https:\/\/example\.org\/roles"\]/);
    assert.deepEqual(
      value.headers.map(({ header }) => header),
      ['x-a', 'x-c'],
    );
  });
  for (const pair of [
    'sub:X-Auth\r\nX-Injected',
    'sub:X-Auth:User',
    'sub:',
    ':X-Auth-User',
    'sub:X(Auth)',
    'https://example.org/roles:X-Auth-Roles',
    '["a"]',
  ]) {
    test(`IDENTITY_HEADERS=${JSON.stringify(pair)} is refused and left out`, () => {
      const { value, problems } = read(readIdentityHeaders, { IDENTITY_HEADERS: pair });
      assertRefused(problems, 'IDENTITY_HEADERS');
      assert.deepEqual(value.headers, []);
    });
  }
  test('IDENTITY_HEADER_MAX_LENGTH and IDENTITY_HEADERS_MAX_TOTAL', () => {
    const { value } = read(readIdentityHeaders, { IDENTITY_HEADER_MAX_LENGTH: '100', IDENTITY_HEADERS_MAX_TOTAL: '1kb' });
    assert.deepEqual([value.maxValueLength, value.maxTotalBytes], [100, 1024]);
  });
});

describe('cookie section: every value goes into Set-Cookie, so each is held to its RFC 6265 grammar', () => {
  test('the defaults', () => {
    assert.deepEqual(read(readCookie, {}).value, { name: undefined, setOnLogin: false, secure: true, sameSite: 'Lax', domain: undefined, path: '/' });
  });

  test('every variable', () => {
    const vars = {
      TOKEN_COOKIE: 'jwt',
      LOGIN_SET_COOKIE: 'true',
      COOKIE_SECURE: 'true',
      COOKIE_SAMESITE: 'none',
      COOKIE_DOMAIN: 'app.example',
      COOKIE_PATH: '/app',
    };
    assert.deepEqual(read(readCookie, vars).value, { name: 'jwt', setOnLogin: true, secure: true, sameSite: 'None', domain: 'app.example', path: '/app' });
  });

  test('LOGIN_SET_COOKIE=true without TOKEN_COOKIE is refused, naming both', () => {
    const { problems } = read(readCookie, { LOGIN_SET_COOKIE: 'true' });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0]?.includes('LOGIN_SET_COOKIE') && problems[0].includes('TOKEN_COOKIE'), problems[0]);
  });

  test('COOKIE_SAMESITE=None with COOKIE_SECURE=false is refused, naming both', () => {
    const { problems } = read(readCookie, { COOKIE_SAMESITE: 'None', COOKIE_SECURE: 'false' });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0]?.includes('COOKIE_SAMESITE') && problems[0].includes('COOKIE_SECURE'), problems[0]);
  });

  const goodPaths = ['/', '/app', '/app/', '/a b', '/~user/x-y_z.html', '/%3B', '/a=b,c'];
  for (const path of goodPaths) {
    test(`COOKIE_PATH=${JSON.stringify(path)} is accepted as is`, () => {
      const { value, problems } = read(readCookie, { COOKIE_PATH: path });
      assert.deepEqual(problems, []);
      assert.equal(value.path, path);
    });
  }
  const badPaths = ['/; Domain=evil.example', '/app;', '/\r\nSet-Cookie: x=1', '/a\tb', '/\x00', '/\x7f', '/caf\u00e9', 'app', ' /app'];
  for (const path of badPaths) {
    test(`COOKIE_PATH=${JSON.stringify(path)} is refused`, () => assertRefused(read(readCookie, { COOKIE_PATH: path }).problems, 'COOKIE_PATH'));
  }

  const goodDomains = ['app.example', '.app.example', 'localhost', 'a-b.example', 'x1.example.co.uk', '127.0.0.1', 'App.Example'];
  for (const domain of goodDomains) {
    test(`COOKIE_DOMAIN=${JSON.stringify(domain)} is accepted as is`, () => {
      const { value, problems } = read(readCookie, { COOKIE_DOMAIN: domain });
      assert.deepEqual(problems, []);
      assert.equal(value.domain, domain);
    });
  }
  const badDomains = [
    'app.example; Secure',
    'app.example;',
    'evil.example\r\nX: 1',
    'app example',
    'app_x.example',
    'https://app.example',
    'app.example/',
    'app.example:8080',
    '-app.example',
    'app-.example',
    'app..example',
    'app.example.',
    '.',
    '..app.example',
    'caf\u00e9.example',
    `${'a'.repeat(64)}.example`,
    `${'a.'.repeat(127)}ab`,
  ];
  for (const domain of badDomains) {
    test(`COOKIE_DOMAIN=${JSON.stringify(domain.length > 40 ? `${domain.slice(0, 40)}…` : domain)} is refused`, () =>
      assertRefused(read(readCookie, { COOKIE_DOMAIN: domain }).problems, 'COOKIE_DOMAIN'));
  }

  for (const name of ['my cookie', 'jwt;x', 'jwt=x', 'j\u00e9t', 'a"b']) {
    test(`TOKEN_COOKIE=${JSON.stringify(name)} is refused`, () => assertRefused(read(readCookie, { TOKEN_COOKIE: name }).problems, 'TOKEN_COOKIE'));
  }

  test('an accepted COOKIE_PATH and COOKIE_DOMAIN are one attribute each in the Set-Cookie line', () => {
    const { value } = read(readCookie, { TOKEN_COOKIE: 'jwt', COOKIE_PATH: '/a b', COOKIE_DOMAIN: '.app.example' });
    const attributes = tokenCookie('jwt', 'token', 60, value).split('; ');
    assert.deepEqual(attributes, ['jwt=token', 'Max-Age=60', 'Path=/a b', 'HttpOnly', 'SameSite=Lax', 'Secure', 'Domain=.app.example']);
  });

  test('a refused COOKIE_PATH stops the service from starting', () => {
    assert.throws(
      () => loadConfig({ JWT_SECRET: hmacSecret('HS256'), COOKIE_PATH: '/; Domain=evil.example' }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('COOKIE_PATH'),
    );
  });
});

describe('login section: TRUSTED_PROXIES is checked and compiled in one pass', () => {
  test('the default trusts loopback only', () => {
    const proxies = read(readLogin, {}).value.trustedProxies;
    assert.deepEqual(
      ['127.0.0.1', '::1', '10.0.0.1'].map((address) => proxies.has(address)),
      [true, true, false],
    );
  });

  test('every entry that is not an address or CIDR range is refused, each named once', () => {
    const { problems } = read(readLogin, { TRUSTED_PROXIES: '10.0.0.1, nginx.local, 10.0.0.0/33, ::1/129, 10.0.0.0/8/8, 10.0.0.0/x, fd00::/8' });
    assert.deepEqual(
      problems,
      ['nginx.local', '10.0.0.0/33', '::1/129', '10.0.0.0/8/8', '10.0.0.0/x'].map((entry) => `TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range`),
    );
  });

  test('TrustedProxyList.parse keeps the valid entries usable next to refused ones', () => {
    const { proxies, refused } = TrustedProxyList.parse(['10.0.0.0/8', 'proxy.internal']);
    assert.deepEqual(refused, ['proxy.internal']);
    assert.deepEqual(proxies.entries, ['10.0.0.0/8']);
    assert.equal(proxies.has('10.1.2.3'), true);
  });

  test('lists of the same entries compare equal, of different ones not', () => {
    assert.deepEqual(TrustedProxyList.parse(['10.0.0.1']).proxies, TrustedProxyList.parse(['10.0.0.1']).proxies);
    assert.notDeepEqual(TrustedProxyList.parse(['10.0.0.1']).proxies, TrustedProxyList.parse(['10.0.0.2']).proxies);
  });
});

describe('session section: renewal, the absolute lifetime, refresh tokens', () => {
  const jwt = { ttlMs: 600_000 };
  const session = (vars: Record<string, string>, setOnLogin = true) => read((env) => readSession(env, jwt, { setOnLogin }), vars);
  test('defaults: no renewal, 12h sessions, no refresh tokens', () => {
    assert.deepEqual(session({}), { value: { renewBeforeMs: 0, maxLifetimeMs: 43_200_000, refreshTokenTtlMs: 0 }, problems: [] });
  });
  test('durations in whole seconds', () => {
    const { value, problems } = session({ SESSION_RENEW_BEFORE: '2.5m', SESSION_MAX_LIFETIME: '8h', REFRESH_TOKEN_TTL: '1h' });
    assert.deepEqual(problems, []);
    assert.deepEqual(value, { renewBeforeMs: 150_000, maxLifetimeMs: 28_800_000, refreshTokenTtlMs: 3_600_000 });
  });
  const refused: Array<[string, Record<string, string>, string, boolean?]> = [
    ['renewal without the service setting the cookie', { SESSION_RENEW_BEFORE: '1m' }, 'SESSION_RENEW_BEFORE', false],
    ['a renewal window as long as JWT_TTL', { SESSION_RENEW_BEFORE: '10m' }, 'SESSION_RENEW_BEFORE'],
    ['a session shorter than JWT_TTL', { SESSION_MAX_LIFETIME: '5m' }, 'SESSION_MAX_LIFETIME'],
    ['a refresh token outliving the session', { REFRESH_TOKEN_TTL: '13h' }, 'REFRESH_TOKEN_TTL'],
    ['a duration that is none', { SESSION_RENEW_BEFORE: 'soon' }, 'SESSION_RENEW_BEFORE'],
  ];
  for (const [name, vars, variable, setOnLogin] of refused) test(`refused: ${name}`, () => assertRefused(session(vars, setOnLogin).problems, variable));
});

describe('csrf section', () => {
  test('origins are serialized as browsers send them', () => {
    assert.deepEqual(read(readCsrf, { CSRF_ALLOWED_ORIGINS: 'HTTPS://App.Example:443' }).value.allowedOrigins, ['https://app.example']);
  });
  test('a path after the origin is refused', () =>
    assertRefused(read(readCsrf, { CSRF_ALLOWED_ORIGINS: 'https://app.example/x' }).problems, 'CSRF_ALLOWED_ORIGINS', 'https://app.example/x'));
});

describe('authenticator section', () => {
  test('AUTHENTICATOR_URL must be http(s)', () =>
    assertRefused(read(readAuthenticator, { AUTHENTICATOR_URL: 'file:///etc/passwd' }).problems, 'AUTHENTICATOR_URL', 'file:///etc/passwd'));
  test('AUTHENTICATOR_MAX_RESPONSE and AUTHENTICATOR_PASS_COOKIES', () => {
    const { value } = read(readAuthenticator, { AUTHENTICATOR_MAX_RESPONSE: '1mb', AUTHENTICATOR_PASS_COOKIES: 'yes' });
    assert.deepEqual([value.maxResponseBytes, value.passCookies], [1024 * 1024, true]);
  });
});

describe('pages section: paths that go into Location headers and links, files read once', () => {
  test('LOGIN_PATH_PREFIX, LOGIN_REDIRECT_DEFAULT, LOGOUT_REDIRECT and PAGES_SITE_NAME are taken as given', () => {
    const { value, problems } = read(readPages, {
      LOGIN_PATH_PREFIX: '/auth/v1',
      LOGIN_REDIRECT_DEFAULT: '/whoami?tab=1',
      LOGOUT_REDIRECT: '/goodbye',
      PAGES_SITE_NAME: 'Acme & Co',
    });
    assert.deepEqual(problems, []);
    assert.deepEqual([value.pathPrefix, value.defaultRedirect, value.logoutRedirect, value.siteName], ['/auth/v1', '/whoami?tab=1', '/goodbye', 'Acme & Co']);
  });
  for (const prefix of ['auth', '/auth/', '/a b', '/auth/..', '/auth?x', '//auth']) {
    test(`LOGIN_PATH_PREFIX=${JSON.stringify(prefix)} is refused`, () =>
      assertRefused(read(readPages, { LOGIN_PATH_PREFIX: prefix }).problems, 'LOGIN_PATH_PREFIX', prefix));
  }
  for (const path of ['https://evil.example/', '//evil.example/', '/\\evil.example', 'whoami', '/a b', '/x\r\nSet-Cookie: a=b']) {
    test(`LOGIN_REDIRECT_DEFAULT and LOGOUT_REDIRECT refuse ${JSON.stringify(path)}: they must stay on this site`, () => {
      assertRefused(read(readPages, { LOGIN_REDIRECT_DEFAULT: path }).problems, 'LOGIN_REDIRECT_DEFAULT');
      assertRefused(read(readPages, { LOGOUT_REDIRECT: path }).problems, 'LOGOUT_REDIRECT');
    });
  }
  test('a PAGES_TEMPLATE_FILE without {{content}}, an unreadable one, and a stylesheet that would end its <style> are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pages-config-'));
    try {
      writeFileSync(join(dir, 'template.html'), '<html>{{title}}</html>');
      writeFileSync(join(dir, 'style.css'), 'a { color: red } </style><script>alert(1)</script>');
      assertRefused(read(readPages, { PAGES_TEMPLATE_FILE: join(dir, 'template.html') }).problems, 'PAGES_TEMPLATE_FILE');
      assertRefused(read(readPages, { PAGES_TEMPLATE_FILE: join(dir, 'missing.html') }).problems, 'PAGES_TEMPLATE_FILE');
      assertRefused(read(readPages, { PAGES_STYLE_FILE: join(dir, 'style.css') }).problems, 'PAGES_STYLE_FILE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('redis section: one URL for a server, Sentinel or Cluster; the URL is never repeated in a problem', () => {
  const rows: Array<[string, string, unknown]> = [
    [
      'one server, defaults',
      'redis://localhost',
      { kind: 'standalone', node: { host: 'localhost', port: 6379 }, db: 0, username: undefined, password: undefined, tls: false },
    ],
    [
      'one server with ACL user, password, database and TLS',
      'rediss://app:p%40ss@10.0.0.5:6380/2',
      { kind: 'standalone', node: { host: '10.0.0.5', port: 6380 }, db: 2, username: 'app', password: 'p@ss', tls: true },
    ],
    [
      'a password without a user',
      'redis://:secret@[::1]:7000',
      { kind: 'standalone', node: { host: '::1', port: 7000 }, db: 0, username: undefined, password: 'secret', tls: false },
    ],
    [
      'Sentinel: the sentinels, the master name, a database and a sentinel password',
      'redis+sentinel://:pw@s1,s2:26380/mymaster/3?sentinelPassword=sp',
      {
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        name: 'mymaster',
        db: 3,
        sentinelPassword: 'sp',
        username: undefined,
        password: 'pw',
        tls: false,
      },
    ],
    [
      'Cluster: seed nodes over TLS',
      'rediss+cluster://n1:7000,n2',
      {
        kind: 'cluster',
        nodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 6379 },
        ],
        username: undefined,
        password: undefined,
        tls: true,
      },
    ],
  ];
  for (const [name, url, expected] of rows) test(name, () => assert.deepEqual(parseRedisUrl(url), expected));

  const refused: Array<[string, string]> = [
    ['another scheme', 'http://:hunter2@localhost'],
    ['two hosts without sentinel or cluster', 'redis://:hunter2@a,b'],
    ['a database that is not a number', 'redis://:hunter2@a/zero'],
    ['Sentinel without a master name', 'redis+sentinel://:hunter2@a'],
    ['Cluster with a database', 'redis+cluster://:hunter2@a/1'],
    ['a port out of range', 'redis://:hunter2@a:70000'],
  ];
  for (const [name, url] of refused) {
    test(`refused: ${name}, without the password in the problem`, () => {
      const { problems } = read(readRedis, { REDIS_URL: url });
      assertRefused(problems, 'REDIS_URL');
      assert.ok(!problems.join('\n').includes('hunter2'), problems.join('\n'));
    });
  }

  test('REDIS_URL_FILE holds a URL with a password; the target that logs and /readyz show has none', () => {
    const files = new KeyFiles();
    try {
      const { value, problems } = read(readRedis, { REDIS_URL_FILE: files.write('redis-url', 'redis://app:hunter2@cache:6379/1\n') });
      assert.deepEqual(problems, []);
      assert.ok(value.topology?.kind === 'standalone');
      assert.equal(value.topology.password, 'hunter2');
      assert.equal(redisTarget(value.topology), 'redis cache:6379/1');
    } finally {
      files.remove();
    }
  });
  test('an unreadable REDIS_URL_FILE is refused, naming it', () =>
    assertRefused(read(readRedis, { REDIS_URL_FILE: '/nonexistent/redis-url' }).problems, 'REDIS_URL_FILE'));
  test('REDIS_URL and REDIS_URL_FILE together are refused', () =>
    assertRefused(read(readRedis, { REDIS_URL: 'redis://a', REDIS_URL_FILE: '/x' }).problems, 'REDIS_URL'));
  test('the timeouts, the reconnection cap and the key prefix', () => {
    const { value, problems } = read(readRedis, {
      REDIS_URL: 'redis://a',
      REDIS_CONNECT_TIMEOUT: '500ms',
      REDIS_COMMAND_TIMEOUT: '250ms',
      REDIS_RECONNECT_MAX_DELAY: '5s',
      REDIS_KEY_PREFIX: 'prod:auth:',
    });
    assert.deepEqual(problems, []);
    assert.deepEqual([value.connectTimeoutMs, value.commandTimeoutMs, value.reconnectMaxDelayMs, value.keyPrefix], [500, 250, 5000, 'prod:auth:']);
  });
  test('a key prefix with a space is refused', () => assertRefused(read(readRedis, { REDIS_KEY_PREFIX: 'a b' }).problems, 'REDIS_KEY_PREFIX', 'a b'));
});

describe('revocation section', () => {
  test('REVOCATION_MAX_TOKEN_LIFETIME in whole seconds', () =>
    assert.equal(read((env) => readRevocation(env, 3_600_000), { REVOCATION_MAX_TOKEN_LIFETIME: '7d' }).value.maxTokenLifetimeMs, 7 * 86_400_000));
  test('shorter than JWT_TTL is refused, naming both: a subject revocation would end before the tokens it covers', () => {
    const { problems } = read((env) => readRevocation(env, 3_600_000), { REVOCATION_MAX_TOKEN_LIFETIME: '30m' });
    assertRefused(problems, 'REVOCATION_MAX_TOKEN_LIFETIME', '30m');
    assert.match(problems[0] ?? '', /JWT_TTL/);
  });
  test('through loadConfig, against the JWT_TTL it reads', () =>
    assert.throws(
      () => loadConfig({ JWT_SECRET: hmacSecret('HS256'), JWT_TTL: '2d', REVOCATION_MAX_TOKEN_LIFETIME: '1d' }),
      /REVOCATION_MAX_TOKEN_LIFETIME: must be at least JWT_TTL/,
    ));
  test('unset, it is 24h or JWT_TTL when that is longer', () =>
    assert.equal(loadConfig({ JWT_SECRET: hmacSecret('HS256'), JWT_TTL: '2d' }).revocation.maxTokenLifetimeMs, 2 * 86_400_000));
});

describe('issuers section: identity providers and how their keys are fetched', () => {
  const issuersFile = (content: unknown): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'issuers-')), 'issuers.json');
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  test('OIDC_ISSUER with OIDC_AUDIENCE: one issuer found by discovery, any public-key algorithm, the service-wide claims', () => {
    const { value, problems } = read(readIssuers, { OIDC_ISSUER: 'https://idp.example/realms/main', OIDC_AUDIENCE: 'api, admin-api' });
    assert.deepEqual(problems, []);
    assert.deepEqual(value.trusted, [
      {
        issuer: 'https://idp.example/realms/main',
        jwksUri: undefined,
        audiences: ['api', 'admin-api'],
        algorithms: [...PUBLIC_KEY_ALGORITHMS],
        claims: undefined,
        identityHeaders: undefined,
        origin: 'OIDC_ISSUER',
      },
    ]);
  });

  test('OIDC_ISSUER without OIDC_AUDIENCE is refused: any token of the provider, for any client, would pass', () =>
    assertRefused(read(readIssuers, { OIDC_ISSUER: 'https://idp.example' }).problems, 'OIDC_AUDIENCE'));

  test('OIDC_AUDIENCE without OIDC_ISSUER is refused', () => assertRefused(read(readIssuers, { OIDC_AUDIENCE: 'api' }).problems, 'OIDC_AUDIENCE'));

  test('keys come over https; plain http only to loopback, unless JWKS_ALLOW_HTTP', () => {
    assertRefused(read(readIssuers, { OIDC_ISSUER: 'http://idp.example', OIDC_AUDIENCE: 'api' }).problems, 'OIDC_ISSUER');
    assertRefused(read(readIssuers, { JWT_JWKS_URL: 'http://keys.internal/jwks.json' }).problems, 'JWT_JWKS_URL');
    assertRefused(read(readIssuers, { JWT_JWKS_URL: 'ftp://keys.example/jwks.json' }).problems, 'JWT_JWKS_URL');
    assertRefused(read(readIssuers, { JWT_JWKS_URL: 'https://user:pw@keys.example/jwks.json' }).problems, 'JWT_JWKS_URL');
    for (const url of ['http://127.0.0.1:8080/jwks', 'http://localhost/jwks', 'http://[::1]:1/jwks', 'https://keys.example/jwks.json'])
      assert.deepEqual(read(readIssuers, { JWT_JWKS_URL: url }).problems, [], url);
    assert.deepEqual(read(readIssuers, { JWT_JWKS_URL: 'http://keys.internal/jwks.json', JWKS_ALLOW_HTTP: 'true' }).problems, []);
  });

  test('JWKS_ALGORITHMS: public-key algorithms only, since a key server must never publish a shared secret', () => {
    assert.deepEqual(read(readIssuers, { JWT_JWKS_URL: 'https://k.example/j', JWKS_ALGORITHMS: 'RS256,ES256' }).value.ownJwksAlgorithms, ['RS256', 'ES256']);
    assertRefused(read(readIssuers, { JWKS_ALGORITHMS: 'HS256' }).problems, 'JWKS_ALGORITHMS');
    assertRefused(read(readIssuers, { JWKS_ALGORITHMS: 'RS257' }).problems, 'JWKS_ALGORITHMS');
  });

  test("JWKS_UNKNOWN_KID_WAIT must end before nginx's 5s proxy_read_timeout of the auth location, which would answer 500", () => {
    assertRefused(read(readIssuers, { JWKS_UNKNOWN_KID_WAIT: '5s' }).problems, 'JWKS_UNKNOWN_KID_WAIT');
    assert.equal(read(readIssuers, { JWKS_UNKNOWN_KID_WAIT: '4s' }).value.jwks.unknownKidWaitMs, 4000);
  });

  test('JWKS_CACHE_MAX shorter than JWKS_CACHE_MIN is refused', () =>
    assertRefused(read(readIssuers, { JWKS_CACHE_MIN: '1h', JWKS_CACHE_MAX: '5m' }).problems, 'JWKS_CACHE_M'));

  test('ISSUERS_FILE: each issuer with its own keys, audiences, algorithms and claims', () => {
    const path = issuersFile({
      issuers: [
        { issuer: 'https://kc.example/realms/a', audiences: ['api'], roles_claim: 'realm_access.roles' },
        {
          issuer: 'https://tenant.auth0.example/',
          jwks_uri: 'https://tenant.auth0.example/.well-known/jwks.json',
          audiences: 'https://api.example',
          algorithms: ['RS256'],
          scopes_claim: 'permissions',
        },
      ],
    });
    const { value, problems } = read(readIssuers, { ISSUERS_FILE: path });
    assert.deepEqual(problems, []);
    const [keycloak, auth0] = value.trusted;
    assert.equal(keycloak?.jwksUri, undefined);
    assert.deepEqual(keycloak?.claims?.rolesClaim.segments, ['realm_access', 'roles']);
    assert.deepEqual(
      keycloak?.claims?.scopesClaims.map((path) => path.text),
      ['scope', 'scp'],
    );
    assert.equal(auth0?.jwksUri, 'https://tenant.auth0.example/.well-known/jwks.json');
    assert.deepEqual(auth0?.audiences, ['https://api.example']);
    assert.deepEqual(auth0?.algorithms, ['RS256']);
    assert.deepEqual(auth0?.claims?.rolesClaim.text, 'roles');
    assert.deepEqual(
      auth0?.claims?.scopesClaims.map((path) => path.text),
      ['permissions'],
    );
  });

  test("ISSUERS_FILE: an issuer's identity_headers, onto IDENTITY_HEADERS' header names only", () => {
    const mapping = 'preferred_username:X-Auth-User,realm_access.roles:X-Auth-Roles';
    const path = issuersFile([{ issuer: 'https://kc.example/realms/a', audiences: ['api'], identity_headers: mapping }]);
    const config = loadConfig({ JWT_SECRET: hmacSecret('HS256'), ISSUERS_FILE: path });
    assert.deepEqual(
      config.issuers.trusted[0]?.identityHeaders?.map(({ claim, header }) => [claim.text, header]),
      [
        ['preferred_username', 'x-auth-user'],
        ['realm_access.roles', 'x-auth-roles'],
      ],
    );
    const elsewhere = issuersFile([{ issuer: 'https://kc.example/realms/a', audiences: ['api'], identity_headers: 'email:X-Auth-Email' }]);
    assert.throws(
      () => loadConfig({ JWT_SECRET: hmacSecret('HS256'), ISSUERS_FILE: elsewhere }),
      (error: unknown) =>
        error instanceof ConfigError && /ISSUERS_FILE\[0\]\.identity_headers: x-auth-email is not one of IDENTITY_HEADERS' headers/.test(error.message),
    );
  });

  const refusedFiles: Array<[name: string, content: unknown, mentions: string]> = [
    ['not JSON', '{issuers: [', 'not valid JSON'],
    ['not a list', { issuers: {} }, 'expected {"issuers"'],
    ['an entry without issuer', [{ audiences: ['api'] }], 'ISSUERS_FILE[0].issuer'],
    ['an entry without audiences', [{ issuer: 'https://a.example' }], 'ISSUERS_FILE[0].audiences'],
    ['an empty audience list', [{ issuer: 'https://a.example', audiences: [] }], 'ISSUERS_FILE[0].audiences'],
    ['a misspelt field', [{ issuer: 'https://a.example', audiences: ['api'], audience: 'x' }], 'unknown field "audience"'],
    ['an HMAC algorithm', [{ issuer: 'https://a.example', audiences: ['api'], algorithms: ['HS256'] }], 'ISSUERS_FILE[0].algorithms'],
    ['a bad claim name', [{ issuer: 'https://a.example', audiences: ['api'], roles_claim: 'https://x/roles' }], 'ISSUERS_FILE[0].roles_claim'],
    [
      'identity_headers that are not pairs',
      [{ issuer: 'https://a.example', audiences: ['api'], identity_headers: 'preferred_username' }],
      'ISSUERS_FILE[0].identity_headers',
    ],
    [
      'identity_headers not a string',
      [{ issuer: 'https://a.example', audiences: ['api'], identity_headers: ['sub:X-Auth-User'] }],
      'ISSUERS_FILE[0].identity_headers',
    ],
    ['an http jwks_uri', [{ issuer: 'https://a.example', audiences: ['api'], jwks_uri: 'http://a.example/keys' }], 'ISSUERS_FILE[0].jwks_uri'],
    [
      'the same issuer twice',
      [
        { issuer: 'https://a.example', audiences: ['api'] },
        { issuer: 'https://a.example', audiences: ['b'] },
      ],
      'already configured by ISSUERS_FILE[0]',
    ],
  ];
  for (const [name, content, mentions] of refusedFiles) {
    test(`ISSUERS_FILE with ${name} is refused: ${mentions}`, () => {
      const { problems } = read(readIssuers, { ISSUERS_FILE: issuersFile(content) });
      assert.ok(
        problems.some((problem) => problem.startsWith('ISSUERS_FILE') && problem.includes(mentions)),
        problems.join('\n'),
      );
    });
  }

  test('an issuer configured by OIDC_ISSUER and ISSUERS_FILE both is refused', () => {
    const path = issuersFile([{ issuer: 'https://a.example', audiences: ['api'] }]);
    assertRefused(read(readIssuers, { OIDC_ISSUER: 'https://a.example', OIDC_AUDIENCE: 'api', ISSUERS_FILE: path }).problems, 'ISSUERS_FILE[0]');
  });

  test("the service's own issuer must not also be a provider's", () =>
    assertRefused(read(readIssuers, { JWT_ISSUER: 'https://a.example', OIDC_ISSUER: 'https://a.example', OIDC_AUDIENCE: 'api' }).problems, 'JWT_ISSUER'));

  test('a verify-only service needs no key of its own when it trusts a provider', () => {
    assert.deepEqual(read(readJwt, { OIDC_ISSUER: 'https://a.example' }).problems, []);
    assert.deepEqual(read(readJwt, { JWT_JWKS_URL: 'https://a.example/jwks' }).problems, []);
    assertRefused(read(readJwt, {}).problems, 'JWT_SECRET');
  });
});

describe('session section and a long JWT_TTL', () => {
  test('unset, SESSION_MAX_LIFETIME is 12h or JWT_TTL when that is longer', () => {
    assert.equal(loadConfig({ JWT_SECRET: hmacSecret('HS256'), JWT_TTL: '2d' }).session.maxLifetimeMs, 2 * 86_400_000);
    assert.equal(loadConfig({ JWT_SECRET: hmacSecret('HS256') }).session.maxLifetimeMs, 12 * 3_600_000);
  });
});
