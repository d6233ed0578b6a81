#!/usr/bin/env node
/**
 * node dist/src/cli.js serve | sign | verify | revoke | keygen | check-config | nginx-snippet
 * Every command reads the same environment variables as the service.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ALGORITHMS, factsOf, type Algorithm, type KeygenParameters } from './algorithms.js';
import { readCookie } from './config/cookie.js';
import { EnvReader, parseDurationMs } from './config/env-reader.js';
import { readIdentityHeaders } from './config/identity-headers.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { toAppError } from './errors.js';
import { remoteKeysFactory } from './jwks/factory.js';
import { fetchKeySetOnce } from './jwks/index.js';
import { createLogger } from './logging.js';
import { createMetrics } from './metrics.js';
import { createTrust, type TrustRuntime } from './trust.js';
import { keySourceFromConfig } from './key-source.js';
import { LOCAL_ISSUER_LABEL, OWN_ISSUER_UNNAMED, ownIssuerTakesAnyIss } from './trusted-issuer.js';
import { loadKeys } from './keys.js';
import { nginxSnippet } from './nginx-snippet.js';
import { serve, StartupError } from './main.js';
import { createRedisConnection } from './redis/client.js';
import { revocationLifetimes, revocationOfSubject, revocationOfToken } from './revocation/list.js';
import { revocationKeys, storeRevocation } from './revocation/redis.js';
import { createTokenSigner } from './token/sign.js';
import { createTokenVerifier } from './token/verify.js';
import { VERSION } from './version.js';

/**
 * How messages name this program: `node dist/src/cli.js` runs from a checkout after `npm run build` and
 * in the Docker image (its WORKDIR holds dist/), with nothing but node on the PATH; the package is
 * private, so `nginx-jwt-auth` itself is on no PATH and `npx` would need npm.
 */
const COMMAND = 'node dist/src/cli.js';

const COMMANDS: Readonly<Record<string, { synopsis: string; help: string }>> = {
  serve: { synopsis: 'serve', help: 'run the service (the default command)' },
  'check-config': {
    synopsis: 'check-config [--online]',
    help:
      'validate the environment and keys without any network; exit 0 when usable, 1 otherwise;\n' +
      "--online also fetches every identity provider's discovery document and keys and reports what it found",
  },
  sign: {
    synopsis: 'sign --sub NAME [--claims JSON] [--ttl DURATION]',
    help: 'print a token signed with the configured key; --ttl like JWT_TTL (600, 30s, 15m, 1h, 2d), JWT_TTL by default',
  },
  verify: {
    synopsis: 'verify [TOKEN]',
    help: 'print the claims of TOKEN (or of stdin) or its error code; exit 1 when invalid',
  },
  'nginx-snippet': {
    synopsis: 'nginx-snippet',
    help: 'print the nginx lines that must match IDENTITY_HEADERS and TOKEN_COOKIE: the block for\njwt-auth-protect.conf and the block for jwt-auth-http.conf (paste each over the one between its markers)',
  },
  revoke: {
    synopsis: 'revoke --jti ID [--exp SECONDS] | --sub SUBJECT',
    help:
      'revoke one token by its jti (until --exp, the epoch second of its exp; else REVOCATION_MAX_TOKEN_LIFETIME),\n' +
      'or every token of SUBJECT issued up to now; every instance sharing REDIS_URL denies them within a second.\n' +
      'Needs REDIS_URL; exits 0 once stored, 1 when Redis cannot store it (nothing was revoked)',
  },
  keygen: {
    synopsis: 'keygen [--alg ALG] [--out DIR] [--force | --if-missing]',
    help: 'write a new HMAC secret or key pair (default HS256 into ./keys);\n--if-missing keeps existing key files and exits 0 (first-start jobs)',
  },
};

const USAGE = `nginx-jwt-auth ${VERSION}

Usage: ${COMMAND} <command> [options]     (<command> --help for one command)

${Object.values(COMMANDS)
  .map(({ synopsis, help }) => `  ${synopsis}\n      ${help.replaceAll('\n', '\n      ')}`)
  .join('\n')}

Configuration comes from environment variables: see README.md.`;

function commandUsage(name: string): string {
  const { synopsis, help } = COMMANDS[name] ?? { synopsis: name, help: '' };
  return `Usage: ${COMMAND} ${synopsis}\n\n${help}\n\nIt reads the same environment variables as the service: see README.md.`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

function keygen(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      alg: { type: 'string', default: 'HS256' },
      out: { type: 'string', default: 'keys' },
      force: { type: 'boolean', default: false },
      'if-missing': { type: 'boolean', default: false },
    },
  });
  const alg = ALGORITHMS.find((candidate) => candidate.toLowerCase() === String(values.alg).toLowerCase());
  if (alg === undefined) throw new ConfigError([`--alg: expected one of ${ALGORITHMS.join(', ')}`]);
  const dir = resolve(String(values.out));
  const parameters = factsOf(alg).keygen;
  const files = parameters.kind === 'secret' ? ['jwt-secret'] : ['jwt-private.pem', 'jwt-public.pem'];
  if (values['if-missing'] && files.every((name) => existsSync(join(dir, name)))) {
    console.log(`keys already present in ${dir}: kept`);
    return 0;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, content: string, mode: number): string => {
    const path = join(dir, name);
    if (existsSync(path) && !values.force) throw new ConfigError([`${path} exists: pass --force to replace it`]);
    writeFileSync(path, content, { mode });
    return path;
  };
  if (parameters.kind === 'secret') {
    // base64url so it survives env files and shells.
    const path = write('jwt-secret', `${randomBytes(parameters.bytes).toString('base64url')}\n`, 0o600);
    console.log(`JWT_ALGORITHM=${alg}\nJWT_SECRET_FILE=${path}`);
    return 0;
  }
  const { privateKey, publicKey } = generatePair(parameters);
  const privatePath = write('jwt-private.pem', privateKey, 0o600);
  const publicPath = write('jwt-public.pem', publicKey, 0o644);
  console.log(`JWT_ALGORITHM=${alg}\nJWT_PRIVATE_KEY_FILE=${privatePath}\n# applications and verify-only instances:\nJWT_PUBLIC_KEY_FILE=${publicPath}`);
  return 0;
}

function generatePair(parameters: Exclude<KeygenParameters, { kind: 'secret' }>): { privateKey: string; publicKey: string } {
  const pair =
    parameters.kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: parameters.modulusLength })
      : parameters.kind === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: parameters.namedCurve })
        : generateKeyPairSync('ed25519');
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function sign(args: string[]): number {
  const { values } = parseArgs({ args, options: { sub: { type: 'string' }, claims: { type: 'string', default: '{}' }, ttl: { type: 'string' } } });
  const config = loadConfig(process.env);
  const keys = loadKeys(config.jwt);
  if (keys.signing === undefined) throw new ConfigError(['sign needs a signing key: JWT_SECRET or JWT_PRIVATE_KEY_FILE']);
  if (!values.sub) throw new ConfigError(['--sub is required']);
  let claims: unknown;
  try {
    claims = JSON.parse(String(values.claims));
  } catch {
    throw new ConfigError(['--claims must be a JSON object']);
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new ConfigError(['--claims must be a JSON object']);
  const ttlMs = values.ttl === undefined ? undefined : parseDurationMs(values.ttl);
  // A JWT's exp counts whole seconds.
  const ttl = ttlMs === undefined ? undefined : Math.floor(ttlMs / 1000);
  if (values.ttl !== undefined && (ttl === undefined || ttl <= 0))
    throw new ConfigError([`--ttl: expected a duration of at least 1s such as 600, 30s, 15m or 1h, got "${values.ttl}"`]);
  console.log(createTokenSigner(config.jwt, keys.signing)(values.sub, claims as Record<string, unknown>, ttl).token);
  return 0;
}

/**
 * The issuers /check trusts, with their keys fetched once: a verify that says what /check would.
 * Waits for every provider's first keys, bounded by the fetch timeout (then its tokens are denied
 * issuer_keys_unavailable, as /check would).
 */
async function trustOf(config: Config): Promise<TrustRuntime> {
  const logger = createLogger('silent');
  const trust = createTrust(
    config,
    keySourceFromConfig(config.jwt),
    remoteKeysFactory(config.issuers.jwks, logger, createMetrics({ version: VERSION, defaultMetrics: false })),
  );
  trust.start();
  const deadline = Date.now() + config.issuers.jwks.timeoutMs * 2;
  while (!trust.ready && Date.now() < deadline) await delay(20);
  return trust;
}

async function verify(args: string[]): Promise<number> {
  const config = loadConfig(process.env);
  const token = args[0] ?? (await readStdin());
  const trust = await trustOf(config);
  try {
    const { claims, issuer } = await createTokenVerifier(config.jwt, trust, { unknownKidWaitMs: config.issuers.jwks.timeoutMs })(token);
    if (issuer !== trust.own) console.error(`issued by ${issuer.label}`);
    console.log(JSON.stringify(claims, null, 2));
    // /check accepts it too, but the token's own clock says it is over: an operator reading this should know.
    const exp = (claims as { exp?: unknown }).exp;
    if (typeof exp === 'number' && exp * 1000 <= Date.now())
      console.error(
        `expired, within tolerance: exp was ${Math.ceil(Date.now() / 1000 - exp)}s ago, JWT_CLOCK_TOLERANCE is ${config.jwt.clockToleranceMs / 1000}s`,
      );
    return 0;
  } catch (error) {
    console.error(toAppError(error).code);
    return 1;
  } finally {
    trust.close();
  }
}

/** Needs no keys: only the identity headers and the cookie name are read. */
function printNginxSnippet(): number {
  const env = new EnvReader(process.env);
  const snippet = nginxSnippet(readIdentityHeaders(env), readCookie(env));
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  console.log(`# In snippets/jwt-auth-protect.conf:\n${snippet.protect}\n\n# In snippets/jwt-auth-http.conf:\n${snippet.http}`);
  return 0;
}

/** Stores a revocation in Redis, where every instance picks it up from the change feed. */
async function revoke(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { jti: { type: 'string' }, exp: { type: 'string' }, sub: { type: 'string' } } });
  const config = loadConfig(process.env);
  if ((values.jti === undefined) === (values.sub === undefined)) throw new ConfigError(['revoke: give --jti ID or --sub SUBJECT (one of them)']);
  if (values.exp !== undefined && (values.jti === undefined || !/^\d{1,12}$/.test(values.exp)))
    throw new ConfigError(["--exp: the epoch second of the token's exp claim, with --jti"]);
  if (config.redis.topology === undefined)
    throw new ConfigError([
      'revoke needs REDIS_URL: without Redis each running service keeps its revocations in its own memory, which this command cannot reach. ' +
        'Log the token out with POST /logout instead, or run the services with REDIS_URL',
    ]);
  const lifetimes = revocationLifetimes(config);
  const revocation =
    values.sub !== undefined
      ? revocationOfSubject(values.sub, lifetimes)
      : revocationOfToken(values.jti, values.exp === undefined ? undefined : Number(values.exp), lifetimes);
  if (revocation === undefined || (values.sub !== undefined && values.sub === '')) throw new ConfigError(['revoke: --jti and --sub cannot be empty']);
  const connection = createRedisConnection(config.redis, 'commands', createLogger('silent'));
  if (connection === undefined) return 1;
  try {
    connection.connect();
    const deadline = Date.now() + config.redis.connectTimeoutMs;
    while (connection.status().state !== 'ready' && Date.now() < deadline) await delay(20);
    if (connection.status().state !== 'ready') {
      console.error(
        `revocation_unavailable: redis (${connection.target}) is not reachable: ${connection.status().lastError ?? 'no answer'}; nothing was revoked`,
      );
      return 1;
    }
    await storeRevocation(connection.client, revocationKeys(config.redis), revocation);
  } catch (error) {
    console.error(`${toAppError(error).code}: ${(error as Error).message}; nothing was revoked`);
    return 1;
  } finally {
    await connection.close();
  }
  const until = new Date(revocation.untilMs).toISOString();
  console.log(
    revocation.kind === 'jti'
      ? `revoked jti ${revocation.jti} until ${until}`
      : `revoked every token and session of ${revocation.sub} begun up to now, kept until ${until}`,
  );
  return 0;
}

/** Every identity provider the configuration names, with where its keys come from. */
function providersOf(config: Config): Array<{ issuer: string; url: string | undefined; algorithms: readonly Algorithm[]; audiences: readonly string[] }> {
  const { issuers } = config;
  return [
    ...(issuers.ownJwksUri === undefined
      ? []
      : [{ issuer: config.jwt.issuer ?? LOCAL_ISSUER_LABEL, url: issuers.ownJwksUri, algorithms: issuers.ownJwksAlgorithms, audiences: config.jwt.audience }]),
    ...issuers.trusted.map((entry) => ({ issuer: entry.issuer, url: entry.jwksUri, algorithms: entry.algorithms, audiences: entry.audiences })),
  ];
}

async function checkConfig(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { online: { type: 'boolean' } } });
  const config = loadConfig(process.env);
  const keys = loadKeys(config.jwt);
  const own =
    keys.verification.length === 0
      ? 'no keys of its own (verify only, /login answers 404)'
      : `${config.jwt.algorithm}, ${keys.signing ? 'signing and verifying' : 'verify only'}, ` +
        `${keys.verification.length} verification key(s) [${keys.verification.map((key) => `${key.kid} ${key.alg}`).join(', ')}]`;
  console.log(`configuration OK: ${own}, deny status ${config.check.unauthenticatedStatus}, listening on ${config.server.host}:${config.server.port}`);
  const providers = providersOf(config);
  if (ownIssuerTakesAnyIss(config, keys.verification.length > 0)) console.error(`warning: ${OWN_ISSUER_UNNAMED}`);
  for (const provider of providers) {
    console.log(
      `  issuer ${provider.issuer}: keys from ${provider.url ?? 'OpenID discovery'}, audiences [${provider.audiences.join(', ')}], ` +
        `algorithms [${provider.algorithms.join(', ')}]`,
    );
  }
  if (!values.online) {
    if (providers.length > 0) console.log(`nothing fetched: \`${COMMAND} check-config --online\` fetches every provider's keys`);
    return 0;
  }
  let failed = 0;
  for (const provider of providers) {
    const report = await fetchKeySetOnce({ ...config.issuers.jwks, ...provider });
    if (report.ok) {
      console.log(`  ${provider.issuer}: ${report.keys.length} key(s) from ${report.url}, cached ${Math.round(report.cacheMs / 1000)}s`);
      for (const key of report.keys) console.log(`    ${key.kid} ${key.alg} ${key.kty}`);
    } else {
      failed++;
      console.error(`  ${provider.issuer}: no keys (${report.result}): ${report.error}`);
    }
    for (const ignored of report.ignored) console.log(`    ignored ${ignored.kid ?? `key ${ignored.index}`}: ${ignored.reason}`);
  }
  return failed === 0 ? 0 : 1;
}

async function run(argv: string[]): Promise<number | undefined> {
  const [command = 'serve', ...args] = argv;
  if (command in COMMANDS && (args.includes('--help') || args.includes('-h'))) {
    console.log(commandUsage(command));
    return 0;
  }
  switch (command) {
    case 'serve':
      await serve(process.env);
      return undefined;
    case 'check-config':
      return checkConfig(args);
    case 'sign':
      return sign(args);
    case 'verify':
      return verify(args);
    case 'keygen':
      return keygen(args);
    case 'nginx-snippet':
      return printNginxSnippet();
    case 'revoke':
      return revoke(args);
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    case '--version':
      console.log(VERSION);
      return 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof StartupError) console.error(`nginx-jwt-auth: ${error.message}`);
    else if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      console.error(`nginx-jwt-auth: ${error.message}\n\n${USAGE}`);
    // Anything else that stops a command is still one line; NODE_DEBUG=nginx-jwt-auth shows where it came from.
    else console.error(`nginx-jwt-auth: ${process.env.NODE_DEBUG?.includes('nginx-jwt-auth') ? String((error as Error).stack) : reason(error)}`);
    process.exitCode = 1;
  },
);
