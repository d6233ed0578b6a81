import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { PUBLIC_KEY_ALGORITHMS } from '../../src/config/issuers.js';
import { parseClaimPath } from '../../src/claim-path.js';
import { ConfigError, loadConfig, type Config } from '../../src/config/index.js';
import { CERTIFICATE_DER_BASE64, CERTIFICATE_PEM, KeyFiles, hmacSecret, opensshPublicLine, pairFor, pemBody } from '../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

const SECRET = hmacSecret('HS256');
/** The smallest usable environment: an HMAC secret. */
const BASE = { JWT_SECRET: SECRET } as const;

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected loadConfig to refuse ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  const config = loadConfig(BASE);
  const defaults: Array<[string, (c: Config) => unknown, unknown]> = [
    ['HOST is 127.0.0.1', (c) => c.server.host, '127.0.0.1'],
    ['PORT is 8000', (c) => c.server.port, 8000],
    ['WORKERS is 1', (c) => c.server.workers, 1],
    ['SOCKET_PATH is unset (listens on HOST:PORT)', (c) => c.server.socketPath, undefined],
    ['LOG_LEVEL is info', (c) => c.logging.level, 'info'],
    ['JWT_ALGORITHM is HS256', (c) => c.jwt.algorithm, 'HS256'],
    ['JWT_TTL is 1h', (c) => c.jwt.ttlMs, 3_600_000],
    ['JWT_CLOCK_TOLERANCE is 30s', (c) => c.jwt.clockToleranceMs, 30_000],
    ['exp is required', (c) => c.jwt.requireExp, true],
    ['no issuer', (c) => c.jwt.issuer, undefined],
    ['no audience', (c) => c.jwt.audience, []],
    ['no JWT_KEY_ID (derived)', (c) => c.jwt.keyId, undefined],
    ['no key files', (c) => [c.jwt.privateKeyPem, c.jwt.publicKeyPem, c.jwt.verifyJwks], [undefined, undefined, undefined]],
    ['deny status 403', (c) => c.check.unauthenticatedStatus, 403],
    ['no token cookie', (c) => c.cookie.name, undefined],
    ['raw tokens refused', (c) => c.check.acceptRawToken, false],
    [
      'IDENTITY_HEADERS is sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name',
      (c) => c.identityHeaders.headers,
      [
        { claim: parseClaimPath('sub'), header: 'x-auth-user' },
        { claim: parseClaimPath('roles'), header: 'x-auth-roles' },
        { claim: parseClaimPath('name'), header: 'x-auth-name' },
      ],
    ],
    ['ROLES_CLAIM is roles', (c) => c.check.rolesClaim.segments, ['roles']],
    ['SCOPES_CLAIM is scope, then scp', (c) => c.check.scopesClaims.map((path) => path.segments), [['scope'], ['scp']]],
    ['no X-Accel-Expires caching', (c) => c.check.cacheMaxAgeMs, 0],
    ['AUTHENTICATOR_URL is http://127.0.0.1:5000/login', (c) => c.authenticator.url, 'http://127.0.0.1:5000/login'],
    ['AUTHENTICATOR_TIMEOUT is 5s', (c) => c.authenticator.timeoutMs, 5000],
    ['login subject from sub, id, username', (c) => c.login.subjectFields, ['sub', 'id', 'username']],
    ['no login cookie', (c) => c.cookie.setOnLogin, false],
    ['cookies Secure and SameSite=Lax', (c) => [c.cookie.secure, c.cookie.sameSite], [true, 'Lax']],
    ['login body limit 16kb', (c) => c.login.bodyLimitBytes, 16 * 1024],
    ['sessions do not renew, last 12h at most, get no refresh tokens', (c) => c.session, { renewBeforeMs: 0, maxLifetimeMs: 43_200_000, refreshTokenTtlMs: 0 }],
    ['cross-site protection on, no other origin allowed', (c) => [c.csrf.protection, c.csrf.allowedOrigins], [true, []]],
    ['/login and /logout at the root (no LOGIN_PATH_PREFIX)', (c) => c.pages.pathPrefix, ''],
    ['after sign-in, / unless the browser asked for a page', (c) => c.pages.defaultRedirect, '/'],
    ["after sign-out, the service's signed-out page", (c) => c.pages.logoutRedirect, undefined],
    [
      'the pages say nginx-jwt-auth, with the built-in template and no extra style',
      (c) => [c.pages.siteName, c.pages.template, c.pages.extraStyle],
      ['nginx-jwt-auth', undefined, ''],
    ],
    ['no REDIS_URL: every store in memory', (c) => c.redis.topology, undefined],
    ['REVOCATION_MAX_TOKEN_LIFETIME is 24h', (c) => c.revocation.maxTokenLifetimeMs, 86_400_000],
    ['REDIS_KEY_PREFIX is nginx-jwt-auth:', (c) => c.redis.keyPrefix, 'nginx-jwt-auth:'],
    [
      'REDIS_CONNECT_TIMEOUT 2s, REDIS_COMMAND_TIMEOUT 1s, REDIS_RECONNECT_MAX_DELAY 2s',
      (c) => [c.redis.connectTimeoutMs, c.redis.commandTimeoutMs, c.redis.reconnectMaxDelayMs],
      [2000, 1000, 2000],
    ],
    ['no identity provider', (c) => [c.issuers.ownJwksUri, c.issuers.trusted], [undefined, []]],
    [
      'fetched keys: cached 5m to 24h, stale up to 6h, one unknown-kid refetch per 30s (waited for 2s at most), 5s timeout, 512kb, https only, no extra CA',
      (c) => c.issuers.jwks,
      {
        minCacheMs: 300_000,
        maxCacheMs: 86_400_000,
        maxStaleMs: 21_600_000,
        unknownKidCooldownMs: 30_000,
        unknownKidWaitMs: 2000,
        timeoutMs: 5000,
        maxBytes: 512 * 1024,
        allowInsecureHttp: false,
        caPem: undefined,
      },
    ],
    ['fetched keys verify public-key algorithms only', (c) => c.issuers.ownJwksAlgorithms, [...PUBLIC_KEY_ALGORITHMS]],
  ];
  for (const [name, pick, expected] of defaults) {
    test(name, () => assert.deepEqual(pick(config), expected));
  }
});

describe('loadConfig parses every documented variable', () => {
  const rsa = pairFor('RS256');
  const privatePath = files.write('parse-private.pem', rsa.privatePem);
  const publicPath = files.write('parse-public.pem', rsa.publicPem);
  const jwksPath = files.write('parse-jwks.json', JSON.stringify({ keys: [] }));
  const rows: Array<{ name: string; env: Record<string, string>; pick: (c: Config) => unknown; expected: unknown }> = [
    { name: 'HOST', env: { HOST: '0.0.0.0' }, pick: (c) => c.server.host, expected: '0.0.0.0' },
    { name: 'PORT', env: { PORT: '9000' }, pick: (c) => c.server.port, expected: 9000 },
    {
      name: 'JWT_ALGORITHM (case-insensitive)',
      env: { JWT_ALGORITHM: 'hs384', JWT_SECRET: hmacSecret('HS384') },
      pick: (c) => c.jwt.algorithm,
      expected: 'HS384',
    },
    { name: 'JWT_SECRET', env: {}, pick: (c) => c.jwt.secret?.toString(), expected: SECRET },
    {
      name: 'JWT_PRIVATE_KEY_FILE',
      env: { JWT_SECRET: '', JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: privatePath },
      pick: (c) => c.jwt.privateKeyPem,
      expected: rsa.privatePem,
    },
    {
      name: 'JWT_PUBLIC_KEY_FILE',
      env: { JWT_SECRET: '', JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY_FILE: publicPath },
      pick: (c) => c.jwt.publicKeyPem,
      expected: rsa.publicPem,
    },
    { name: 'JWT_KEY_ID', env: { JWT_KEY_ID: 'key-2024' }, pick: (c) => c.jwt.keyId, expected: 'key-2024' },
    { name: 'JWT_VERIFY_JWKS_FILE', env: { JWT_VERIFY_JWKS_FILE: jwksPath }, pick: (c) => c.jwt.verifyJwks, expected: '{"keys":[]}' },
    { name: 'JWT_ISSUER', env: { JWT_ISSUER: 'https://auth.example' }, pick: (c) => c.jwt.issuer, expected: 'https://auth.example' },
    { name: 'JWT_AUDIENCE (a comma-separated list)', env: { JWT_AUDIENCE: 'app1, app2' }, pick: (c) => c.jwt.audience, expected: ['app1', 'app2'] },
    { name: 'JWT_TTL in minutes', env: { JWT_TTL: '15m' }, pick: (c) => c.jwt.ttlMs, expected: 900_000 },
    { name: 'JWT_TTL as bare seconds', env: { JWT_TTL: '120' }, pick: (c) => c.jwt.ttlMs, expected: 120_000 },
    { name: 'JWT_CLOCK_TOLERANCE', env: { JWT_CLOCK_TOLERANCE: '500ms' }, pick: (c) => c.jwt.clockToleranceMs, expected: 500 },
    { name: 'JWT_CLOCK_TOLERANCE of zero', env: { JWT_CLOCK_TOLERANCE: '0' }, pick: (c) => c.jwt.clockToleranceMs, expected: 0 },
    { name: 'JWT_MAX_TOKEN_LENGTH', env: { JWT_MAX_TOKEN_LENGTH: '4096' }, pick: (c) => c.jwt.maxTokenLength, expected: 4096 },
    { name: 'JWT_REQUIRE_EXP', env: { JWT_REQUIRE_EXP: 'false' }, pick: (c) => c.jwt.requireExp, expected: false },
    { name: 'TOKEN_COOKIE', env: { TOKEN_COOKIE: 'jwt' }, pick: (c) => c.cookie.name, expected: 'jwt' },
    { name: 'CHECK_UNAUTHENTICATED_STATUS', env: { CHECK_UNAUTHENTICATED_STATUS: '401' }, pick: (c) => c.check.unauthenticatedStatus, expected: 401 },
    { name: 'CHECK_ACCEPT_RAW_TOKEN', env: { CHECK_ACCEPT_RAW_TOKEN: 'true' }, pick: (c) => c.check.acceptRawToken, expected: true },
    { name: 'CHECK_CACHE_MAX_AGE', env: { CHECK_CACHE_MAX_AGE: '2m' }, pick: (c) => c.check.cacheMaxAgeMs, expected: 120_000 },
    {
      name: 'IDENTITY_HEADERS (claim:Header pairs, header names lower-cased)',
      env: { IDENTITY_HEADERS: 'sub:X-Auth-User, roles:X-Auth-Roles,email:X-Auth-Email' },
      pick: (c) => c.identityHeaders.headers,
      expected: [
        { claim: parseClaimPath('sub'), header: 'x-auth-user' },
        { claim: parseClaimPath('roles'), header: 'x-auth-roles' },
        { claim: parseClaimPath('email'), header: 'x-auth-email' },
      ],
    },
    {
      name: 'IDENTITY_HEADERS with nested and namespaced claims (split at the last :)',
      env: { IDENTITY_HEADERS: 'preferred_username:X-Auth-User,realm_access.roles:X-Auth-Roles,["https://example.org/roles"]:X-Auth-Org-Roles' },
      pick: (c) => c.identityHeaders.headers.map(({ claim, header }) => [claim.segments, header]),
      expected: [
        [['preferred_username'], 'x-auth-user'],
        [['realm_access', 'roles'], 'x-auth-roles'],
        [['https://example.org/roles'], 'x-auth-org-roles'],
      ],
    },
    { name: 'ROLES_CLAIM', env: { ROLES_CLAIM: 'realm_access.roles' }, pick: (c) => c.check.rolesClaim.segments, expected: ['realm_access', 'roles'] },
    {
      name: 'SCOPES_CLAIM (a list, quoted names may hold commas)',
      env: { SCOPES_CLAIM: 'scp, ["https://example.org/scopes,v2"]' },
      pick: (c) => c.check.scopesClaims.map((path) => path.segments),
      expected: [['scp'], ['https://example.org/scopes,v2']],
    },
    {
      name: 'AUTHENTICATOR_URL',
      env: { AUTHENTICATOR_URL: 'https://login.internal:8443/api/login' },
      pick: (c) => c.authenticator.url,
      expected: 'https://login.internal:8443/api/login',
    },
    { name: 'AUTHENTICATOR_TIMEOUT', env: { AUTHENTICATOR_TIMEOUT: '1500ms' }, pick: (c) => c.authenticator.timeoutMs, expected: 1500 },
    { name: 'LOG_LEVEL', env: { LOG_LEVEL: 'debug' }, pick: (c) => c.logging.level, expected: 'debug' },
    { name: 'WORKERS', env: { WORKERS: '4' }, pick: (c) => c.server.workers, expected: 4 },
    { name: 'SOCKET_PATH', env: { SOCKET_PATH: '/run/nginx-jwt-auth/auth.sock' }, pick: (c) => c.server.socketPath, expected: '/run/nginx-jwt-auth/auth.sock' },
    { name: 'LOGIN_BODY_LIMIT', env: { LOGIN_BODY_LIMIT: '1kb' }, pick: (c) => c.login.bodyLimitBytes, expected: 1024 },
    { name: 'IDENTITY_HEADERS_MAX_TOTAL (default 8kb)', env: {}, pick: (c) => c.identityHeaders.maxTotalBytes, expected: 8192 },
    { name: 'IDENTITY_HEADERS_MAX_TOTAL', env: { IDENTITY_HEADERS_MAX_TOTAL: '4kb' }, pick: (c) => c.identityHeaders.maxTotalBytes, expected: 4096 },
    { name: 'LOG_DENY_RATE (default 20 a second)', env: {}, pick: (c) => c.logging.denyRate, expected: 20 },
    { name: 'LOG_DENY_RATE=0 (every deny)', env: { LOG_DENY_RATE: '0' }, pick: (c) => c.logging.denyRate, expected: 0 },
    { name: 'LOGIN_SET_COOKIE with TOKEN_COOKIE', env: { LOGIN_SET_COOKIE: 'true', TOKEN_COOKIE: 'jwt' }, pick: (c) => c.cookie.setOnLogin, expected: true },
    { name: 'COOKIE_SAMESITE', env: { COOKIE_SAMESITE: 'strict' }, pick: (c) => c.cookie.sameSite, expected: 'Strict' },
    { name: 'LOGIN_SUBJECT_FIELDS', env: { LOGIN_SUBJECT_FIELDS: 'email,id' }, pick: (c) => c.login.subjectFields, expected: ['email', 'id'] },
    { name: 'CSRF_PROTECTION', env: { CSRF_PROTECTION: 'false' }, pick: (c) => c.csrf.protection, expected: false },
    {
      name: 'CSRF_ALLOWED_ORIGINS (serialized as browsers send Origin: lower case, default port dropped)',
      env: { CSRF_ALLOWED_ORIGINS: 'https://App.Example, http://localhost:8080,https://sso.example:443,http://[::1]:3000' },
      pick: (c) => c.csrf.allowedOrigins,
      expected: ['https://app.example', 'http://localhost:8080', 'https://sso.example', 'http://[::1]:3000'],
    },
    { name: 'an empty variable counts as unset', env: { PORT: '', HOST: '' }, pick: (c) => [c.server.port, c.server.host], expected: [8000, '127.0.0.1'] },
  ];
  for (const { name, env, pick, expected } of rows) {
    // An empty JWT_SECRET in a row unsets the base secret (empty counts as unset).
    test(name, () => assert.deepEqual(pick(loadConfig({ ...BASE, ...env })), expected));
  }
});

describe('secrets from NAME_FILE', () => {
  test('JWT_SECRET_FILE is read, with its trailing newline dropped', () => {
    const path = files.write('secret', `${SECRET}\n`);
    assert.equal(loadConfig({ JWT_SECRET_FILE: path }).jwt.secret?.toString(), SECRET);
  });

  test('JWT_SECRET_FILE keeps inner whitespace as part of the secret', () => {
    const secret = `${SECRET.slice(0, 16)} ${SECRET.slice(16)}`;
    const path = files.write('secret-with-space', `${secret}\r\n`);
    assert.equal(loadConfig({ JWT_SECRET_FILE: path }).jwt.secret?.toString(), secret);
  });

  test('JWT_SECRET and JWT_SECRET_FILE both set is refused, naming both', () => {
    const path = files.write('secret-both', SECRET);
    const error = configError({ JWT_SECRET: SECRET, JWT_SECRET_FILE: path });
    assert.ok(
      error.problems.some((problem) => problem.includes('JWT_SECRET and JWT_SECRET_FILE')),
      error.message,
    );
  });

  test('an unreadable JWT_SECRET_FILE is refused, naming the variable', () => {
    const error = configError({ JWT_SECRET_FILE: `${files.dir}/does-not-exist` });
    assert.ok(
      error.problems.some((problem) => problem.startsWith('JWT_SECRET_FILE:') && problem.includes('ENOENT')),
      error.message,
    );
  });

  test('an unreadable key file is refused, naming the variable', () => {
    const error = configError({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: `${files.dir}/missing.pem` });
    assert.ok(
      error.problems.some((problem) => problem.startsWith('JWT_PRIVATE_KEY_FILE:')),
      error.message,
    );
  });
});

describe('bad values are all reported at once', () => {
  const bad: Array<[variable: string, value: string]> = [
    ['PORT', '80a'],
    ['PORT', '70000'],
    ['WORKERS', '0'],
    ['LOG_LEVEL', 'verbose'],
    ['JWT_ALGORITHM', 'HS999'],
    ['JWT_TTL', 'forever'],
    ['JWT_TTL', '0'],
    ['JWT_CLOCK_TOLERANCE', '-5s'],
    ['JWT_MAX_TOKEN_LENGTH', '10'],
    ['JWT_REQUIRE_EXP', 'maybe'],
    ['CHECK_UNAUTHENTICATED_STATUS', '500'],
    ['CHECK_ACCEPT_RAW_TOKEN', 'sometimes'],
    ['CHECK_CACHE_MAX_AGE', 'soon'],
    ['IDENTITY_HEADERS', 'sub'],
    ['IDENTITY_HEADERS', 'sub:X Auth User'],
    ['IDENTITY_HEADERS', 'sub:X-A:extra'],
    ['IDENTITY_HEADERS', 'https://example.org/roles:X-Auth-Roles'],
    ['ROLES_CLAIM', 'https://example.org/roles'],
    ['ROLES_CLAIM', 'roles,groups'],
    ['SCOPES_CLAIM', 'scope,a..b'],
    ['TOKEN_COOKIE', 'my cookie'],
    ['AUTHENTICATOR_URL', 'ftp://example.org/login'],
    ['AUTHENTICATOR_URL', 'not a url'],
    ['AUTHENTICATOR_TIMEOUT', '0'],
    ['LOGIN_BODY_LIMIT', 'huge'],
    ['IDENTITY_HEADERS_MAX_TOTAL', 'big'],
    ['LOG_DENY_RATE', 'lots'],
    ['LOG_DENY_RATE', '-1'],
    ['COOKIE_SAMESITE', 'sometimes'],
    ['COOKIE_PATH', '/; Domain=evil.example'],
    ['COOKIE_DOMAIN', 'app.example; Secure'],
    ['TRUSTED_PROXIES', 'nginx.local'],
    ['TRUSTED_PROXIES', '10.0.0.0/33'],
    ['CHECK_REALM', 'caf\u00e9 \u{1F600}'],
    ['CSRF_PROTECTION', 'perhaps'],
    ['CSRF_ALLOWED_ORIGINS', 'app.example'],
    ['CSRF_ALLOWED_ORIGINS', 'https://app.example/'],
    ['CSRF_ALLOWED_ORIGINS', 'https://app.example/login'],
    ['CSRF_ALLOWED_ORIGINS', 'https://user@app.example'],
    ['CSRF_ALLOWED_ORIGINS', 'https://app.example?x=1'],
    ['CSRF_ALLOWED_ORIGINS', 'ftp://app.example'],
    ['CSRF_ALLOWED_ORIGINS', 'null'],
  ];

  for (const [variable, value] of bad) {
    test(`${variable}=${JSON.stringify(value)} is refused, naming ${variable}`, () => {
      const error = configError({ ...BASE, [variable]: value });
      assert.ok(
        error.problems.some((problem) => problem.includes(variable)),
        error.message,
      );
      assert.ok(error.message.includes(variable));
    });
  }

  test('one ConfigError names every bad variable of a broken environment', () => {
    const env: Record<string, string> = { ...BASE };
    const distinct = new Map(bad.map(([variable, value]) => [variable, value]));
    // JWT_ALGORITHM=HS999 falls back to HS256, so the secret stays valid and cannot hide the rest.
    for (const [variable, value] of distinct) env[variable] = value;
    const error = configError(env);
    for (const variable of distinct.keys()) {
      assert.ok(
        error.problems.some((problem) => problem.includes(variable)),
        `${variable} missing from:\n${error.message}`,
      );
    }
  });

  test('LOGIN_SET_COOKIE=true without TOKEN_COOKIE is refused', () => {
    const error = configError({ ...BASE, LOGIN_SET_COOKIE: 'true' });
    assert.ok(
      error.problems.some((problem) => problem.includes('LOGIN_SET_COOKIE') && problem.includes('TOKEN_COOKIE')),
      error.message,
    );
  });

  test('COOKIE_SAMESITE=None with COOKIE_SECURE=false is refused', () => {
    const error = configError({ ...BASE, COOKIE_SAMESITE: 'None', COOKIE_SECURE: 'false' });
    assert.ok(
      error.problems.some((problem) => problem.includes('COOKIE_SAMESITE')),
      error.message,
    );
  });

  test('a bad value is quoted in the message so the operator sees what was read', () => {
    assert.match(configError({ ...BASE, PORT: '80a' }).message, /PORT.*"80a"/);
  });
});

describe('HMAC secrets shorter than the hash are refused', () => {
  for (const [alg, bytes] of [
    ['HS256', 32],
    ['HS384', 48],
    ['HS512', 64],
  ] as const) {
    test(`${alg} refuses ${bytes - 1} bytes`, () => {
      const error = configError({ JWT_ALGORITHM: alg, JWT_SECRET: 'k'.repeat(bytes - 1) });
      assert.ok(
        error.problems.some((problem) => problem.startsWith('JWT_SECRET') && problem.includes(String(bytes))),
        error.message,
      );
    });
    test(`${alg} accepts ${bytes} bytes`, () => {
      assert.equal(loadConfig({ JWT_ALGORITHM: alg, JWT_SECRET: 'k'.repeat(bytes) }).jwt.secret?.length, bytes);
    });
  }

  test('the length is counted in bytes, not characters', () => {
    // 16 two-byte characters are 32 bytes.
    assert.equal(loadConfig({ JWT_SECRET: 'é'.repeat(16) }).jwt.secret?.length, 32);
  });

  test('a refused secret is never echoed in the message', () => {
    const secret = 'short-but-sensitive-value';
    assert.ok(!configError({ JWT_SECRET: secret }).message.includes(secret));
  });
});

describe('a key or certificate is refused as an HMAC secret (whoever has a public key could sign with it)', () => {
  const rsa = pairFor('RS256');
  const ed = pairFor('EdDSA');
  const rsaPublicJwk = JSON.stringify(rsa.publicKey.export({ format: 'jwk' }));
  const rows: Array<[name: string, secret: string]> = [
    ['an SPKI PEM public key', rsa.publicPem],
    ['a PKCS#1 PEM public key ("RSA PUBLIC KEY")', rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()],
    ['a PEM public key after a blank line', `\n${ed.publicPem}`],
    ['a PEM certificate', CERTIFICATE_PEM],
    ['a PEM private key', ed.privatePem],
    ['an OpenSSH public key line', opensshPublicLine(ed.publicKey)],
    ['an RFC 4716 SSH2 public key', `---- BEGIN SSH2 PUBLIC KEY ----\nComment: "alice"\n${pemBody(ed.publicPem)}\n---- END SSH2 PUBLIC KEY ----`],
    ['a public JWK', rsaPublicJwk],
    ['a JWK Set', JSON.stringify({ keys: [JSON.parse(rsaPublicJwk)] })],
    ['a base64 DER public key (a PEM body without its armor)', pemBody(rsa.publicPem)],
    ['a base64 DER public key on one line', pemBody(rsa.publicPem).replace(/\n/g, '')],
    ['a base64 DER certificate', CERTIFICATE_DER_BASE64],
  ];
  for (const [name, secret] of rows) {
    for (const variable of ['JWT_SECRET', 'JWT_SECRET_FILE'] as const) {
      test(`${name} in ${variable}: one problem that names ${variable} and says what to use instead`, () => {
        const value = variable === 'JWT_SECRET' ? secret : files.write(`secret-${name.replace(/\W+/g, '-')}`, `${secret}\n`);
        const { problems } = configError({ [variable]: value });
        assert.equal(problems.length, 1, problems.join('\n'));
        const [problem = ''] = problems;
        assert.ok(problem.startsWith(`${variable} holds `), problem);
        for (const advice of ['JWT_ALGORITHM=RS256', 'JWT_PUBLIC_KEY_FILE', 'JWT_PRIVATE_KEY_FILE', 'node dist/src/cli.js keygen'])
          assert.ok(problem.includes(advice), `${advice} missing: ${problem}`);
      });
    }
  }

  test('for every HMAC algorithm', () => {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const { problems } = configError({ JWT_ALGORITHM: alg, JWT_SECRET: rsa.publicPem });
      assert.ok(
        problems.some((problem) => problem.includes(`could sign ${alg} tokens`)),
        problems.join('\n'),
      );
    }
  });

  const accepted: Array<[name: string, secret: string]> = [
    ['a random base64 secret', randomBytes(48).toString('base64')],
    ['a random base64 secret that starts with M, like DER does', `M${randomBytes(48).toString('base64').slice(1)}`],
    ['a passphrase that mentions BEGIN', 'BEGIN PUBLIC KEY is not in here, only words'],
    ['JSON without kty or keys', JSON.stringify({ secret: randomBytes(32).toString('hex') })],
    ['a line starting with ssh- but no key after it', `ssh-is-not-a-key ${randomBytes(32).toString('hex')}`],
  ];
  for (const [name, secret] of accepted) {
    test(`${name} is still a secret`, () => assert.equal(loadConfig({ JWT_SECRET: secret }).jwt.secret?.toString(), secret));
  }
});

describe('the result is frozen', () => {
  const config = loadConfig({ ...BASE, JWT_AUDIENCE: 'a,b', IDENTITY_HEADERS: 'sub:X-Auth-User' });

  test('at every level', () => {
    for (const object of [
      config,
      config.server,
      config.jwt,
      config.jwt.audience,
      config.check,
      config.identityHeaders,
      config.identityHeaders.headers,
      config.identityHeaders.headers[0],
      config.login,
      config.cookie,
      config.authenticator,
    ]) {
      assert.ok(Object.isFrozen(object));
    }
  });

  test('assignments throw (ES modules are strict)', () => {
    assert.throws(() => {
      (config.server as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config.jwt.audience as string[]).push('c');
    }, TypeError);
  });

  test('two loads of one environment are independent and equal', () => {
    assert.deepEqual(loadConfig({ ...BASE, JWT_AUDIENCE: 'a,b', IDENTITY_HEADERS: 'sub:X-Auth-User' }), config);
  });
});

describe('no secret is ever invented', () => {
  test('HS256 without a secret refuses to start and says how to make one', () => {
    const error = configError({});
    assert.ok(
      error.problems.some((problem) => problem.includes('JWT_SECRET') && problem.includes('keygen')),
      error.message,
    );
  });

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    test(`${alg} without key files refuses to start and says how to make one`, () => {
      const error = configError({ JWT_ALGORITHM: alg });
      assert.ok(
        error.problems.some((problem) => problem.includes('JWT_PRIVATE_KEY_FILE') && problem.includes('keygen')),
        error.message,
      );
    });
  }

  test('a secret for an asymmetric algorithm is refused rather than ignored', () => {
    const error = configError({ JWT_ALGORITHM: 'ES256', JWT_SECRET: SECRET, JWT_PRIVATE_KEY_FILE: files.write('es-private.pem', pairFor('ES256').privatePem) });
    assert.ok(
      error.problems.some((problem) => problem.includes('JWT_SECRET')),
      error.message,
    );
  });

  test('a private key for an HMAC algorithm is refused rather than ignored', () => {
    const error = configError({ JWT_SECRET: SECRET, JWT_PRIVATE_KEY_FILE: files.write('es-private-2.pem', pairFor('ES256').privatePem) });
    assert.ok(
      error.problems.some((problem) => problem.includes('JWT_PRIVATE_KEY_FILE')),
      error.message,
    );
  });

  test('the environment object is only read', () => {
    const env = Object.freeze({ ...BASE });
    loadConfig(env);
    assert.deepEqual(env, BASE);
  });
});
