/**
 * The demo authenticators of examples/ (Flask, and its Node fallback for machines without
 * Python) follow the same contract (README, the authenticator contract) and read the same
 * users file: hashes made by either one verify in the other, in werkzeug's pbkdf2 and scrypt formats.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  pythonBin,
  startFlaskAuthenticator,
  startNodeAuthenticator,
  type AuthenticatorInstance,
  type AuthenticatorOptions,
} from '../../support/authenticator.js';
import { httpRequest } from '../../support/http.js';
import { FLASK_APP, NODE_AUTHENTICATOR } from '../../support/paths.js';
import { flaskPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';

const flaskSkip = requireOrSkip(flaskPrerequisite());

const implementations: Array<{ name: string; start: (options: AuthenticatorOptions) => Promise<AuthenticatorInstance>; skip: string | false }> = [
  { name: 'Flask authenticator (examples/flask-authenticator/app.py)', start: startFlaskAuthenticator, skip: flaskSkip },
  { name: 'Node authenticator (examples/node-authenticator/server.mjs)', start: startNodeAuthenticator, skip: false },
];

function postJson(url: string, value: unknown) {
  return httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
}

for (const impl of implementations) {
  describe(`${impl.name} follows the authenticator contract`, { skip: impl.skip, timeout: 60_000 }, () => {
    let dir = '';
    let auth: AuthenticatorInstance | undefined;
    const a = (): AuthenticatorInstance => {
      assert.ok(auth, 'authenticator not started');
      return auth;
    };
    before(
      async () => {
        dir = makeTempDir('authenticator');
        auth = await impl.start({ dir });
      },
      { timeout: 30_000 },
    );
    after(async () => {
      await auth?.stop();
      if (dir) removeTempDir(dir);
    });

    it('a JSON login with good credentials answers 200 and the user object', async () => {
      const res = await postJson(a().loginUrl, { username: 'alice', password: 'alice-password' });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.deepEqual(res.json(), { sub: 'alice', name: 'Alice Liddell', roles: ['admin', 'user'] });
    });

    it('a form login works the same', async () => {
      const res = await httpRequest(a().loginUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=bob&password=bob-password',
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { sub: 'bob', name: 'Bob Builder', roles: ['user'] });
    });

    for (const [name, credentials] of [
      ['a wrong password', { username: 'alice', password: 'bob-password' }],
      ['an unknown user', { username: 'mallory', password: 'alice-password' }],
      ['a prototype-looking user name', { username: '__proto__', password: 'x' }],
    ] as const) {
      it(`${name} answers 401 {"error":"invalid_credentials"}`, async () => {
        const res = await postJson(a().loginUrl, credentials);
        assert.equal(res.status, 401);
        assert.deepEqual(res.json(), { error: 'invalid_credentials' });
      });
    }

    for (const [name, body] of [
      ['a body without a password', { username: 'alice' }],
      ['a JSON array', [1, 2]],
      ['a non-string password', { username: 'alice', password: ['alice-password'] }],
    ] as const) {
      it(`${name} answers 400 {"error":"invalid_request"}`, async () => {
        const res = await postJson(a().loginUrl, body);
        assert.equal(res.status, 400);
        assert.deepEqual(res.json(), { error: 'invalid_request' });
      });
    }

    it('GET /login is refused with 405', async () => {
      assert.equal((await httpRequest(a().loginUrl)).status, 405);
    });

    it('/whoami shows the identity headers that arrived', async () => {
      const res = await httpRequest(`${a().url}/whoami`, { headers: { 'x-auth-user': 'alice', 'x-auth-roles': 'admin,user', 'x-auth-custom': 'yes' } });
      assert.equal(res.status, 200);
      const who = res.json<{ user: string; roles: string; name: string | null; identity: Record<string, string> }>();
      assert.equal(who.user, 'alice');
      assert.equal(who.roles, 'admin,user');
      assert.equal(who.name, null);
      assert.equal(Object.keys(who.identity).length, 3);
    });

    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      it(`any other path echoes a ${method} with its body length`, async () => {
        const res = await httpRequest(`${a().url}/api/items/7?x=1`, { method, body: Buffer.alloc(1234, 7) });
        assert.equal(res.status, 200);
        const echo = res.json<{ method: string; path: string; query: string; body_length: number }>();
        assert.deepEqual([echo.method, echo.path, echo.query, echo.body_length], [method, '/api/items/7', 'x=1', 1234]);
      });
    }
  });
}

/** Runs a hash-password command with the password on stdin; returns the hash. */
function hashWith(command: string, script: string, password: string): string {
  const result = spawnSync(command, [script, 'hash-password'], { input: `${password}\n`, encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

/** werkzeug >= 2.3's scrypt format, computed by Python: werkzeug itself when it can, else hashlib. */
function pythonScryptHash(password: string): string {
  const code = [
    'import sys, hashlib, secrets',
    'password = sys.stdin.readline().rstrip("\\n")',
    'try:',
    '    from werkzeug.security import generate_password_hash',
    '    print(generate_password_hash(password, method="scrypt"))',
    'except ValueError:  # werkzeug < 2.3 (Debian 12): the same computation by hand',
    '    salt = secrets.token_hex(8)',
    '    key = hashlib.scrypt(password.encode(), salt=salt.encode(), n=32768, r=8, p=1, maxmem=132 * 32768 * 8, dklen=64)',
    '    print(f"scrypt:32768:8:1${salt}${key.hex()}")',
  ].join('\n');
  const result = spawnSync(pythonBin(), ['-c', code], { input: `${password}\n`, encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

/** werkzeug's scrypt format computed with node:crypto. */
function nodeScryptHash(password: string): string {
  const salt = randomBytes(8).toString('hex');
  const key = scryptSync(password, salt, 64, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return `scrypt:32768:8:1$${salt}$${key.toString('hex')}`;
}

describe('one users file for both authenticators: hashes made by either verify in both', { skip: flaskSkip, timeout: 120_000 }, () => {
  let dir = '';
  const running: AuthenticatorInstance[] = [];
  const users: Record<string, { made: string; password_hash: string }> = {};

  before(
    async () => {
      dir = makeTempDir('hash-interop');
      const made: Array<[string, string, (password: string) => string]> = [
        ['carol', 'pbkdf2 by app.py hash-password (werkzeug)', (p) => hashWith(pythonBin(), FLASK_APP, p)],
        ['dave', 'pbkdf2 by server.mjs hash-password (node:crypto)', (p) => hashWith(process.execPath, NODE_AUTHENTICATOR, p)],
        ['erin', 'scrypt by Python (werkzeug format)', pythonScryptHash],
        ['frank', 'scrypt by node:crypto (werkzeug format)', nodeScryptHash],
      ];
      for (const [name, how, hash] of made) users[name] = { made: how, password_hash: hash(`${name}-secret`) };
      const file = join(dir, 'users.json');
      const entries = Object.entries(users).map(([name, user]) => [name, { password_hash: user.password_hash, sub: name, roles: ['user'] }]);
      writeFileSync(file, JSON.stringify({ users: Object.fromEntries(entries) }), { mode: 0o644 });
      running.push(await startFlaskAuthenticator({ dir, usersFile: file }), await startNodeAuthenticator({ dir, usersFile: file }));
    },
    { timeout: 60_000 },
  );
  after(async () => {
    for (const auth of running) await auth.stop();
    if (dir) removeTempDir(dir);
  });

  for (const name of ['carol', 'dave', 'erin', 'frank']) {
    it(`${name}'s hash logs in on both, and a wrong password on neither`, async () => {
      assert.equal(running.length, 2);
      for (const auth of running) {
        const how = `${users[name]?.made} checked by ${auth.process.name}`;
        assert.equal((await postJson(auth.loginUrl, { username: name, password: `${name}-secret` })).status, 200, how);
        assert.equal((await postJson(auth.loginUrl, { username: name, password: 'wrong' })).status, 401, how);
      }
    });
  }
});
