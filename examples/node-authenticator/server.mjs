#!/usr/bin/env node
// Demo authenticator with the same contract as examples/flask-authenticator (README, "The
// authenticator contract"), for machines without Python/Flask. Plain node:http, no packages.
//
//   node server.mjs [--host 127.0.0.1] [--port 5000] [--users ../flask-authenticator/users.json]
//   node server.mjs hash-password          (password from stdin; prints a werkzeug-format hash)
//
// Env: HOST, PORT, USERS_FILE (flags win). Same users file and hash formats as the Flask app:
// werkzeug's "pbkdf2:sha256:600000$salt$hex" (what both apps generate) and werkzeug >= 2.3's
// "scrypt:32768:8:1$salt$hex" are both verified here.

import { createHash, pbkdf2Sync, randomInt, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const DEFAULT_USERS_FILE = fileURLToPath(new URL('../flask-authenticator/users.json', import.meta.url));
const HASH_ITERATIONS = 600_000; // werkzeug 3.0's default, OWASP 2023 guidance for PBKDF2-HMAC-SHA256
const SALT_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'; // werkzeug's gen_salt
const LOGIN_BODY_LIMIT = 64 * 1024;
const ECHO_BODY_LIMIT = 16 * 1024 * 1024;

/** werkzeug-compatible hash: pbkdf2:sha256:<iterations>$<salt>$<hex>. */
export function hashPassword(password, iterations = HASH_ITERATIONS) {
  let salt = '';
  for (let i = 0; i < 16; i++) salt += SALT_CHARS[randomInt(SALT_CHARS.length)];
  const hex = pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('hex');
  return `pbkdf2:sha256:${iterations}$${salt}$${hex}`;
}

/** Checks a werkzeug pbkdf2 or scrypt hash; anything else (plain, unsalted) is refused. */
export function verifyPassword(pwhash, password) {
  if (typeof pwhash !== 'string' || typeof password !== 'string') return false;
  const [method = '', salt = '', expected = ''] = splitHash(pwhash);
  const params = method.split(':');
  let derived;
  try {
    if (params[0] === 'pbkdf2' && params.length === 3) {
      const digest = params[1];
      const iterations = Number(params[2]);
      const keylen = createHash(digest).digest().length; // werkzeug: dklen = digest size
      if (!Number.isSafeInteger(iterations) || iterations < 1) return false;
      derived = pbkdf2Sync(password, salt, iterations, keylen, digest);
    } else if (params[0] === 'scrypt' && params.length === 4) {
      const [N, r, p] = params.slice(1).map(Number);
      // Python's hashlib.scrypt gets maxmem = 132*N*r*p from werkzeug; node needs the same headroom.
      derived = scryptSync(password, salt, 64, { N, r, p, maxmem: 132 * N * r * p + 1024 * 1024 });
    } else {
      return false;
    }
  } catch {
    return false;
  }
  const want = Buffer.from(expected, 'hex');
  return want.length === derived.length && timingSafeEqual(want, derived);
}

function splitHash(pwhash) {
  const first = pwhash.indexOf('$');
  const second = pwhash.indexOf('$', first + 1);
  if (first < 0 || second < 0) return [];
  return [pwhash.slice(0, first), pwhash.slice(first + 1, second), pwhash.slice(second + 1)];
}

function loadUsers(path) {
  const data = JSON.parse(readFileSync(path, 'utf8'));
  const users = data?.users;
  if (!users || typeof users !== 'object') throw new Error(`${path}: expected an object with a "users" object`);
  for (const [name, user] of Object.entries(users)) {
    if (!/^(pbkdf2|scrypt):/.test(user?.password_hash ?? '')) {
      throw new Error(`${path}: user ${JSON.stringify(name)} needs a pbkdf2: or scrypt: password_hash`);
    }
  }
  return users;
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function identityHeaders(req) {
  const out = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    if (name.toLowerCase().startsWith('x-auth-')) out[name] = req.rawHeaders[i + 1];
  }
  return out;
}

function parseCredentials(req, body) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      const data = JSON.parse(body.toString('utf8'));
      return data && typeof data === 'object' && !Array.isArray(data) ? data : {};
    } catch {
      return {};
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }
  return {};
}

export function createAuthenticator(users) {
  const dummyHash = hashPassword('dummy-password'); // unknown users cost as much as bad passwords

  return async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname === '/login') {
        if (req.method !== 'POST') {
          res.setHeader('allow', 'POST');
          return sendJson(res, 405, { error: 'method_not_allowed' });
        }
        const { username, password } = parseCredentials(req, await readBody(req, LOGIN_BODY_LIMIT));
        if (typeof username !== 'string' || typeof password !== 'string' || !username) {
          return sendJson(res, 400, { error: 'invalid_request' });
        }
        const user = Object.hasOwn(users, username) ? users[username] : undefined;
        const ok = verifyPassword(user ? user.password_hash : dummyHash, password);
        if (!user || !ok) return sendJson(res, 401, { error: 'invalid_credentials' });
        const { password_hash: _omit, ...profile } = user;
        return sendJson(res, 200, { sub: username, ...profile });
      }
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/whoami' && req.method === 'GET') {
        return sendJson(res, 200, {
          user: req.headers['x-auth-user'] ?? null,
          roles: req.headers['x-auth-roles'] ?? null,
          name: req.headers['x-auth-name'] ?? null,
          identity: identityHeaders(req),
          request_id: req.headers['x-request-id'] ?? null,
        });
      }
      const body = await readBody(req, ECHO_BODY_LIMIT);
      return sendJson(res, 200, {
        method: req.method,
        path: url.pathname,
        query: url.search.slice(1),
        identity: identityHeaders(req),
        headers: req.headers,
        body_length: body.length,
        body_sha256: createHash('sha256').update(body).digest('hex'),
      });
    } catch (err) {
      if (!res.headersSent) sendJson(res, err?.status ?? 500, { error: err?.status === 413 ? 'too_large' : 'internal' });
      return undefined;
    }
  };
}

async function hashPasswordCommand() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (!password) {
    console.error('usage: echo "$PASSWORD" | node server.mjs hash-password');
    return 1;
  }
  console.log(hashPassword(password));
  return 0;
}

async function main(argv) {
  if (argv[0] === 'hash-password') return hashPasswordCommand();
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
      port: { type: 'string', default: process.env.PORT ?? '5000' },
      users: { type: 'string', default: process.env.USERS_FILE ?? DEFAULT_USERS_FILE },
    },
  });
  const server = createServer(createAuthenticator(loadUsers(values.users)));
  server.keepAliveTimeout = 65_000; // longer than nginx's upstream keepalive_timeout (60 s)
  server.listen(Number(values.port), values.host, () => {
    console.log(`node authenticator listening on http://${values.host}:${values.port}`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return undefined;
}

// Run as a program (also through a symlink: import.meta.url is the real path), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await main(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
}
