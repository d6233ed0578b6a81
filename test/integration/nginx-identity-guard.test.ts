/**
 * Client-sent identity headers never reach the app, whatever the location layout. The overwrites
 * of jwt-auth-protect.conf are proxy_set_header lines, which a location that sets any of its own
 * (a nested WebSocket location, a named location behind try_files or error_page) does not inherit;
 * auth_request itself is inherited. The guard of jwt-auth-location.conf refuses such requests at
 * server level instead, with no include line beyond the documented ones. A real nginx with the
 * repository's snippets, a server block with each layout, and an app that records what it got.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startNginx, type NginxInstance } from '../../support/nginx.js';
import { httpRequest } from '../../support/http.js';
import { nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { IDENTITY_HEADERS } from '../../support/stack.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { makeSecret, mintToken } from '../../support/tokens.js';

const skip = requireOrSkip(nginxPrerequisite());

/** What the app received on one request: its path and every X-Auth-* header. */
interface Received {
  readonly path: string;
  readonly identity: Record<string, string>;
}

const LAYOUTS = (port: number) => `
server {
    listen 127.0.0.1:${port};
    include snippets/jwt-auth-location.conf;

    # try_files falls through to a named location that proxies without the overwrites.
    location /files/ {
        include snippets/jwt-auth-protect.conf;
        try_files $uri @app;
    }
    location @app {
        proxy_pass http://app;
    }

    # A nested location with its own proxy_set_header lines, as WebSocket setups have.
    location /live/ {
        include snippets/jwt-auth-protect.conf;
        proxy_pass http://app;
        location /live/socket {
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_pass http://app;
        }
    }

    # An error_page internal redirect to a location without the overwrites.
    location /flaky/ {
        include snippets/jwt-auth-protect.conf;
        proxy_intercept_errors on;
        error_page 404 = @fallback;
        proxy_pass http://app;
    }
    location @fallback {
        proxy_set_header X-Fallback 1;
        proxy_pass http://app;
    }

    location / {
        include snippets/jwt-auth-protect.conf;
        proxy_pass http://app;
    }
}`;

function identityOf(headers: http.IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => name.startsWith('x-auth-'))
      .map(([name, value]) => [name, String(value)]),
  );
}

describe('client-sent identity headers never reach the app, whatever the location layout', { skip, timeout: 60_000 }, () => {
  let dir = '';
  let secret = '';
  let service: ServiceProcess | undefined;
  let nginx: NginxInstance | undefined;
  let app: http.Server | undefined;
  let base = '';
  let bob = '';
  const received: Received[] = [];

  before(async () => {
    dir = makeTempDir('identity-guard');
    secret = makeSecret();
    app = http.createServer((req, res) => {
      received.push({ path: req.url ?? '', identity: identityOf(req.headers) });
      res.writeHead(req.url?.startsWith('/flaky/') && req.headers['x-fallback'] === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end('app');
    });
    // The WebSocket handshake: record, switch protocols, then close.
    app.on('upgrade', (req, socket: net.Socket) => {
      received.push({ path: req.url ?? '', identity: identityOf(req.headers) });
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    service = await startServiceProcess({ JWT_SECRET: secret, IDENTITY_HEADERS }, { dir });
    nginx = await startNginx({
      dir,
      jwtAuthAddr: service.addr,
      appAddr: `127.0.0.1:${(app.address() as AddressInfo).port}`,
      extraPorts: 1,
      extraServers: (ports) => LAYOUTS(ports[0] ?? 0),
    });
    base = `http://127.0.0.1:${nginx.extraPorts[0]}`;
    bob = await mintToken(secret, { sub: 'bob', roles: ['user'], name: 'Bob' });
  });

  after(async () => {
    await nginx?.stop().catch(() => undefined);
    await service?.stop().catch(() => undefined);
    if (app) await new Promise<void>((resolve) => app?.close(() => resolve()));
    if (dir) removeTempDir(dir);
  });

  /** A WebSocket handshake through nginx; resolves with nginx's status line. */
  const upgrade = (path: string, headers: Record<string, string>): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(nginx?.extraPorts[0] ?? 0, '127.0.0.1');
      const lines = Object.entries({
        host: 'localhost',
        upgrade: 'websocket',
        connection: 'Upgrade',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
        if (data.includes('\r\n')) {
          resolve(data.split('\r\n', 1)[0] ?? '');
          socket.destroy();
        }
      });
      socket.on('error', reject);
      socket.write(`GET ${path} HTTP/1.1\r\n${lines}\r\n`);
    });

  const FORGED: ReadonlyArray<Record<string, string>> = [
    { 'x-auth-user': 'alice' },
    { 'x-auth-roles': 'admin' },
    { 'x-auth-name': 'Alice' },
    { 'X-AUTH-USER': 'alice' },
  ];
  const PATHS = ['/plain', '/files/report.pdf', '/live/feed', '/flaky/page'] as const;

  it('each layout really passes requests to the app without its own identity overwrites', async () => {
    received.length = 0;
    for (const path of PATHS) assert.equal((await httpRequest(`${base}${path}`, { headers: { authorization: `Bearer ${bob}` } })).status, 200, path);
    assert.match(await upgrade('/live/socket', { authorization: `Bearer ${bob}` }), /^HTTP\/1\.1 101 /);
    // The last request for a path wins: /flaky/page reaches the app twice, the second time as the fallback.
    const byPath = new Map(received.map((entry) => [entry.path, entry.identity]));
    assert.equal(byPath.get('/plain')?.['x-auth-user'], 'bob', 'the plain location overwrites');
    // Where the overwrites are not inherited, the app gets no identity at all (and never a forged one).
    assert.equal(byPath.get('/files/report.pdf')?.['x-auth-user'], undefined);
    assert.equal(byPath.get('/live/socket')?.['x-auth-user'], undefined);
    assert.equal(byPath.get('/flaky/page')?.['x-auth-user'], undefined);
  });

  for (const forged of FORGED) {
    for (const path of PATHS) {
      it(`${JSON.stringify(forged)} with a valid token is refused at ${path}, and the app never sees it`, async () => {
        received.length = 0;
        const reply = await httpRequest(`${base}${path}`, { headers: { authorization: `Bearer ${bob}`, ...forged } });
        assert.equal(reply.status, 400);
        assert.equal(reply.headers['x-auth-error'], 'identity_header_forged');
        assert.deepEqual(reply.json(), { error: 'identity_header_forged' });
        assert.deepEqual(received, []);
      });
    }
    it(`${JSON.stringify(forged)} on a WebSocket upgrade is refused, and the app never sees it`, async () => {
      received.length = 0;
      assert.match(await upgrade('/live/socket', { authorization: `Bearer ${bob}`, ...forged }), /^HTTP\/1\.1 400 /);
      assert.deepEqual(received, []);
    });
  }

  it('without a token the forged header is refused just the same (the guard runs before auth)', async () => {
    received.length = 0;
    const reply = await httpRequest(`${base}/plain`, { headers: { 'x-auth-user': 'alice' } });
    assert.equal(reply.status, 400);
    assert.deepEqual(received, []);
  });
});
