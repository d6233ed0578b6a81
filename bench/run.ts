/**
 * `npm run bench`: every row measured in the same run, interleaved round by round, and reported
 * as ratios to a baseline from the same round, because on a shared 2-core machine absolute numbers
 * drift. Every row runs twice per round: with wrk's default headers and with a browser's (about
 * 1.5 KB more, bench/lib/headers.ts).
 *
 *   B0   nginx → app, no auth                                          (the baseline)
 *   L    the original recipe: access_by_lua + an HS256 verify in Lua, then the app
 *   B1   nginx auth_request → service /check → app: the shipped files and service defaults, no cache
 *   B1c  B1 with as many connections as the shipped pool holds: does the pool churn?
 *   B1u  B1 with the service on a unix socket (SOCKET_PATH, `server unix:…;` in the upstream)
 *   B2   B1 with the decision cache (jwt-auth-cache.conf, CHECK_CACHE_MAX_AGE=30s)
 *   F0   floor: auth_request answered by nginx itself (return 204), then the app
 *   FC   floor for B2: auth_request answered from a minimal nginx cache, then the app
 *   FR   floor for B1: auth_request to R (bare node:http + fast-jwt), only Authorization forwarded,
 *        no cache, then the app: what any verifier behind one HTTP hop on node costs
 *   B3   the service's /check alone                                    (vs R)
 *   B3d  B3 flooded with a bad-signature token: every request a deny     (vs B3, service CPU)
 *   B3v  B3 with 100,000 revoked tokens (and 1,000 revoked subjects) in memory, loaded from a real
 *        redis-server at start                                         (vs B3: target ≤ 1.05× service CPU)
 *   B3k  B3 with an ES256 token verified by the service's own public key file
 *   B3o  B3k's token and key, the key fetched from a JWK Set server (OIDC_ISSUER)
 *                                                                      (vs B3k: target ≤ 1.05× service CPU)
 *   R    bare node:http + fast-jwt doing the same verify               (bench/servers/reference.ts)
 *   B4   /login against a stub authenticator that answers at once     (service CPU per login), and
 *        after the rounds one authenticator call alone through the service's client, got's promise
 *        API and node:http (bench/lib/client-cost.ts)
 *   B3w2 B3 with WORKERS=2 (only when asked for in BENCH_ROWS)
 *
 * Loopback only; everything it starts it stops, also on failure or Ctrl-C. Environment:
 *   BENCH_DURATION  seconds per row per round (2)     BENCH_ROUNDS       rounds (6)
 *   BENCH_WARMUP    seconds of warm-up per row (1)    BENCH_CONNECTIONS  wrk -c (64)
 *   BENCH_THREADS   wrk -t (2)                        BENCH_ROWS         e.g. B0,B1 (the default set)
 *   BENCH_JSON      also write the results to this file
 *   BENCH_NODE_ARGS node flags for every service process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 *   BENCH_RSS       1 / 0: after the rounds, target 4's memory run (bench/lib/rss.ts, its BENCH_RSS_*
 *                   settings as for `npm run bench:rss`); on by default unless BENCH_ROWS names rows
 *   WRK_BIN, NGINX_BIN  the programs (default: wrk on PATH, nginx on PATH or /usr/sbin)
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';
import { httpRequest } from '../support/http.js';
import { startJwksServer } from '../support/jwks-server.js';
import { nowSeconds, signJws } from '../support/jws.js';
import { redisClient, startRedisServer } from '../support/redis.js';
import { startServiceProcess, type ServiceProcess } from '../support/service.js';
import { findNginx, nginxModulesDir, startNginx, type NginxInstance } from '../support/nginx.js';
import { NGINX_CONFIG_DIR } from '../support/paths.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { makeSecret, mintToken } from '../support/tokens.js';
import { measureClientCost, type ClientCost } from './lib/client-cost.js';
import { measureRss, readRssSettings, type RssOutcome, type RssSettings } from './lib/rss.js';
import { connectionCounter, type ConnectionCounter } from './lib/connections.js';
import { BROWSER_HEADER_BYTES, BROWSER_HEADERS, COLUMNS, type Column } from './lib/headers.js';
import { LUA_MODULES, luaRecipeProblem, luaRecipeServer, writeLuaRecipe } from './lib/lua-recipe.js';
import { cpuSeconds, processTree, rssMb } from './lib/procfs.js';
import { startBenchServer } from './lib/servers.js';
import { findWrk, runWrk, writeWrkScript, type WrkLoad, type WrkResult } from './lib/wrk.js';
import { runMain, SettingsError } from './lib/main.js';

const IDENTITY_HEADERS = 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name';
/** Calls per client in the authenticator-call measurement (bench/lib/client-cost.ts): a few seconds each. */
const CLIENT_COST_CALLS = 10_000;

const ROW_IDS = ['B0', 'L', 'B1', 'B1c', 'B1u', 'B2', 'F0', 'FC', 'FR', 'B3', 'B3d', 'B3v', 'B3k', 'B3o', 'R', 'B4', 'B3w2'] as const;
/** B3v's revocations in memory. */
const REVOKED_TOKENS = 100_000;
const REVOKED_SUBJECTS = 1_000;
type RowId = (typeof ROW_IDS)[number];
/** Rows run unless BENCH_ROWS names others. */
const DEFAULT_ROWS: readonly RowId[] = ROW_IDS.filter((id) => id !== 'B3w2');
/** Rows behind nginx, whose CPU is compared with B0's ("added CPU"). */
const THROUGH_NGINX: ReadonlySet<RowId> = new Set(['B0', 'L', 'B1', 'B1c', 'B1u', 'B2', 'F0', 'FC', 'FR']);

type Role = 'nginx' | 'service' | 'reference' | 'upstream' | 'authenticator';
const ROLES: readonly Role[] = ['nginx', 'service', 'reference', 'upstream', 'authenticator'];

interface Row {
  readonly id: RowId;
  readonly what: string;
  readonly url: string;
  readonly method?: string;
  readonly body?: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The processes whose CPU the row spends (wrk excluded), by role. */
  readonly parts: () => ReadonlyArray<readonly [Role, number[]]>;
  /** The service whose connections are counted as they open and close. */
  readonly connectionsOf?: ConnectionCounter;
  /** Every answer is meant to be a 4xx (a flood of denials): then a 2xx is the error. */
  readonly denies?: boolean;
  /** wrk -c for this row, when not the run's. */
  readonly connections?: number;
  readonly columns: readonly Column[];
}

interface Options {
  readonly seconds: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly threads: number;
  readonly connections: number;
  readonly rows: readonly RowId[];
  readonly json: string | undefined;
  readonly nodeArgs: readonly string[];
  /** Target 4's memory run after the rounds, with its settings; undefined when left out. */
  readonly rss: RssSettings | undefined;
}

function readOptions(env: NodeJS.ProcessEnv): Options {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  const rows = (env.BENCH_ROWS ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  for (const id of rows) if (!(ROW_IDS as readonly string[]).includes(id)) problems.push(`BENCH_ROWS: unknown row "${id}" (rows: ${ROW_IDS.join(', ')})`);
  const rssWanted = env.BENCH_RSS ?? '';
  if (!['', '0', '1'].includes(rssWanted)) problems.push(`BENCH_RSS: expected 1 or 0, got "${rssWanted}"`);
  const options: Options = {
    // Many short rounds rather than a few long ones: the medians then shrug off a busy neighbour.
    seconds: int('BENCH_DURATION', 2, 1, 120),
    rounds: int('BENCH_ROUNDS', 6, 1, 50),
    warmup: int('BENCH_WARMUP', 1, 0, 60),
    threads: int('BENCH_THREADS', 2, 1, 64),
    connections: int('BENCH_CONNECTIONS', 64, 1, 10_000),
    rows: rows.length === 0 ? DEFAULT_ROWS : ROW_IDS.filter((id) => rows.includes(id)),
    json: env.BENCH_JSON || undefined,
    nodeArgs: (env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter((arg) => arg !== ''),
    // A full run measures every target; a run of named rows is someone looking at those rows.
    rss: rssWanted === '1' || (rssWanted === '' && rows.length === 0) ? readRssSettings(env) : undefined,
  };
  if (problems.length > 0) throw new SettingsError(`bench: ${problems.join('; ')}`);
  return options;
}

const median = (values: readonly number[]): number => {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** The first line a program prints about its version (nginx -v writes to stderr, wrk -v exits 1). */
function version(command: string, args: string[]): string {
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  return `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n')[0] ?? '?';
}

/** The `keepalive N;` of the shipped upstream jwt_auth: the pool size B1c loads. */
function shippedPoolSize(): number {
  const template = readFileSync(join(NGINX_CONFIG_DIR, 'templates', 'default.conf.template'), 'utf8');
  const block = /^upstream\s+jwt_auth\s*\{([\s\S]*?)^\}/m.exec(template)?.[1] ?? '';
  const size = Number(/^\s*keepalive\s+(\d+)\s*;/m.exec(block)?.[1]);
  if (!Number.isInteger(size)) throw new Error('nginx/templates/default.conf.template: no `keepalive N;` in upstream jwt_auth');
  return size;
}

/** One wrk run of one row in one header column. */
interface Sample {
  readonly result: WrkResult;
  /** CPU µs per request of each role. */
  readonly cpu: Partial<Record<Role, number>>;
  /** Service connections opened and closed per second during the run. */
  readonly churn: Churn | undefined;
}

type Key = `${RowId}/${Column}`;
const keyOf = (id: RowId, column: Column): Key => `${id}/${column}`;

async function main(): Promise<number> {
  const options = readOptions(process.env);
  const wrk = findWrk();
  if ('problem' in wrk) {
    console.error(`bench: ${wrk.problem}.\nInstall wrk (Debian/Ubuntu: apt-get install -y wrk; macOS: brew install wrk) or set WRK_BIN.`);
    return 2;
  }
  const nginxBin = findNginx();
  if (nginxBin === undefined) {
    console.error('bench: nginx not found: apt-get install -y nginx, or set NGINX_BIN');
    return 2;
  }
  const poolSize = shippedPoolSize();
  const luaProblem = luaRecipeProblem(nginxModulesDir(nginxBin));
  const wanted = new Set<RowId>(options.rows.filter((id) => id !== 'L' || luaProblem === undefined));
  const units = [...wanted].reduce((sum, id) => sum + (id === 'B1c' ? 1 : COLUMNS.length), 0);
  console.log(
    `nginx-jwt-auth benchmark: ${[...wanted].join(' ')} · each with default and browser-like headers (+${BROWSER_HEADER_BYTES} bytes) · ` +
      `wrk -t${options.threads} -c${options.connections} · ${options.rounds} rounds × ${options.seconds}s (+${options.warmup}s warm-up) per row · about ` +
      `${Math.ceil((units * (options.seconds * options.rounds + options.warmup)) / 60 + 0.3)} min` +
      (options.rss === undefined ? '' : `, then target 4's memory run (at most ${Math.ceil(options.rss.maxSeconds / 60)} min more)`),
  );
  console.log(
    `machine: ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB · node ${process.version} · ${version(nginxBin, ['-v'])} · ` +
      `${version(wrk.bin, ['-v'])} · nginx worker_processes 1 · shipped upstream pool: keepalive ${poolSize}`,
  );
  if (luaProblem !== undefined && options.rows.includes('L')) console.log(`row L (the Lua recipe) left out: ${luaProblem}`);

  const dir = makeTempDir('bench');
  const stoppers: Array<() => Promise<void>> = [];
  const track = <T extends { stop(): Promise<void> }>(part: T): T => {
    stoppers.push(() => part.stop());
    return part;
  };
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.splice(0).reverse()) await stop().catch(() => undefined);
  };
  const onSignal = (): void => {
    void stopAll().then(() => {
      removeTempDir(dir);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const counters: ConnectionCounter[] = [];
  try {
    const secret = makeSecret();
    // With a jti, as the service's own tokens have: B3v then looks it up among the revoked ones.
    const token = await mintToken(secret, { sub: 'alice', name: 'Alice', roles: ['admin', 'user'], jti: 'bench-token' }, { expiresIn: 86_400 });
    const auth = { Authorization: `Bearer ${token}` };
    const base = { JWT_SECRET: secret, IDENTITY_HEADERS };
    const needs = (...ids: RowId[]): boolean => ids.some((id) => wanted.has(id));

    const upstream = needs('B0', 'L', 'B1', 'B1c', 'B1u', 'B2', 'F0', 'FC', 'FR')
      ? track(await startBenchServer('upstream', { dir, probePath: '/', probeStatus: 200 }))
      : undefined;
    const stub = needs('B4') ? track(await startBenchServer('authenticator', { dir, probePath: '/', probeStatus: 404 })) : undefined;
    // R mirrors the service's fast-jwt options: HS256, exp required, 30 s tolerance, cache of 1000.
    // FC's cache is filled from it (once per 30 s); FR asks it on every request.
    const reference = needs('R', 'FC', 'FR')
      ? track(await startBenchServer('reference', { dir, env: { JWT_SECRET: secret, JWT_VERIFY_CACHE_SIZE: '1000' }, probePath: '/check', probeStatus: 403 }))
      : undefined;

    const services: Array<{ label: string; pids: () => number[]; rssBefore: number }> = [];
    const service = async (label: string, env: Record<string, string>, settle?: (pid: number) => Promise<void>) => {
      const instance: ServiceProcess = track(await startServiceProcess({ ...base, ...env }, { dir, nodeArgs: options.nodeArgs }));
      await settle?.(instance.process.pid);
      const pids = (): number[] => processTree(instance.process.pid);
      services.push({ label, pids, rssBefore: rssMb(pids()) });
      const connections = connectionCounter(instance.url, instance.socketPath);
      counters.push(connections);
      return { instance, connections };
    };
    // B1: the service as shipped (its verify cache of 1000 included); nginx's decision cache off.
    const shipped = needs('B1', 'B1c') ? await service('B1 service (defaults)', {}) : undefined;
    const overUnix = needs('B1u') ? await service('B1u service (SOCKET_PATH)', { SOCKET_PATH: join(dir, 'jwt-auth.sock') }) : undefined;
    const cached = needs('B2') ? await service('B2 service (CHECK_CACHE_MAX_AGE=30s)', { CHECK_CACHE_MAX_AGE: '30s' }) : undefined;
    // B4 measures /login itself: the failed-login limiter counts every attempt in flight (64 here) as a
    // possible failure, so with it on most of the load would be 429s.
    const alone = needs('B3', 'B3d', 'B4')
      ? await service(
          'B3/B4 service (defaults)',
          stub ? { AUTHENTICATOR_URL: `${stub.url}/login`, LOGIN_MAX_FAILURES_PER_IP: '0', LOGIN_MAX_FAILURES_PER_USER: '0' } : {},
        )
      : undefined;
    /** B3v: Redis filled with revocations first, so the service loads them all before it listens. */
    const serviceWithRevocations = async () => {
      const redis = track(await startRedisServer({ dir }));
      const client = redisClient(redis.url);
      try {
        await client.connect();
        const untilMs = Date.now() + 86_400_000;
        const issuedUpTo = Math.floor(Date.now() / 1000);
        const members: Array<number | string> = [];
        for (let i = 0; i < REVOKED_TOKENS; i++) members.push(untilMs, `j:revoked-${i}`);
        for (let i = 0; i < REVOKED_SUBJECTS; i++) members.push(untilMs, `s:${issuedUpTo}:user-${i}`);
        for (let i = 0; i < members.length; i += 20_000) await client.zadd('nginx-jwt-auth:revocations', ...members.slice(i, i + 20_000));
      } finally {
        client.disconnect();
      }
      const started = await service(`B3v service (${REVOKED_TOKENS} revoked tokens)`, { REDIS_URL: redis.url });
      const ready = JSON.parse((await httpRequest(`${started.instance.url}/readyz`)).body.toString()) as {
        revocations: { entries: { jti: number; sub: number } };
      };
      const { jti, sub } = ready.revocations.entries;
      if (jti !== REVOKED_TOKENS || sub !== REVOKED_SUBJECTS)
        throw new Error(`B3v: the service holds ${jti} revoked tokens and ${sub} subjects, not ${REVOKED_TOKENS} and ${REVOKED_SUBJECTS}`);
      return started;
    };
    const revoked = needs('B3v') ? await serviceWithRevocations() : undefined;
    // B3k / B3o: one ES256 key, once as the service's own key file, once fetched from a provider's
    // JWK Set; one token for both, of the provider's issuer, which B3k's service takes as its own.
    const provider = needs('B3k', 'B3o') ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : undefined;
    const providerKeys =
      provider === undefined
        ? undefined
        : await startJwksServer({ keys: [{ ...provider.publicKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' }] });
    if (providerKeys !== undefined) track({ stop: () => providerKeys.close() });
    const providerToken =
      provider === undefined || providerKeys === undefined
        ? undefined
        : signJws(
            { alg: 'ES256', kid: 'bench-es256', typ: 'at+jwt' },
            {
              sub: 'alice',
              name: 'Alice',
              roles: ['admin', 'user'],
              iss: providerKeys.issuer,
              aud: 'bench-api',
              iat: nowSeconds(),
              exp: nowSeconds() + 86_400,
            },
            provider.privateKey,
          );
    const ownKeyFile = join(dir, 'bench-es256-public.pem');
    if (provider !== undefined) writeFileSync(ownKeyFile, provider.publicKey.export({ type: 'spki', format: 'pem' }));
    const localKeys =
      needs('B3k') && providerKeys !== undefined
        ? await service('B3k service (own ES256 public key file)', {
            JWT_SECRET: '',
            JWT_ALGORITHM: 'ES256',
            JWT_PUBLIC_KEY_FILE: ownKeyFile,
            JWT_KEY_ID: 'bench-es256',
            JWT_ISSUER: providerKeys.issuer,
            JWT_AUDIENCE: 'bench-api',
          })
        : undefined;
    const remoteKeys =
      needs('B3o') && providerKeys !== undefined
        ? await service('B3o service (the key from a JWK Set, OIDC_ISSUER)', { JWT_SECRET: '', OIDC_ISSUER: providerKeys.issuer, OIDC_AUDIENCE: 'bench-api' })
        : undefined;
    const twoWorkers = needs('B3w2')
      ? await service('B3w2 service (WORKERS=2)', { WORKERS: '2' }, async (pid) => {
          // /readyz answered once the first worker listened; wait for the second one too.
          const deadline = Date.now() + 15_000;
          while (processTree(pid).length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
          await new Promise((resolve) => setTimeout(resolve, 500));
        })
      : undefined;

    const floorCache = join(dir, 'floor-cache');
    mkdirSync(floorCache, { mode: 0o777 });
    const plainServers = (ports: readonly number[]): string => `
# B0: the same app, no auth (a protected location minus auth_request).
server {
    listen 127.0.0.1:${ports[0]};
    location / {
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_pass http://app;
    }
}
# F0: the cheapest auth_request there is, answered by nginx itself.
server {
    listen 127.0.0.1:${ports[1]};
    location / {
        auth_request /_floor;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_pass http://app;
    }
    location = /_floor {
        internal;
        return 204;
    }
}
# FC: auth_request answered from a minimal nginx cache (key: the Authorization header), with the
# cached answer's identity headers passed to the app as jwt-auth-protect.conf does.
proxy_cache_path ${floorCache} levels=1:2 keys_zone=bench_floor:1m max_size=10m inactive=10m use_temp_path=off;
upstream bench_floor_auth {
    server ${reference?.addr ?? '127.0.0.1:9'};
    keepalive 16;
}
server {
    listen 127.0.0.1:${ports[2]};
    location / {
        auth_request /_floor_cache;
        auth_request_set $floor_user $upstream_http_x_auth_user;
        auth_request_set $floor_roles $upstream_http_x_auth_roles;
        auth_request_set $floor_name $upstream_http_x_auth_name;
        proxy_set_header X-Auth-User $floor_user;
        proxy_set_header X-Auth-Roles $floor_roles;
        proxy_set_header X-Auth-Name $floor_name;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_pass http://app;
    }
    location = /_floor_cache {
        internal;
        proxy_pass http://bench_floor_auth/check;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_pass_request_headers off;
        proxy_set_header Authorization $http_authorization;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_cache bench_floor;
        proxy_cache_key $http_authorization;
        proxy_cache_valid 200 30s;
    }
}
# FR: auth_request to R on every request, through a pool as large as the shipped one, forwarding
# only Authorization: the least any verifier behind one HTTP hop on node can cost.
upstream bench_floor_verifier {
    server ${reference?.addr ?? '127.0.0.1:9'};
    keepalive ${poolSize};
}
server {
    listen 127.0.0.1:${ports[3]};
    location / {
        auth_request /_floor_verifier;
        auth_request_set $floor_user $upstream_http_x_auth_user;
        auth_request_set $floor_roles $upstream_http_x_auth_roles;
        auth_request_set $floor_name $upstream_http_x_auth_name;
        proxy_set_header X-Auth-User $floor_user;
        proxy_set_header X-Auth-Roles $floor_roles;
        proxy_set_header X-Auth-Name $floor_name;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_pass http://app;
    }
    location = /_floor_verifier {
        internal;
        proxy_pass http://bench_floor_verifier/check;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_pass_request_headers off;
        proxy_set_header Authorization $http_authorization;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}`;
    let nginxPlain: NginxInstance | undefined;
    if (upstream && needs('B0', 'B1', 'B1c', 'F0', 'FC', 'FR')) {
      nginxPlain = track(
        await startNginx({
          dir,
          jwtAuthAddr: shipped?.instance.addr ?? '127.0.0.1:9',
          appAddr: upstream.addr,
          workers: 1,
          accessLog: false,
          extraServers: plainServers,
          extraPorts: 4,
        }),
      );
    }
    let nginxLua: NginxInstance | undefined;
    if (upstream && wanted.has('L')) {
      const folder = writeLuaRecipe(dir, secret);
      nginxLua = track(
        await startNginx({
          dir,
          jwtAuthAddr: '127.0.0.1:9',
          appAddr: upstream.addr,
          workers: 1,
          accessLog: false,
          modules: LUA_MODULES,
          extraServers: (ports) => luaRecipeServer(ports[0] as number, folder),
          extraPorts: 1,
        }),
      );
    }
    let nginxUnix: NginxInstance | undefined;
    if (upstream && overUnix) {
      nginxUnix = track(await startNginx({ dir, jwtAuthAddr: overUnix.instance.addr, appAddr: upstream.addr, workers: 1, accessLog: false }));
    }
    let nginxCached: NginxInstance | undefined;
    if (upstream && cached) {
      nginxCached = track(await startNginx({ dir, jwtAuthAddr: cached.instance.addr, appAddr: upstream.addr, workers: 1, accessLog: false, cache: true }));
    }

    const rows: Row[] = [];
    const both = COLUMNS;
    const tree =
      (...parts: Array<readonly [Role, { process: { pid: number } } | undefined]>) =>
      () =>
        parts.filter(([, part]) => part !== undefined).map(([role, part]) => [role, processTree((part as { process: { pid: number } }).process.pid)] as const);
    const add = (row: Row | false | undefined): void => {
      if (row && wanted.has(row.id)) rows.push(row);
    };
    if (nginxPlain && upstream) {
      const [b0Port, f0Port, fcPort, frPort] = nginxPlain.extraPorts;
      add({
        id: 'B0',
        what: 'nginx → app, no auth',
        url: `http://127.0.0.1:${b0Port}/`,
        headers: auth,
        parts: tree(['nginx', nginxPlain], ['upstream', upstream]),
        columns: both,
      });
      add(
        shipped && {
          id: 'B1',
          what: 'ours: shipped files, no cache',
          url: `${nginxPlain.url}/`,
          headers: auth,
          parts: tree(['nginx', nginxPlain], ['service', shipped.instance], ['upstream', upstream]),
          connectionsOf: shipped.connections,
          columns: both,
        },
      );
      add(
        shipped && {
          id: 'B1c',
          what: `B1 at wrk -c${poolSize} (the pool size)`,
          url: `${nginxPlain.url}/`,
          headers: auth,
          parts: tree(['nginx', nginxPlain], ['service', shipped.instance], ['upstream', upstream]),
          connectionsOf: shipped.connections,
          connections: poolSize,
          columns: ['default'],
        },
      );
      add({
        id: 'F0',
        what: 'floor: auth_request → return 204',
        url: `http://127.0.0.1:${f0Port}/`,
        headers: auth,
        parts: tree(['nginx', nginxPlain], ['upstream', upstream]),
        columns: both,
      });
      add({
        id: 'FC',
        what: 'floor: auth_request from nginx cache',
        url: `http://127.0.0.1:${fcPort}/`,
        headers: auth,
        parts: tree(['nginx', nginxPlain], ['reference', reference], ['upstream', upstream]),
        columns: both,
      });
      add({
        id: 'FR',
        what: 'floor: auth_request → bare node:http (R)',
        url: `http://127.0.0.1:${frPort}/`,
        headers: auth,
        parts: tree(['nginx', nginxPlain], ['reference', reference], ['upstream', upstream]),
        columns: both,
      });
    }
    if (nginxUnix && upstream && overUnix)
      add({
        id: 'B1u',
        what: 'B1, service on a unix socket',
        url: `${nginxUnix.url}/`,
        headers: auth,
        parts: tree(['nginx', nginxUnix], ['service', overUnix.instance], ['upstream', upstream]),
        connectionsOf: overUnix.connections,
        columns: both,
      });
    if (nginxLua && upstream)
      add({
        id: 'L',
        what: 'original recipe: access_by_lua',
        url: `http://127.0.0.1:${nginxLua.extraPorts[0]}/`,
        headers: auth,
        parts: tree(['nginx', nginxLua], ['upstream', upstream]),
        columns: both,
      });
    if (nginxCached && upstream && cached)
      add({
        id: 'B2',
        what: 'ours + decision cache (30s)',
        url: `${nginxCached.url}/`,
        headers: auth,
        parts: tree(['nginx', nginxCached], ['service', cached.instance], ['upstream', upstream]),
        connectionsOf: cached.connections,
        columns: both,
      });
    if (alone) {
      add({
        id: 'B3',
        what: 'service /check alone',
        url: `${alone.instance.url}/check`,
        headers: auth,
        parts: tree(['service', alone.instance]),
        columns: both,
      });
      // The same token with its signature's last characters replaced: well-formed, a deny at fast-jwt.
      const forged = `${token.slice(0, -6)}${token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
      add({
        id: 'B3d',
        what: 'B3, every token forged (deny flood)',
        url: `${alone.instance.url}/check`,
        headers: { Authorization: `Bearer ${forged}` },
        parts: tree(['service', alone.instance]),
        denies: true,
        columns: both,
      });
    }
    if (revoked)
      add({
        id: 'B3v',
        what: `B3 with ${REVOKED_TOKENS / 1000}k revoked tokens in memory`,
        url: `${revoked.instance.url}/check`,
        headers: auth,
        parts: tree(['service', revoked.instance]),
        columns: both,
      });
    for (const [id, started, what] of [
      ['B3k', localKeys, "B3, ES256 token, the service's own public key"],
      ['B3o', remoteKeys, "B3k's key fetched from a JWK Set (OIDC_ISSUER)"],
    ] as const) {
      if (started === undefined || providerToken === undefined) continue;
      add({
        id,
        what,
        url: `${started.instance.url}/check`,
        headers: { Authorization: `Bearer ${providerToken}` },
        parts: tree(['service', started.instance]),
        columns: both,
      });
    }
    if (reference)
      add({ id: 'R', what: 'bare node:http + fast-jwt', url: `${reference.url}/check`, headers: auth, parts: tree(['reference', reference]), columns: both });
    if (twoWorkers)
      add({
        id: 'B3w2',
        what: 'B3 with WORKERS=2',
        url: `${twoWorkers.instance.url}/check`,
        headers: auth,
        parts: tree(['service', twoWorkers.instance]),
        columns: both,
      });
    if (alone && stub)
      add({
        id: 'B4',
        what: '/login → stub authenticator, sign',
        url: `${alone.instance.url}/login`,
        method: 'POST',
        body: JSON.stringify({ username: 'alice', password: 'wonderland' }),
        headers: { 'Content-Type': 'application/json' },
        parts: tree(['service', alone.instance], ['authenticator', stub]),
        columns: both,
      });
    rows.sort((a, b) => ROW_IDS.indexOf(a.id) - ROW_IDS.indexOf(b.id));

    interface Unit {
      readonly row: Row;
      readonly column: Column;
      readonly script: string;
    }
    const unitList: Unit[] = rows.flatMap((row) =>
      row.columns.map((column) => ({
        row,
        column,
        script: writeWrkScript(dir, `${row.id}-${column}`, {
          method: row.method,
          body: row.body,
          headers: column === 'browser' ? { ...BROWSER_HEADERS, ...row.headers } : row.headers,
        }),
      })),
    );
    const loadOf = (row: Row, seconds: number): WrkLoad => ({
      threads: options.threads,
      connections: row.connections ?? options.connections,
      seconds,
    });
    if (options.warmup > 0) {
      process.stdout.write('warm-up:');
      for (const unit of unitList) {
        await runWrk(wrk.bin, unit.script, unit.row.url, loadOf(unit.row, options.warmup));
        process.stdout.write(` ${unit.row.id}${unit.column === 'browser' ? '*' : ''}`);
      }
      process.stdout.write('\n');
    }
    const nginxPids = (): number[] => [nginxPlain, nginxLua, nginxUnix, nginxCached].flatMap((instance) => (instance ? processTree(instance.process.pid) : []));
    const nginxRssBefore = rssMb(nginxPids());
    const samples = new Map<Key, Sample[]>(unitList.map((unit) => [keyOf(unit.row.id, unit.column), []]));
    for (let round = 1; round <= options.rounds; round++) {
      process.stdout.write(`round ${round}/${options.rounds}:`);
      // Units rotate from round to round, so none always runs right after the same other one.
      const order = unitList.map((_, i) => unitList[(i + round - 1) % unitList.length] as Unit);
      for (const { row, column, script } of order) {
        const parts = row.parts();
        const before = parts.map(([, pids]) => cpuSeconds(pids));
        const running = runWrk(wrk.bin, script, row.url, loadOf(row, options.seconds));
        // Connections are counted inside the run, a quarter of it after wrk starts to a quarter before
        // it ends: when wrk stops it drops connections with requests in flight, and nginx must then
        // close the service connections those requests were waiting on. That is the end of a test, not churn.
        const counting = row.connectionsOf === undefined ? undefined : countChurn(row.connectionsOf, options.seconds);
        const result = await running;
        const churn = await counting;
        const cpu: Partial<Record<Role, number>> = {};
        parts.forEach(([role, pids], i) => {
          cpu[role] = result.requests > 0 ? ((cpuSeconds(pids) - (before[i] as number)) * 1e6) / result.requests : Number.NaN;
        });
        // wrk counts 4xx/5xx as status errors: in a deny row those are the point, and a 2xx is wrong.
        const counted = row.denies ? { ...result, badStatus: result.requests - result.badStatus } : result;
        samples.get(keyOf(row.id, column))?.push({ result: counted, cpu, churn });
        process.stdout.write(` ${row.id}${column === 'browser' ? '*' : ''} ${Math.round(result.rps)}/s`);
      }
      process.stdout.write('\n');
    }

    // After the rounds, while nothing else runs: how much of a login (B4) one HTTP exchange is.
    const clientCost = stub ? await measureClientCost(`${stub.url}/login`, { calls: CLIENT_COST_CALLS, concurrency: options.connections }) : [];
    let memory: RssOutcome | undefined;
    if (options.rss) {
      console.log("\ntarget 4, memory (bench/lib/rss.ts; the rows' services idle meanwhile):");
      memory = await measureRss(options.rss, { wrkBin: wrk.bin, dir, track, log: (line) => console.log(line) });
    }
    const report = summarise(rows, samples, options, poolSize, clientCost, memory);
    console.log(`\n${report.table}`);
    console.log(`\nCPU µs per request, by process (median of rounds; wrk's own CPU not counted):\n${report.cpuTable}`);
    console.log('\nRSS (MB), before load → after:');
    const rss = services.map(({ label, pids, rssBefore }) => ({ label, before: rssBefore, after: rssMb(pids()) }));
    rss.push({ label: 'nginx (every instance, master + worker)', before: nginxRssBefore, after: rssMb(nginxPids()) });
    for (const { label, before, after } of rss) console.log(`  ${label.padEnd(42)} ${before.toFixed(1).padStart(6)} → ${after.toFixed(1).padStart(6)}`);
    console.log(`\n${report.targets.join('\n')}`);
    console.log(
      '\nratios and "added" figures are medians of per-round values against the same round and header set (rows interleaved);' +
        ' * marks the browser-like header set.',
    );
    if (options.json) {
      const results = {
        date: new Date().toISOString(),
        options,
        node: process.version,
        cpus: availableParallelism(),
        poolSize,
        rows: report.rows,
        rss,
        clientCost,
        memory,
      };
      writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
      console.log(`results written to ${options.json}`);
    }
    return report.failedRows > 0 ? 1 : 0;
  } finally {
    for (const counter of counters) counter.close();
    await stopAll();
    removeTempDir(dir);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * Service connections per second over the middle half of a run. A close alone is not churn: nginx
 * retires a pool connection idle for the upstream's keepalive_timeout (60 s as shipped), and one
 * the run has no use for (a pool grown by an earlier row at more connections, or one a cached row
 * hardly asks) may reach that during a run. Churn is a connection closed while another is opened
 * for the load: `replaced` counts those, the smaller of the two counts.
 */
interface Churn {
  readonly opened: number;
  readonly closed: number;
  readonly replaced: number;
}

async function countChurn(counter: ConnectionCounter, seconds: number): Promise<Churn | undefined> {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(seconds * 250);
  const started = performance.now();
  const first = await counter.read();
  await sleep(seconds * 500);
  const last = await counter.read();
  const elapsed = (performance.now() - started) / 1000;
  if (first === undefined || last === undefined) return undefined;
  const opened = (last.opened - first.opened) / elapsed;
  const closed = (last.closed - first.closed) / elapsed;
  return { opened, closed, replaced: Math.min(opened, closed) };
}

interface CellSummary {
  readonly rps: number;
  readonly p99: number;
  /** Total CPU µs per request of the row's processes. */
  readonly cpuUs: number;
  readonly cpuByRole: Partial<Record<Role, number>>;
  /** Against B0 of the same column and round. */
  readonly rpsVsB0: number;
  readonly p99VsB0: number;
  readonly addedCpuUs: number;
  readonly closesPerSecond: number | undefined;
  readonly opensPerSecond: number | undefined;
  /** The worst round's connections replaced per second (closed while others opened): churn. */
  readonly maxReplacedPerSecond: number | undefined;
  readonly errors: number;
}

interface RowSummary {
  readonly id: RowId;
  readonly what: string;
  readonly cells: Partial<Record<Column, CellSummary>>;
}

/** Median over rounds of `pick(row sample, baseline sample)`, rounds paired by index. */
function paired(row: readonly Sample[], baseline: readonly Sample[] | undefined, pick: (sample: Sample, base: Sample) => number): number {
  if (baseline === undefined) return Number.NaN;
  return median(row.map((sample, i) => (baseline[i] === undefined ? Number.NaN : pick(sample, baseline[i] as Sample))));
}

const totalCpu = (sample: Sample): number => Object.values(sample.cpu).reduce((sum, value) => sum + value, 0);

function summarise(
  rows: readonly Row[],
  samples: ReadonlyMap<Key, Sample[]>,
  options: Options,
  poolSize: number,
  clientCost: readonly ClientCost[],
  memory: RssOutcome | undefined,
) {
  const summaries: RowSummary[] = rows.map((row) => {
    const cells: Partial<Record<Column, CellSummary>> = {};
    for (const column of row.columns) {
      const data = samples.get(keyOf(row.id, column)) ?? [];
      const b0 = row.connections === undefined ? samples.get(keyOf('B0', column)) : undefined;
      const churn = data.map((sample) => sample.churn).filter((value): value is Churn => value !== undefined);
      cells[column] = {
        rps: median(data.map((sample) => sample.result.rps)),
        p99: median(data.map((sample) => sample.result.p99)),
        cpuUs: median(data.map(totalCpu)),
        cpuByRole: Object.fromEntries(
          ROLES.filter((role) => data[0]?.cpu[role] !== undefined).map((role) => [role, median(data.map((sample) => sample.cpu[role] ?? Number.NaN))]),
        ),
        rpsVsB0: THROUGH_NGINX.has(row.id) ? paired(data, b0, (s, b) => s.result.rps / b.result.rps) : Number.NaN,
        p99VsB0: THROUGH_NGINX.has(row.id) ? paired(data, b0, (s, b) => s.result.p99 / b.result.p99) : Number.NaN,
        addedCpuUs: THROUGH_NGINX.has(row.id) ? paired(data, b0, (s, b) => totalCpu(s) - totalCpu(b)) : Number.NaN,
        closesPerSecond: churn.length > 0 ? median(churn.map(({ closed }) => closed)) : undefined,
        opensPerSecond: churn.length > 0 ? median(churn.map(({ opened }) => opened)) : undefined,
        maxReplacedPerSecond: churn.length > 0 ? Math.max(...churn.map(({ replaced }) => replaced)) : undefined,
        errors: data.reduce((sum, sample) => sum + sample.result.badStatus + sample.result.socketErrors, 0),
      };
    }
    return { id: row.id, what: row.what, cells };
  });

  const fmt = (value: number | undefined, digits = 2): string => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits));
  const cellColumns = (id: RowId, cell: CellSummary | undefined): string[] =>
    cell === undefined
      ? ['', '', '', '', '', '', '', '']
      : [
          fmt(cell.rps, 0),
          fmt(cell.rpsVsB0),
          fmt(cell.p99, 1),
          fmt(cell.p99VsB0),
          THROUGH_NGINX.has(id) ? fmt(cell.addedCpuUs, 1) : fmt(cell.cpuUs, 1),
          fmt(cell.closesPerSecond, 1),
          fmt(cell.opensPerSecond, 1),
          String(cell.errors),
        ];
  const header = [
    'row',
    'path',
    'req/s',
    '×B0',
    'p99 ms',
    '×B0',
    'CPU µs',
    'closes/s',
    'opens/s',
    'err',
    'req/s*',
    '×B0*',
    'p99 ms*',
    '×B0*',
    'CPU µs*',
    'closes/s*',
    'opens/s*',
    'err*',
  ];
  const lines = summaries.map((s) => [s.id, s.what, ...cellColumns(s.id, s.cells.default), ...cellColumns(s.id, s.cells.browser)]);
  const table = renderTable(header, lines, 2);
  const legend =
    '(CPU µs: added over B0 of the same round, nginx + service + app, for rows through nginx; the process itself for the others.' +
    ' closes/s, opens/s: connections the service saw closed and opened per second, medians over the middle half of each run;' +
    ' a close with no open is nginx retiring an idle pool connection (keepalive_timeout), churn is both. * browser-like headers.)';

  const roles = ROLES.filter((role) => summaries.some((s) => COLUMNS.some((column) => s.cells[column]?.cpuByRole[role] !== undefined)));
  const cpuLines = summaries.flatMap((s) =>
    COLUMNS.filter((column) => s.cells[column] !== undefined).map((column) => {
      const cell = s.cells[column] as CellSummary;
      return [`${s.id}${column === 'browser' ? '*' : ''}`, ...roles.map((role) => fmt(cell.cpuByRole[role], 1)), fmt(cell.cpuUs, 1)];
    }),
  );
  const cpuTable = renderTable(['row', ...roles, 'total'], cpuLines, 1);

  const cell = (id: RowId, column: Column): CellSummary | undefined => summaries.find((s) => s.id === id)?.cells[column];
  const targets: string[] = [`targets (wrk -t${options.threads} -c${options.connections}, ${options.rounds} × ${options.seconds}s, nginx 1 worker):`];
  const verdict = (ok: boolean): string => (ok ? 'met    ' : 'NOT met');
  const atMost = (label: string, value: number | undefined, goal: number, unit = '', digits = 2): void => {
    if (value === undefined || !Number.isFinite(value)) return;
    targets.push(`  ${verdict(value <= goal)}  ${label}: ${value.toFixed(digits)}${unit} (target ≤ ${goal}${unit})`);
  };
  const atLeast = (label: string, value: number | undefined, goal: number): void => {
    if (value === undefined || !Number.isFinite(value)) return;
    targets.push(`  ${verdict(value >= goal)}  ${label}: ${value.toFixed(2)} (target ≥ ${goal})`);
  };
  const info = (text: string): void => void targets.push(`  info     ${text}`);

  atMost('1. B1 added CPU over B0, default headers', cell('B1', 'default')?.addedCpuUs, 60, ' µs', 1);
  atMost('1. B1 added CPU over B0, browser-like headers', cell('B1', 'browser')?.addedCpuUs, 75, ' µs', 1);
  atMost('1. B1 p99 / B0 p99, default headers', cell('B1', 'default')?.p99VsB0, 2);
  atMost('1. B1 p99 / B0 p99, browser-like headers', cell('B1', 'browser')?.p99VsB0, 2);
  // "No churn": fewer than one reconnect a second in every round (a kept pool replaces nothing).
  for (const [id, column, label] of [
    ['B1', 'default', `B1 at -c${options.connections}`],
    ['B1', 'browser', `B1* at -c${options.connections}`],
    ['B1c', 'default', `B1c at -c${poolSize} (= keepalive ${poolSize})`],
  ] as const)
    atMost(
      `1. service connections replaced (closed while others opened) per second, worst round, ${label}`,
      cell(id, column)?.maxReplacedPerSecond,
      1,
      '/s',
      1,
    );
  atLeast('2. B2 / FC req/s (decision cache vs the cache floor), default headers', paired2('B2', 'FC', 'default'), 0.95);
  atLeast('2. B2 / FC req/s, browser-like headers', paired2('B2', 'FC', 'browser'), 0.95);
  const ratioOf = (a: CellSummary | undefined, b: CellSummary | undefined): number | undefined => (a && b ? a.cpuUs / b.cpuUs : undefined);
  atMost('3. B3d / B3 service CPU per request (deny flood vs allow), default headers', ratioOf(cell('B3d', 'default'), cell('B3', 'default')), 1.5);
  atMost('3. B3d / B3 service CPU per request, browser-like headers', ratioOf(cell('B3d', 'browser'), cell('B3', 'browser')), 1.5);
  atMost('B3v / B3 service CPU per request (100,000 revoked tokens vs none), default headers', ratioOf(cell('B3v', 'default'), cell('B3', 'default')), 1.05);
  atMost(
    "B3o / B3k service CPU per request (a provider's fetched key vs a local key file), default headers",
    ratioOf(cell('B3o', 'default'), cell('B3k', 'default')),
    1.05,
  );
  if (memory === undefined) targets.push('  –        4. memory: not measured in this run (BENCH_RSS=0, or BENCH_ROWS named rows): `npm run bench:rss`');
  else for (const line of memory.verdicts) targets.push(`  ${line}`);
  atMost('5. B4 service CPU per successful login, default headers', cell('B4', 'default')?.cpuByRole.service, 400, ' µs', 0);
  atMost('5. B4 service CPU per successful login, browser-like headers', cell('B4', 'browser')?.cpuByRole.service, 400, ' µs', 0);
  if (clientCost.length > 0)
    info(
      `B4's authenticator call alone, CPU per call (${CLIENT_COST_CALLS} calls, ${options.connections} at once, in the bench process): ` +
        clientCost.map(({ client, cpuUs }) => `${client} ${fmt(cpuUs, 0)} µs`).join(', '),
    );
  for (const column of COLUMNS) {
    const mark = column === 'browser' ? '*' : '';
    const l = cell('L', column);
    const b1 = cell('B1', column);
    if (l && b1)
      info(
        `B1${mark} / L${mark} req/s: ${fmt(paired2('B1', 'L', column))}; added CPU B1${mark} ${fmt(b1.addedCpuUs, 1)} µs vs L${mark} ${fmt(l.addedCpuUs, 1)} µs`,
      );
    const b1u = cell('B1u', column);
    if (b1 && b1u)
      info(
        `B1u${mark} (unix socket) / B1${mark} req/s: ${fmt(paired2('B1u', 'B1', column))}; added CPU ${fmt(b1u.addedCpuUs, 1)} µs vs ${fmt(b1.addedCpuUs, 1)} µs over TCP`,
      );
    const b2 = cell('B2', column);
    if (l && b2) info(`B2${mark} / L${mark} req/s: ${fmt(paired2('B2', 'L', column))}`);
    const f0 = cell('F0', column);
    if (f0 && b1) info(`F0${mark} (nginx answering auth_request itself) adds ${fmt(f0.addedCpuUs, 1)} µs: the floor of any auth_request`);
    const fr = cell('FR', column);
    if (fr && b1)
      info(
        `FR${mark} (auth_request to bare node:http + fast-jwt, Authorization only) adds ${fmt(fr.addedCpuUs, 1)} µs, B1${mark} ${fmt(b1.addedCpuUs, 1)} µs: ` +
          `the floor of a verifier behind one HTTP hop on node; B1${mark} / FR${mark} req/s ${fmt(paired2('B1', 'FR', column))}`,
      );
    const b3 = cell('B3', column);
    const r = cell('R', column);
    if (b3 && r)
      info(
        `B3${mark} / R${mark} req/s ${fmt(paired2('B3', 'R', column))}, by CPU per request ${fmt(r.cpuUs / b3.cpuUs)} (${fmt(b3.cpuUs, 1)} vs ${fmt(r.cpuUs, 1)} µs)`,
      );
  }
  const failed = summaries.filter((s) => COLUMNS.some((column) => (s.cells[column]?.errors ?? 0) > 0));
  if (failed.length > 0)
    targets.push(
      `  ERRORS   ${failed
        .map((s) => `${s.id}: ${COLUMNS.map((column) => s.cells[column]?.errors ?? 0).join('/')}`)
        .join(', ')} non-2xx answers or socket errors: those rows do not measure what they claim`,
    );
  return { table: `${table}\n${legend}`, cpuTable, targets, rows: summaries, failedRows: failed.length };

  function paired2(id: RowId, baseline: RowId, column: Column): number | undefined {
    const row = samples.get(keyOf(id, column));
    const base = samples.get(keyOf(baseline, column));
    if (row === undefined || base === undefined) return undefined;
    return paired(row, base, (s, b) => s.result.rps / b.result.rps);
  }
}

/** A Markdown table: the first `textColumns` columns left-aligned, the rest right-aligned. */
function renderTable(header: readonly string[], lines: ReadonlyArray<readonly string[]>, textColumns: number): string {
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    `| ${header.map((_, i) => (i < textColumns ? (cells[i] ?? '').padEnd(widths[i] as number) : (cells[i] ?? '').padStart(widths[i] as number))).join(' | ')} |`;
  return [
    render(header),
    `|${widths.map((width, i) => (i < textColumns ? `:${'-'.repeat(width + 1)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`,
    ...lines.map(render),
  ].join('\n');
}

runMain(main);
