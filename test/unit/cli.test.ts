import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli, type CliRun } from '../../support/cli.js';
import { REPO_ROOT } from '../../support/paths.js';
import { signJws, nowSeconds, tamperSignature } from '../../support/jws.js';
import { KeyFiles, hmacSecret } from '../../support/keys.js';

const files = new KeyFiles();
after(() => files.remove());

/** Runs the CLI in the key files' folder. */
const cli = (args: readonly string[], env: Record<string, string> = {}, stdin = ''): Promise<CliRun> => runCli(args, env, { cwd: files.dir, stdin });

describe('keygen', { timeout: 60_000 }, () => {
  test('HS256: writes a secret file (0600) that check-config accepts', async () => {
    const out = join(files.dir, 'hs');
    const run = await cli(['keygen', '--alg', 'HS256', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    const path = join(out, 'jwt-secret');
    assert.match(run.stdout, new RegExp(`JWT_SECRET_FILE=${path}`));
    assert.match(run.stdout, /JWT_ALGORITHM=HS256/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(Buffer.byteLength(readFileSync(path, 'utf8').trim()) >= 32);
    const check = await cli(['check-config'], { JWT_SECRET_FILE: path });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /configuration OK: HS256/);
  });

  test('refuses to overwrite without --force, and replaces with it', async () => {
    const out = join(files.dir, 'hs-twice');
    assert.equal((await cli(['keygen', '--out', out])).code, 0);
    const path = join(out, 'jwt-secret');
    const first = readFileSync(path, 'utf8');

    const again = await cli(['keygen', '--out', out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists/);
    assert.match(again.stderr, /--force/);
    assert.equal(readFileSync(path, 'utf8'), first);

    const forced = await cli(['keygen', '--out', out, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(path, 'utf8'), first);
  });

  test('ES256: writes a key pair (private 0600) that check-config accepts', async () => {
    const out = join(files.dir, 'es');
    const run = await cli(['keygen', '--alg', 'ES256', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    const privatePath = join(out, 'jwt-private.pem');
    const publicPath = join(out, 'jwt-public.pem');
    assert.match(run.stdout, new RegExp(`JWT_PRIVATE_KEY_FILE=${privatePath}`));
    assert.match(run.stdout, new RegExp(`JWT_PUBLIC_KEY_FILE=${publicPath}`));
    assert.equal(statSync(privatePath).mode & 0o777, 0o600);
    assert.match(readFileSync(publicPath, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    const check = await cli(['check-config'], { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: privatePath });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /configuration OK: ES256, signing and verifying/);
    const verifyOnly = await cli(['check-config'], { JWT_ALGORITHM: 'ES256', JWT_PUBLIC_KEY_FILE: publicPath });
    assert.equal(verifyOnly.code, 0, verifyOnly.stderr);
    assert.match(verifyOnly.stdout, /verify only/);
  });

  test('ES256 refuses to overwrite either file without --force', async () => {
    const out = join(files.dir, 'es-twice');
    assert.equal((await cli(['keygen', '--alg', 'ES256', '--out', out])).code, 0);
    const before = readFileSync(join(out, 'jwt-private.pem'), 'utf8');
    const again = await cli(['keygen', '--alg', 'ES256', '--out', out]);
    assert.equal(again.code, 1);
    assert.equal(readFileSync(join(out, 'jwt-private.pem'), 'utf8'), before);
  });

  test('an unknown --alg exits 1 and lists the algorithms', async () => {
    const run = await cli(['keygen', '--alg', 'HS1', '--out', join(files.dir, 'none')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--alg.*HS256/);
  });
});

describe('sign and verify', { timeout: 60_000 }, () => {
  const env = { JWT_SECRET: hmacSecret('HS256'), JWT_ISSUER: 'https://auth.example' };

  test('sign → verify round trip: exit 0 and the claims printed', async () => {
    const signed = await cli(['sign', '--sub', 'alice', '--claims', '{"roles":["admin"]}', '--ttl', '600'], env);
    assert.equal(signed.code, 0, signed.stderr);
    const token = signed.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

    const verified = await cli(['verify', token], env);
    assert.equal(verified.code, 0, verified.stderr);
    const claims = JSON.parse(verified.stdout) as Record<string, unknown>;
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims.roles, ['admin']);
    assert.equal(claims.iss, 'https://auth.example');
    assert.equal((claims.exp as number) - (claims.iat as number), 600);
  });

  test('verify reads the token from stdin', async () => {
    const token = (await cli(['sign', '--sub', 'bob'], env)).stdout.trim();
    const verified = await cli(['verify'], env, `${token}\n`);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal((JSON.parse(verified.stdout) as { sub: string }).sub, 'bob');
  });

  const bad: Array<[name: string, make: () => Promise<string>, code: string]> = [
    ['a tampered token', async () => tamperSignature((await cli(['sign', '--sub', 'alice'], env)).stdout.trim()), 'token_signature_invalid'],
    ['an expired token', async () => signJws({ alg: 'HS256' }, { sub: 'a', iss: env.JWT_ISSUER, exp: nowSeconds() - 3600 }, env.JWT_SECRET), 'token_expired'],
    ['an alg none token', async () => signJws({ alg: 'none' }, { sub: 'a', exp: nowSeconds() + 60 }, ''), 'token_algorithm_not_allowed'],
    ['garbage', async () => 'not-a-token', 'token_malformed'],
    [
      'a token of another secret',
      async () => signJws({ alg: 'HS256' }, { sub: 'a', iss: env.JWT_ISSUER, exp: nowSeconds() + 60 }, hmacSecret()),
      'token_signature_invalid',
    ],
  ];
  for (const [name, make, code] of bad) {
    test(`verify of ${name} prints ${code} and exits 1`, async () => {
      const run = await cli(['verify', await make()], env);
      assert.equal(run.code, 1);
      assert.equal(run.stderr.trim(), code);
      assert.equal(run.stdout, '');
    });
  }

  test('sign without --sub exits 1', async () => {
    const run = await cli(['sign'], env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--sub/);
  });

  test('sign with --claims that are not a JSON object exits 1', async () => {
    const run = await cli(['sign', '--sub', 'a', '--claims', '[1]'], env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--claims/);
  });

  test('sign in a verify-only setup exits 1', async () => {
    const out = join(files.dir, 'verify-only');
    assert.equal((await cli(['keygen', '--alg', 'EdDSA', '--out', out])).code, 0);
    const run = await cli(['sign', '--sub', 'a'], { JWT_ALGORITHM: 'EdDSA', JWT_PUBLIC_KEY_FILE: join(out, 'jwt-public.pem') });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /signing key/);
  });
});

describe('check-config', { timeout: 60_000 }, () => {
  test('a usable environment exits 0', async () => {
    const run = await cli(['check-config'], { JWT_SECRET: hmacSecret(), PORT: '9001' });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /configuration OK/);
    assert.match(run.stdout, /:9001/);
  });

  test('an empty environment exits 1 and says how to make a key', async () => {
    const run = await cli(['check-config']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /JWT_SECRET/);
    assert.match(run.stderr, /keygen/);
  });

  test('a broken environment exits 1 and names every bad variable', async () => {
    const run = await cli(['check-config'], {
      PORT: 'abc',
      JWT_TTL: 'forever',
      CHECK_UNAUTHENTICATED_STATUS: '500',
      LOG_LEVEL: 'loud',
      IDENTITY_HEADERS: 'sub',
      JWT_SECRET: 'tooShortSecretValue',
    });
    assert.equal(run.code, 1);
    for (const variable of ['PORT', 'JWT_TTL', 'CHECK_UNAUTHENTICATED_STATUS', 'LOG_LEVEL', 'IDENTITY_HEADERS', 'JWT_SECRET']) {
      assert.match(run.stderr, new RegExp(variable), `${variable} not named in:\n${run.stderr}`);
    }
    assert.ok(!run.stderr.includes('tooShortSecretValue'), 'the secret is echoed');
  });

  test('a bad key file exits 1 and names the variable', async () => {
    const run = await cli(['check-config'], { JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: files.write('bad.pem', 'nope') });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /JWT_PRIVATE_KEY_FILE/);
  });
});

describe('usage', { timeout: 30_000 }, () => {
  test('an unknown command exits 2 with the usage', async () => {
    const run = await cli(['frobnicate']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Usage:/);
  });

  test('help exits 0', async () => {
    const run = await cli(['help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /keygen/);
  });
});

describe('help for every command', { timeout: 60_000 }, () => {
  for (const command of ['serve', 'check-config', 'sign', 'verify', 'keygen']) {
    test(`${command} --help prints its usage, with a command that runs, and exits 0 without doing anything`, async () => {
      const run = await cli([command, '--help']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^Usage: node dist/src/cli\\.js ${command}`));
      assert.equal(run.stderr, '');
    });
  }

  test('--help lists every command under the name it runs by', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Usage: node dist\/src\/cli\.js <command>/);
    for (const command of ['serve', 'check-config', 'sign', 'verify', 'keygen']) assert.match(run.stdout, new RegExp(`^  ${command}`, 'm'));
  });

  test('a missing key says how to make one with a command that runs', async () => {
    const run = await cli(['check-config']);
    assert.match(run.stderr, /`node dist\/src\/cli\.js keygen`/);
  });
});

describe('sign --ttl takes the durations of the configuration', { timeout: 60_000 }, () => {
  const env = { JWT_SECRET: hmacSecret('HS256') };
  for (const [ttl, seconds] of [
    ['1h', 3600],
    ['15m', 900],
    ['90s', 90],
    ['600', 600],
    ['2d', 172_800],
  ] as const) {
    test(`--ttl ${ttl} → exp − iat = ${seconds}`, async () => {
      const signed = await cli(['sign', '--sub', 'alice', '--ttl', ttl], env);
      assert.equal(signed.code, 0, signed.stderr);
      const verified = await cli(['verify', signed.stdout.trim()], env);
      const claims = JSON.parse(verified.stdout) as { exp: number; iat: number };
      assert.equal(claims.exp - claims.iat, seconds);
    });
  }
  for (const ttl of ['forever', '0', '500ms', '-1h']) {
    test(`--ttl ${ttl} exits 1 naming --ttl`, async () => {
      const run = await cli(['sign', '--sub', 'alice', `--ttl=${ttl}`], env);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^nginx-jwt-auth: .*--ttl: expected a duration of at least 1s/s);
      assert.equal(run.stdout, '');
    });
  }
});

describe('verify of a token past its exp but within JWT_CLOCK_TOLERANCE', { timeout: 30_000 }, () => {
  test('prints the claims, exits 0, and says "expired, within tolerance"', async () => {
    const env = { JWT_SECRET: hmacSecret('HS256'), JWT_CLOCK_TOLERANCE: '60s' };
    const run = await cli(['verify', signJws({ alg: 'HS256' }, { sub: 'a', exp: nowSeconds() - 10 }, env.JWT_SECRET)], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { sub: string }).sub, 'a');
    assert.match(run.stderr, /^expired, within tolerance: exp was 1\ds ago, JWT_CLOCK_TOLERANCE is 60s$/m);
  });

  test('a token still inside its lifetime gets no such note', async () => {
    const env = { JWT_SECRET: hmacSecret('HS256') };
    const run = await cli(['verify', signJws({ alg: 'HS256' }, { sub: 'a', exp: nowSeconds() + 60 }, env.JWT_SECRET)], env);
    assert.equal(run.code, 0);
    assert.equal(run.stderr, '');
  });
});

describe('start-up failures are one line and exit 1', { timeout: 60_000 }, () => {
  test('a busy port', async () => {
    const busy = net.createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const run = await cli(['serve'], { JWT_SECRET: hmacSecret(), HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent' });
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `nginx-jwt-auth: cannot listen on 127.0.0.1:${port}: address already in use\n`);
    } finally {
      busy.close();
    }
  });

  test('a host name that does not resolve', async () => {
    const run = await cli(['serve'], { JWT_SECRET: hmacSecret(), HOST: 'no-such-host.invalid', PORT: '0', LOG_LEVEL: 'silent' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^nginx-jwt-auth: cannot listen on no-such-host\.invalid:0: host name (not found|lookup failed.*)\n$/);
  });

  for (const host of ['999.1.1.1', '1.2.3', 'local host', 'a_b.example', '-x.example']) {
    test(`HOST=${host} is refused by check-config and by serve`, async () => {
      for (const command of ['check-config', 'serve']) {
        const run = await cli([command], { JWT_SECRET: hmacSecret(), HOST: host });
        assert.equal(run.code, 1, `${command}: ${run.stdout}`);
        assert.match(run.stderr, new RegExp(`HOST: expected an IP address .* got "${host.replace('.', '\\.')}"`));
      }
    });
  }

  for (const host of ['::1', '0.0.0.0', 'localhost', 'auth.internal.example.']) {
    test(`HOST=${host} is accepted`, async () => {
      const run = await cli(['check-config'], { JWT_SECRET: hmacSecret(), HOST: host });
      assert.equal(run.code, 0, run.stderr);
    });
  }
});

describe('npm start', () => {
  test('starts the built service: it neither cleans nor rebuilds dist/ under a running instance', () => {
    const { scripts } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // The heap flags keep RSS under 100 MB under load (BENCHMARKS.md, npm run bench:rss).
    assert.equal(scripts.start, 'node --max-semi-space-size=4 --max-old-space-size=256 dist/src/cli.js serve');
    assert.doesNotMatch(scripts.prestart ?? '', /rmSync|tsc|npm run (build|clean)(?! first)/);
  });
});
