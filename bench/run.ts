/**
 * `npm run bench`: every row measured in the same run, interleaved round by round, and
 * reported as ratios to its baseline, because on a shared 2-core machine absolute numbers drift.
 *
 *   B0   nginx → upstream, no auth                                   (the baseline)
 *   B1   nginx auth_request → service → upstream, no caching at all  (shipped snippets)
 *   B1R  B1 with R, uncached, as the auth service: the reference B1 is held to
 *   B2   B1 with decision caching: fast-jwt's verify cache + nginx proxy_cache (jwt-auth-cache.conf)
 *   B3   the service's /check alone                                  (vs R)
 *   B3d  B3 flooded with a bad-signature token: every request a deny     (vs B3, by CPU per request)
 *   B3v  B3 with 100,000 revoked tokens (and 1,000 revoked subjects) in memory, loaded from a real
 *        redis-server at start                                       (vs B3: target ≤ 1.05× CPU per request)
 *   R    bare node:http + fast-jwt doing the same verify             (bench/servers/reference.ts)
 *   B3w2 B3 with WORKERS=2                                           (vs B3: what a second core buys)
 *   B4   /login against a local stub authenticator                   (bench/servers/authenticator.ts)
 *
 * Loopback only; everything it starts it stops, also on failure or Ctrl-C. Environment:
 *   BENCH_DURATION  seconds per row per round (2)     BENCH_ROUNDS       rounds (6)
 *   BENCH_WARMUP    seconds of warm-up per row (1)    BENCH_CONNECTIONS  wrk -c (64)
 *   BENCH_THREADS   wrk -t (2)                        BENCH_ROWS         e.g. B3,R (all)
 *   BENCH_JSON      also write the results to this file
 *   WRK_BIN, NGINX_BIN  the programs (default: wrk on PATH, nginx on PATH or /usr/sbin)
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';
import { httpRequest } from '../support/http.js';
import { redisClient, startRedisServer } from '../support/redis.js';
import { startServiceProcess, type ServiceProcess } from '../support/service.js';
import { findNginx } from '../support/nginx.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { makeSecret, mintToken } from '../support/tokens.js';
import { startNginx, type NginxInstance } from '../support/nginx.js';
import { cpuSeconds, processTree, rssMb } from './lib/procfs.js';
import { startBenchServer } from './lib/servers.js';
import { findWrk, runWrk, writeWrkScript, type WrkLoad, type WrkResult } from './lib/wrk.js';
import { runMain, SettingsError } from './lib/main.js';

const IDENTITY_HEADERS = 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name';
const ROW_IDS = ['B0', 'B1', 'B1R', 'B2', 'B3', 'B3d', 'B3v', 'R', 'B3w2', 'B4'] as const;
/** B3v's revocations in memory. */
const REVOKED_TOKENS = 100_000;
const REVOKED_SUBJECTS = 1_000;
type RowId = (typeof ROW_IDS)[number];

interface Row {
  readonly id: RowId;
  readonly what: string;
  readonly url: string;
  readonly script: string;
  /** The processes whose CPU the row spends (wrk excluded), by role. */
  readonly parts: () => ReadonlyArray<readonly [Role, number[]]>;
  /** Every answer is meant to be a 4xx (a flood of denials): then a 2xx is the error. */
  readonly denies?: boolean;
}

type Role = 'nginx' | 'service' | 'reference' | 'upstream' | 'authenticator';
const ROLES: readonly Role[] = ['nginx', 'service', 'reference', 'upstream', 'authenticator'];

interface Options {
  readonly seconds: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly threads: number;
  readonly connections: number;
  readonly rows: readonly RowId[];
  readonly json: string | undefined;
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
  const options: Options = {
    // Many short rounds rather than a few long ones: the medians then shrug off a busy neighbour.
    seconds: int('BENCH_DURATION', 2, 1, 120),
    rounds: int('BENCH_ROUNDS', 6, 1, 50),
    warmup: int('BENCH_WARMUP', 1, 0, 60),
    threads: int('BENCH_THREADS', 2, 1, 64),
    connections: int('BENCH_CONNECTIONS', 64, 1, 10_000),
    rows: rows.length === 0 ? ROW_IDS : ROW_IDS.filter((id) => rows.includes(id)),
    json: env.BENCH_JSON || undefined,
  };
  if (problems.length > 0) throw new SettingsError(`bench: ${problems.join('; ')}`);
  return options;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** The first line a program prints about its version (nginx -v writes to stderr, wrk -v exits 1). */
function version(command: string, args: string[]): string {
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  return `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n')[0] ?? '?';
}

interface Measured {
  readonly results: WrkResult[];
  /** CPU µs per request of each role, one entry per round. */
  readonly cpu: Array<Partial<Record<Role, number>>>;
}

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
  const perRound = options.rows.length * options.seconds;
  console.log(
    `nginx-jwt-auth benchmark: ${options.rows.join(' ')} · wrk -t${options.threads} -c${options.connections} · ` +
      `${options.rounds} rounds × ${options.seconds}s (+${options.warmup}s warm-up) per row · about ` +
      `${Math.ceil((perRound * options.rounds + options.rows.length * options.warmup) / 60 + 0.2)} min`,
  );
  console.log(
    `machine: ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB · node ${process.version} · ${version(nginxBin, ['-v'])} · ` +
      `${version(wrk.bin, ['-v'])}`,
  );

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

  try {
    const secret = makeSecret();
    // With a jti, as the service's own tokens have: B3v then looks it up among the revoked ones.
    const token = await mintToken(secret, { sub: 'alice', name: 'Alice', roles: ['admin', 'user'], jti: 'bench-token' }, { expiresIn: 86_400 });
    const authorization = `Bearer ${token}`;
    const base = { JWT_SECRET: secret, IDENTITY_HEADERS };
    const wanted = new Set<RowId>(options.rows);
    const needs = (...ids: RowId[]): boolean => ids.some((id) => wanted.has(id));

    const upstream = needs('B0', 'B1', 'B2') ? track(await startBenchServer('upstream', { dir, probePath: '/', probeStatus: 200 })) : undefined;
    const stub = needs('B4') ? track(await startBenchServer('authenticator', { dir, probePath: '/', probeStatus: 404 })) : undefined;
    // R mirrors the service's fast-jwt options: HS256, exp required, 30 s tolerance, cache of 1000.
    const reference = needs('R')
      ? track(await startBenchServer('reference', { dir, env: { JWT_SECRET: secret, JWT_VERIFY_CACHE_SIZE: '1000' }, probePath: '/check', probeStatus: 403 }))
      : undefined;
    const referenceUncached = needs('B1R')
      ? track(await startBenchServer('reference', { dir, env: { JWT_SECRET: secret, JWT_VERIFY_CACHE_SIZE: '0' }, probePath: '/check', probeStatus: 403 }))
      : undefined;

    const services: Array<{ label: string; instance: ServiceProcess; pids: () => number[]; rssBefore: number }> = [];
    const service = async (label: string, env: Record<string, string>, settle?: (pid: number) => Promise<void>): Promise<ServiceProcess> => {
      const instance = track(await startServiceProcess({ ...base, ...env }, { dir }));
      await settle?.(instance.process.pid);
      const pids = (): number[] => processTree(instance.process.pid);
      services.push({ label, instance, pids, rssBefore: rssMb(pids()) });
      return instance;
    };
    /** B3v: Redis filled with revocations first, so the service loads them all before it listens. */
    const serviceWithRevocations = async (): Promise<ServiceProcess> => {
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
      const instance = await service(`B3v service (${REVOKED_TOKENS} revoked tokens)`, { REDIS_URL: redis.url });
      const ready = JSON.parse((await httpRequest(`${instance.url}/readyz`)).body.toString()) as { revocations: { entries: { jti: number; sub: number } } };
      const { jti, sub } = ready.revocations.entries;
      if (jti !== REVOKED_TOKENS || sub !== REVOKED_SUBJECTS)
        throw new Error(`B3v: the service holds ${jti} revoked tokens and ${sub} subjects, not ${REVOKED_TOKENS} and ${REVOKED_SUBJECTS}`);
      return instance;
    };
    // B1: no caching anywhere. B2: both layers. B3/B4: the defaults (verify cache on, CHECK_CACHE_MAX_AGE=0).
    const uncached = needs('B1') ? await service('B1 service (JWT_VERIFY_CACHE_SIZE=0)', { JWT_VERIFY_CACHE_SIZE: '0', CHECK_CACHE_MAX_AGE: '0' }) : undefined;
    const cached = needs('B2') ? await service('B2 service (CHECK_CACHE_MAX_AGE=60s)', { CHECK_CACHE_MAX_AGE: '60s' }) : undefined;
    // B4 measures /login itself: the failed-login limiter counts every attempt in flight (64 here) as a
    // possible failure, so with it on most of the load would be 429s.
    const alone = needs('B3', 'B3d', 'B4')
      ? await service(
          'B3/B4 service (defaults)',
          stub ? { AUTHENTICATOR_URL: `${stub.url}/login`, LOGIN_MAX_FAILURES_PER_IP: '0', LOGIN_MAX_FAILURES_PER_USER: '0' } : {},
        )
      : undefined;
    const revoked = needs('B3v') ? await serviceWithRevocations() : undefined;
    const twoWorkers = needs('B3w2')
      ? await service('B3w2 service (WORKERS=2)', { WORKERS: '2' }, async (pid) => {
          // /readyz answered once the first worker listened; wait for the second one too.
          const deadline = Date.now() + 15_000;
          while (processTree(pid).length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
          await new Promise((resolve) => setTimeout(resolve, 500));
        })
      : undefined;

    const b0Server = (ports: readonly number[]): string => `
# B0: the same upstream, no auth (a protected location minus auth_request).
server {
    listen ${ports[0]};
    location / {
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_pass http://app;
    }
}`;
    let nginxPlain: NginxInstance | undefined;
    let nginxCached: NginxInstance | undefined;
    if (upstream && needs('B0', 'B1')) {
      nginxPlain = track(
        await startNginx({
          dir,
          jwtAuthAddr: (uncached ?? alone ?? cached)?.addr ?? '127.0.0.1:9',
          appAddr: upstream.addr,
          workers: 1,
          accessLog: false,
          extraServers: b0Server,
          extraPorts: 1,
        }),
      );
    }
    let nginxReference: NginxInstance | undefined;
    if (upstream && referenceUncached) {
      nginxReference = track(await startNginx({ dir, jwtAuthAddr: referenceUncached.addr, appAddr: upstream.addr, workers: 1, accessLog: false }));
    }
    if (upstream && cached) {
      nginxCached = track(await startNginx({ dir, jwtAuthAddr: cached.addr, appAddr: upstream.addr, workers: 1, accessLog: false, cache: true }));
    }

    const auth = { Authorization: authorization };
    const rows: Row[] = [];
    const tree =
      (...parts: Array<readonly [Role, { process: { pid: number } }]>) =>
      () =>
        parts.map(([role, part]) => [role, processTree(part.process.pid)] as const);
    if (wanted.has('B0') && nginxPlain && upstream) {
      rows.push({
        id: 'B0',
        what: 'nginx → upstream, no auth',
        url: `http://127.0.0.1:${nginxPlain.extraPorts[0]}/`,
        script: writeWrkScript(dir, 'b0', { headers: auth }),
        parts: tree(['nginx', nginxPlain], ['upstream', upstream]),
      });
    }
    if (wanted.has('B1') && nginxPlain && upstream && uncached) {
      rows.push({
        id: 'B1',
        what: 'nginx auth_request → service → upstream',
        url: `${nginxPlain.url}/`,
        script: writeWrkScript(dir, 'b1', { headers: auth }),
        parts: tree(['nginx', nginxPlain], ['service', uncached], ['upstream', upstream]),
      });
    }
    if (wanted.has('B1R') && nginxReference && upstream && referenceUncached) {
      rows.push({
        id: 'B1R',
        what: 'B1 with R (uncached) as auth service',
        url: `${nginxReference.url}/`,
        script: writeWrkScript(dir, 'b1r', { headers: auth }),
        parts: tree(['nginx', nginxReference], ['reference', referenceUncached], ['upstream', upstream]),
      });
    }
    if (wanted.has('B2') && nginxCached && upstream && cached) {
      rows.push({
        id: 'B2',
        what: 'B1 + verify cache + nginx cache',
        url: `${nginxCached.url}/`,
        script: writeWrkScript(dir, 'b2', { headers: auth }),
        parts: tree(['nginx', nginxCached], ['service', cached], ['upstream', upstream]),
      });
    }
    if (wanted.has('B3') && alone)
      rows.push({
        id: 'B3',
        what: 'service /check alone',
        url: `${alone.url}/check`,
        script: writeWrkScript(dir, 'b3', { headers: auth }),
        parts: tree(['service', alone]),
      });
    if (wanted.has('B3d') && alone) {
      // The same token with its signature's last characters replaced: well-formed, a deny at fast-jwt.
      const forged = `${token.slice(0, -6)}${token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
      rows.push({
        id: 'B3d',
        what: 'B3, every token forged (deny flood)',
        url: `${alone.url}/check`,
        script: writeWrkScript(dir, 'b3d', { headers: { Authorization: `Bearer ${forged}` } }),
        parts: tree(['service', alone]),
        denies: true,
      });
    }
    if (wanted.has('B3v') && revoked)
      rows.push({
        id: 'B3v',
        what: `B3 with ${REVOKED_TOKENS / 1000}k revoked tokens in memory`,
        url: `${revoked.url}/check`,
        script: writeWrkScript(dir, 'b3v', { headers: auth }),
        parts: tree(['service', revoked]),
      });
    if (wanted.has('R') && reference)
      rows.push({
        id: 'R',
        what: 'bare node:http + fast-jwt',
        url: `${reference.url}/check`,
        script: writeWrkScript(dir, 'r', { headers: auth }),
        parts: tree(['reference', reference]),
      });
    if (wanted.has('B3w2') && twoWorkers)
      rows.push({
        id: 'B3w2',
        what: 'B3 with WORKERS=2',
        url: `${twoWorkers.url}/check`,
        script: writeWrkScript(dir, 'b3w2', { headers: auth }),
        parts: tree(['service', twoWorkers]),
      });
    if (wanted.has('B4') && alone && stub) {
      const body = JSON.stringify({ username: 'alice', password: 'wonderland' });
      rows.push({
        id: 'B4',
        what: '/login → stub authenticator, sign',
        url: `${alone.url}/login`,
        script: writeWrkScript(dir, 'b4', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }),
        parts: tree(['service', alone], ['authenticator', stub]),
      });
    }

    const load: WrkLoad = { threads: options.threads, connections: options.connections, seconds: options.seconds };
    if (options.warmup > 0) {
      process.stdout.write('warm-up:');
      for (const row of rows) {
        await runWrk(wrk.bin, row.script, row.url, { ...load, seconds: options.warmup });
        process.stdout.write(` ${row.id}`);
      }
      process.stdout.write('\n');
    }
    const measured = new Map<RowId, Measured>(rows.map((row) => [row.id, { results: [], cpu: [] }]));
    for (let round = 1; round <= options.rounds; round++) {
      process.stdout.write(`round ${round}/${options.rounds}:`);
      // Rows rotate from round to round, so no row always runs right after the same other one.
      const order = rows.map((_, i) => rows[(i + round - 1) % rows.length] as Row);
      for (const row of order) {
        const parts = row.parts();
        const before = parts.map(([, pids]) => cpuSeconds(pids));
        const result = await runWrk(wrk.bin, row.script, row.url, load);
        const cpu: Partial<Record<Role, number>> = {};
        parts.forEach(([role, pids], i) => {
          cpu[role] = result.requests > 0 ? ((cpuSeconds(pids) - (before[i] as number)) * 1e6) / result.requests : Number.NaN;
        });
        const entry = measured.get(row.id) as Measured;
        // wrk counts 4xx/5xx as status errors: in a deny row those are the point, and a 2xx is wrong.
        entry.results.push(row.denies ? { ...result, badStatus: result.requests - result.badStatus } : result);
        entry.cpu.push(cpu);
        process.stdout.write(` ${row.id} ${Math.round(result.rps)}/s`);
      }
      process.stdout.write('\n');
    }

    const report = summarise(rows, measured, options);
    console.log(`\n${report.table}`);
    console.log(`\nCPU µs per request, by process (median of rounds; wrk's own CPU not counted):\n${report.cpuTable}`);
    console.log('\nservice RSS (MB), before load → after:');
    const rss = services.map(({ label, pids, rssBefore }) => ({ label, before: rssBefore, after: rssMb(pids()) }));
    for (const { label, before, after } of rss) console.log(`  ${label.padEnd(40)} ${before.toFixed(1).padStart(6)} → ${after.toFixed(1).padStart(6)}`);
    console.log(`\n${report.targets.join('\n')}`);
    console.log('\nratios are medians of per-round ratios (rows interleaved, paired by round); p50/p99 ratios below 1 mean lower latency than the baseline.');
    if (options.json) {
      const results = { date: new Date().toISOString(), options, node: process.version, cpus: availableParallelism(), rows: report.rows, rss };
      writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
      console.log(`results written to ${options.json}`);
    }
    return report.failedRows > 0 ? 1 : 0;
  } finally {
    await stopAll();
    removeTempDir(dir);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

interface RowSummary {
  readonly id: RowId;
  readonly what: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuUs: number;
  readonly cpuByRole: Partial<Record<Role, number>>;
  readonly ratios: Readonly<Record<string, { rps: number; p50: number; p99: number }>>;
  readonly errors: number;
}

/** Median of the per-round ratios of `row` to `baseline` (rounds are paired: same round, close in time). */
function pairedRatio(row: Measured, baseline: Measured, pick: (result: WrkResult) => number): number {
  const ratios = row.results.map((result, i) => {
    const base = baseline.results[i];
    return base === undefined ? Number.NaN : pick(result) / pick(base);
  });
  return median(ratios);
}

function summarise(rows: readonly Row[], measured: ReadonlyMap<RowId, Measured>, options: Options) {
  const baselines: Partial<Record<RowId, readonly string[]>> = { B1: ['B1R'], B3: ['R'], B3d: ['B3'], B3v: ['B3'], B3w2: ['B3', 'R'] };
  const summaries: RowSummary[] = rows.map((row) => {
    const data = measured.get(row.id) as Measured;
    const ratios: Record<string, { rps: number; p50: number; p99: number }> = {};
    for (const baseline of ['B0', ...(baselines[row.id] ?? [])]) {
      const base = measured.get(baseline as RowId);
      if (base === undefined) continue;
      ratios[baseline] = {
        rps: pairedRatio(data, base, (result) => result.rps),
        p50: pairedRatio(data, base, (result) => result.p50),
        p99: pairedRatio(data, base, (result) => result.p99),
      };
    }
    return {
      id: row.id,
      what: row.what,
      rps: median(data.results.map((result) => result.rps)),
      p50: median(data.results.map((result) => result.p50)),
      p99: median(data.results.map((result) => result.p99)),
      cpuUs: median(data.cpu.map((round) => Object.values(round).reduce((sum, value) => sum + value, 0))),
      cpuByRole: Object.fromEntries(
        ROLES.filter((role) => data.cpu[0]?.[role] !== undefined).map((role) => [role, median(data.cpu.map((round) => round[role] ?? Number.NaN))]),
      ),
      ratios,
      errors: data.results.reduce((sum, result) => sum + result.badStatus + result.socketErrors, 0),
    };
  });

  const fmt = (value: number | undefined, digits = 2): string => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits));
  const header = ['row', 'path', 'req/s', '×B0', 'p50 ms', '×B0', 'p99 ms', '×B0', 'vs', 'req/s ×', 'p50 ×', 'p99 ×', 'errors'];
  const lines = summaries.flatMap((s) => {
    const other = Object.entries(s.ratios).filter(([base]) => base !== 'B0');
    const first = other[0];
    const main = [
      s.id,
      s.what,
      fmt(s.rps, 0),
      fmt(s.ratios.B0?.rps),
      fmt(s.p50),
      fmt(s.ratios.B0?.p50),
      fmt(s.p99),
      fmt(s.ratios.B0?.p99),
      first?.[0] ?? '',
      fmt(first?.[1].rps),
      fmt(first?.[1].p50),
      fmt(first?.[1].p99),
      String(s.errors),
    ];
    const more = other.slice(1).map(([base, ratio]) => ['', '', '', '', '', '', '', '', base, fmt(ratio.rps), fmt(ratio.p50), fmt(ratio.p99), '']);
    return [main, ...more];
  });
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    `| ${cells.map((cell, i) => (i <= 1 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join(' | ')} |`;
  const table = [
    render(header),
    `|${widths.map((width, i) => (i <= 1 ? `:${'-'.repeat(width + 1)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`,
    ...lines.map(render),
  ].join('\n');

  const roles = ROLES.filter((role) => summaries.some((s) => s.cpuByRole[role] !== undefined));
  const cpuHeader = ['row', ...roles, 'total'];
  const cpuLines = summaries.map((s) => [s.id, ...roles.map((role) => fmt(s.cpuByRole[role], 1)), fmt(s.cpuUs, 1)]);
  const cpuWidths = cpuHeader.map((title, i) => Math.max(title.length, ...cpuLines.map((line) => (line[i] ?? '').length)));
  const cpuRender = (cells: readonly string[]): string =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(cpuWidths[i] as number) : cell.padStart(cpuWidths[i] as number))).join(' | ')} |`;
  const cpuTable = [
    cpuRender(cpuHeader),
    `|${cpuWidths.map((width, i) => (i === 0 ? `:${'-'.repeat(width + 1)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`,
    ...cpuLines.map(cpuRender),
  ].join('\n');

  const byId = new Map(summaries.map((s) => [s.id, s]));
  const targets: string[] = [`targets (wrk -t${options.threads} -c${options.connections}, ${options.rounds} × ${options.seconds}s):`];
  const target = (label: string, value: number | undefined, goal: number): void => {
    if (value === undefined || !Number.isFinite(value)) return;
    targets.push(`  ${value >= goal ? 'met    ' : 'NOT met'}  ${label}: ${value.toFixed(2)} (target ≥ ${goal})`);
  };
  target('B3 / R ', byId.get('B3')?.ratios.R?.rps, 0.9);
  const b3 = byId.get('B3');
  const r = byId.get('R');
  if (b3 && r && Number.isFinite(b3.cpuUs / r.cpuUs))
    targets.push(`  info     B3 / R by CPU time per request: ${(r.cpuUs / b3.cpuUs).toFixed(2)} (${r.cpuUs.toFixed(1)} / ${b3.cpuUs.toFixed(1)} µs)`);
  const b3d = byId.get('B3d');
  if (b3 && b3d && Number.isFinite(b3d.cpuUs / b3.cpuUs)) {
    targets.push(
      `  info     B3d / B3 by service CPU time per request (deny flood vs allow): ${(b3d.cpuUs / b3.cpuUs).toFixed(2)} (${b3d.cpuUs.toFixed(1)} / ` +
        `${b3.cpuUs.toFixed(1)} µs)`,
    );
  }
  const b3v = byId.get('B3v');
  if (b3 && b3v && Number.isFinite(b3v.cpuUs / b3.cpuUs)) {
    const ratio = b3v.cpuUs / b3.cpuUs;
    targets.push(
      `  ${ratio <= 1.05 ? 'met    ' : 'NOT met'}  B3v / B3 by service CPU time per request (${REVOKED_TOKENS} revoked tokens vs none): ${ratio.toFixed(2)} ` +
        `(${b3v.cpuUs.toFixed(1)} / ${b3.cpuUs.toFixed(1)} µs, target ≤ 1.05); by req/s ${b3v.ratios.B3?.rps.toFixed(2) ?? '–'}`,
    );
  }
  target('B1 / B0', byId.get('B1')?.ratios.B0?.rps, 0.5);
  const b1r = byId.get('B1R')?.ratios.B0?.rps;
  if (b1r !== undefined && Number.isFinite(b1r)) targets.push(`  info     B1R / B0: ${b1r.toFixed(2)} (the same path with the bare reference as auth service)`);
  target('B2 / B0', byId.get('B2')?.ratios.B0?.rps, 0.9);
  const scaling = byId.get('B3w2')?.ratios.B3?.rps;
  if (scaling !== undefined && Number.isFinite(scaling))
    targets.push(`  info     WORKERS=2 / WORKERS=1 on /check: ${scaling.toFixed(2)}× (wrk shares the same ${availableParallelism()} CPUs)`);
  const failedRows = summaries.filter((s) => s.errors > 0).length;
  if (failedRows > 0)
    targets.push(
      `  ERRORS   ${summaries
        .filter((s) => s.errors > 0)
        .map((s) => `${s.id}: ${s.errors}`)
        .join(', ')} non-2xx answers or socket errors: those rows do not measure what they claim`,
    );
  return { table, cpuTable, targets, rows: summaries, failedRows };
}

runMain(main);
