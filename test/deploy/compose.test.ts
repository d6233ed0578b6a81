/**
 * No Docker daemon runs here, so docker-compose.yml and the Dockerfiles are checked as files: every
 * service, port, mounted file and environment variable they name must exist and match what the
 * service and the nginx templates actually read.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { npmStartNodeArgs } from '../../support/service.js';
import { DEMO_SERVICE_ENV } from '../../support/stack.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<
    string,
    { build?: string; image?: string; environment?: Record<string, string>; volumes?: string[]; ports?: string[]; command?: string[]; depends_on?: unknown }
  >;
  volumes?: Record<string, unknown>;
};
const services = compose.services;

function service(name: string) {
  const found = services[name];
  assert.ok(found, `service ${name} is defined`);
  return found;
}

/** The names loadConfig reads for a given environment: the service's configuration vocabulary. */
function variablesRead(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, name: string) {
      read.add(name.replace(/_FILE$/, ''));
      read.add(name);
      return target[name];
    },
  });
  try {
    loadConfig(recording);
  } catch {
    // Files named in the environment do not exist on this machine; only the names matter here.
  }
  return read;
}

function dockerfileCopies(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => /^COPY\s/.test(line) && !line.includes('--from='))
    .flatMap((line) => line.trim().split(/\s+/).slice(1, -1));
}

describe('docker-compose.yml', () => {
  test('defines nginx, the service, the authenticator and the key job', () => {
    assert.deepEqual(Object.keys(services).sort(), ['authenticator', 'jwt-auth', 'keygen', 'nginx']);
  });

  test('runs the scenario of npm run demo: every setting of the demo, with the same value', () => {
    const environment = service('jwt-auth').environment ?? {};
    for (const [name, value] of Object.entries(DEMO_SERVICE_ENV)) assert.equal(environment[name], value, `${name} in docker-compose.yml`);
  });

  test('the demo users: the authenticator is built from the demo Flask app with its users file', () => {
    assert.equal(service('authenticator').build, './examples/flask-authenticator');
    assert.equal(service('authenticator').environment?.USERS_FILE, '/app/users.json');
    assert.match(readFileSync(join(root, 'examples', 'flask-authenticator', 'Dockerfile'), 'utf8'), /COPY .*users\.json/);
  });

  test('nginx/README.md names the nginx version compose runs and the one the tests run', () => {
    const image = String(service('nginx').image);
    const version = /^nginx:(\d+\.\d+)/.exec(image)?.[1];
    assert.ok(version, `an nginx image with a version: ${image}`);
    const readme = readFileSync(join(root, 'nginx', 'README.md'), 'utf8');
    assert.ok(readme.includes(`nginx:${version}`), `nginx/README.md mentions ${image}`);
    assert.match(readme, /run every snippet on nginx 1\.22/);
  });

  test('every environment variable of the service is one the service reads', () => {
    const env = service('jwt-auth').environment ?? {};
    const known = variablesRead(env);
    for (const name of Object.keys(env)) assert.ok(known.has(name), `${name} is a configuration variable of the service`);
  });

  test('the service reads its secret from the volume the key job writes, never from the image', () => {
    const auth = service('jwt-auth');
    const keygen = service('keygen');
    const secretFile = auth.environment?.JWT_SECRET_FILE ?? '';
    const outIndex = (keygen.command ?? []).indexOf('--out');
    const keyDir = (keygen.command ?? [])[outIndex + 1];
    assert.ok(keyDir && secretFile.startsWith(`${keyDir}/`), 'JWT_SECRET_FILE lies in the keygen output folder');
    assert.ok(
      auth.volumes?.some((volume) => volume.startsWith('keys:') && volume.split(':')[1] === keyDir),
      'the service mounts the keys volume there',
    );
    assert.ok(
      keygen.volumes?.some((volume) => volume === `keys:${keyDir}`),
      'the key job writes into the same volume',
    );
    assert.ok((keygen.command ?? []).includes('--if-missing'), 'restarts keep the existing secret');
    assert.ok(compose.volumes && 'keys' in compose.volumes);
    assert.equal(auth.environment?.JWT_SECRET, undefined, 'no secret in the compose file');
  });

  test('the authenticator URL points at the authenticator service', () => {
    const url = new URL(service('jwt-auth').environment?.AUTHENTICATOR_URL ?? '');
    assert.equal(url.hostname, 'authenticator');
    assert.ok(existsSync(join(root, service('authenticator').build ?? '', 'Dockerfile')));
  });

  test('nginx mounts only files that exist, and its templates get every placeholder they use', () => {
    const nginx = service('nginx');
    for (const volume of nginx.volumes ?? []) {
      const [hostPath] = volume.split(':');
      assert.ok(hostPath && existsSync(join(root, hostPath)), `${hostPath} exists`);
    }
    const env = nginx.environment ?? {};
    const templateDir = join(root, 'nginx/templates');
    for (const file of readdirSync(templateDir)) {
      const directives = readFileSync(join(templateDir, file), 'utf8').replace(/#.*$/gm, '');
      const placeholders = directives.match(/\$\{[A-Z_]+\}/g) ?? [];
      assert.ok(placeholders.length > 0, `${file} has placeholders`);
      for (const placeholder of placeholders) assert.ok(placeholder.slice(2, -1) in env, `${placeholder} of ${file} is set`);
    }
    const [serviceHost, servicePort] = (env.JWT_AUTH_ADDR ?? '').split(':');
    assert.equal(serviceHost, 'jwt-auth');
    assert.equal(servicePort, service('jwt-auth').environment?.PORT);
    assert.ok(nginx.ports?.includes(`8080:${env.NGINX_LISTEN}`), 'the demo answers on localhost:8080');
  });

  test('the trusted proxy range is the compose network nginx talks from', () => {
    const networks = (compose as unknown as { networks: { backend: { ipam: { config: Array<{ subnet: string }> } } } }).networks;
    assert.equal(service('jwt-auth').environment?.TRUSTED_PROXIES, networks.backend.ipam.config[0]?.subnet);
  });
});

describe('docker-compose.instances.yml: two instances and Redis', () => {
  const override = parse(readFileSync(join(root, 'docker-compose.instances.yml'), 'utf8')) as {
    services: Record<string, { image?: string; deploy?: { replicas?: number }; environment?: Record<string, string>; volumes?: string[] }>;
    volumes?: Record<string, unknown>;
  };

  test('adds Redis and runs two replicas of the service, which nginx reaches under one name', () => {
    assert.deepEqual(Object.keys(override.services).sort(), ['jwt-auth', 'redis']);
    assert.match(override.services.redis?.image ?? '', /^redis:/);
    assert.equal(override.services['jwt-auth']?.deploy?.replicas, 2);
    assert.equal((service('nginx').environment?.JWT_AUTH_ADDR ?? '').split(':')[0], 'jwt-auth', 'one name for every replica');
  });

  test('its REDIS_URL names the redis service, and every variable it adds is one the service reads', () => {
    const env = { ...service('jwt-auth').environment, ...override.services['jwt-auth']?.environment };
    const known = variablesRead(env);
    for (const name of Object.keys(env)) assert.ok(known.has(name), `${name} is a configuration variable of the service`);
    const config = loadConfig({ ...env, JWT_SECRET_FILE: '', JWT_SECRET: 'x'.repeat(32) });
    assert.deepEqual(config.redis.topology && config.redis.topology.kind === 'standalone' ? config.redis.topology.node : undefined, {
      host: 'redis',
      port: 6379,
    });
  });

  test('Redis keeps its data in a named volume', () => {
    assert.ok(override.services.redis?.volumes?.some((volume) => volume.startsWith('redis:')));
    assert.ok(override.volumes && 'redis' in override.volumes);
  });
});

describe('Dockerfiles', () => {
  test('copy only files that exist in the repository', () => {
    for (const dockerfile of ['Dockerfile', 'examples/flask-authenticator/Dockerfile']) {
      const context = join(root, dockerfile, '..');
      for (const source of dockerfileCopies(join(root, dockerfile))) assert.ok(existsSync(join(context, source)), `${dockerfile}: ${source} exists`);
    }
  });

  test('the service image copies every folder the TypeScript build compiles (npm run build would fail without one)', () => {
    const { include } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const copied = dockerfileCopies(join(root, 'Dockerfile'));
    for (const folder of new Set(include.map((glob) => glob.split('/')[0] ?? ''))) assert.ok(copied.includes(folder), `Dockerfile copies ${folder}/`);
  });

  test('the service image builds with the test build script, runs as non-root and has a health check', () => {
    const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
    assert.match(text, /RUN npm run build/);
    assert.match(text, /npm ci --omit=dev/);
    assert.match(text, /^USER node$/m);
    assert.match(text, /^HEALTHCHECK .*\n?.*\/healthz/m);
    assert.match(text, /^FROM node:22/m);
    assert.doesNotMatch(text, /JWT_SECRET|PRIVATE_KEY/, 'no secret in the image');
  });

  test("the service image runs node with npm start's flags (the ones npm run bench:rss measures), in NODE_OPTIONS", () => {
    const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const options = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(text)?.[1];
    assert.ok(options !== undefined, 'Dockerfile sets NODE_OPTIONS');
    assert.deepEqual(options.split(/\s+/), npmStartNodeArgs());
    assert.match(text, /^ENTRYPOINT \["node", "dist\/src\/cli\.js"\]$/m);
  });
});
