/**
 * `npm run bench:rss`: the service's resident memory across a million /check requests
 * over keep-alive, sampled after every round, to show it stays under a bound and flat.
 *
 * The traffic is what a busy nginx sends: the Authorization header rotates over a pool of distinct
 * tokens, twice the size of fast-jwt's verify cache (so the cache keeps evicting), with one request
 * in ten denied (an expired token: the deny path, its log line and its metrics label).
 *
 * The service runs as shipped: node's flags are those of `npm start` (package.json), which the
 * Dockerfile's ENTRYPOINT repeats (test/deploy holds the two equal).
 *
 * Met when RSS is at most the bound at the end and throughout the second half of the run, and flat:
 * the second half's peak is at most BENCH_RSS_FLAT_MB above the first half's (RSS saws up and down
 * with each old-space collection; a leak shows as peaks that keep rising).
 *
 * Environment:
 *   BENCH_RSS_REQUESTS  total /check requests (1000000)    BENCH_RSS_ROUND  seconds per round (10)
 *   BENCH_RSS_TOKENS    distinct tokens (2000)             BENCH_RSS_LIMIT_MB  the bound (100)
 *   BENCH_RSS_FLAT_MB   how far the second half's peak may exceed the first half's (5)
 *   BENCH_RSS_NODE_ARGS node flags instead of npm start's (to try others)
 *   BENCH_RSS_MAX_SECONDS  stop there even if short of the total (240)
 *   BENCH_CONNECTIONS / BENCH_THREADS  wrk -c / -t (64 / 2)
 *   Service settings pass through (e.g. JWT_VERIFY_CACHE_SIZE, WORKERS, NODE_OPTIONS).
 */
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { npmStartNodeArgs, startServiceProcess } from '../support/service.js';
import { makeSecret, mintToken } from '../support/tokens.js';
import { privateMb, processTree, rssMb } from './lib/procfs.js';
import { findWrk, runWrk, writeWrkScript } from './lib/wrk.js';
import { runMain, SettingsError } from './lib/main.js';

const IDENTITY_HEADERS = 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name';
/** Service variables taken from our environment when set. */
const PASSED = ['JWT_VERIFY_CACHE_SIZE', 'WORKERS', 'NODE_OPTIONS', 'CHECK_CACHE_MAX_AGE', 'LOG_LEVEL'];

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new SettingsError(`bench:rss: ${name}: expected a positive whole number, got "${raw}"`);
  return value;
}

async function main(): Promise<number> {
  const total = int('BENCH_RSS_REQUESTS', 1_000_000);
  const roundSeconds = int('BENCH_RSS_ROUND', 10);
  const tokens = int('BENCH_RSS_TOKENS', 2000);
  const limitMb = int('BENCH_RSS_LIMIT_MB', 100);
  const flatMb = int('BENCH_RSS_FLAT_MB', 5);
  const maxSeconds = int('BENCH_RSS_MAX_SECONDS', 240);
  const load = { threads: int('BENCH_THREADS', 2), connections: int('BENCH_CONNECTIONS', 64), seconds: roundSeconds };
  const wrk = findWrk();
  if ('problem' in wrk) {
    console.error(`bench:rss: ${wrk.problem}.\nInstall wrk (Debian/Ubuntu: apt-get install -y wrk; macOS: brew install wrk) or set WRK_BIN.`);
    return 2;
  }

  const dir = makeTempDir('bench-rss');
  const secret = makeSecret();
  const env: Record<string, string> = { JWT_SECRET: secret, IDENTITY_HEADERS };
  for (const name of PASSED) {
    const value = process.env[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  let service: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  const onSignal = (): void => {
    void (service?.stop() ?? Promise.resolve()).then(() => {
      removeTempDir(dir);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const authorizations: string[] = [];
    for (let i = 0; i < tokens; i++) {
      const expired = i % 10 === 9;
      const token = await mintToken(
        secret,
        { sub: `user-${i}`, name: `User ${i}`, roles: i % 3 === 0 ? ['admin', 'user'] : ['user'] },
        { expiresIn: expired ? -3600 : 3600 },
      );
      authorizations.push(`Bearer ${token}`);
    }
    // BENCH_RSS_NODE_ARGS tries other node flags than npm start's (e.g. before shipping them).
    const override = process.env.BENCH_RSS_NODE_ARGS;
    const nodeArgs = override === undefined ? npmStartNodeArgs() : override.split(/\s+/).filter((arg) => arg !== '');
    service = await startServiceProcess(env, { dir, nodeArgs });
    const pid = service.process.pid;
    if (Number(env.WORKERS ?? '1') > 1) await new Promise((resolve) => setTimeout(resolve, 1500));
    const script = writeWrkScript(dir, 'rss', { authorizations });
    const rss = (): number => rssMb(processTree(pid));

    console.log(
      `RSS of the service over ${total.toLocaleString('en')} /check requests: ${tokens} tokens (1 in 10 expired), wrk -t${load.threads} ` +
        `-c${load.connections}, ${roundSeconds}s rounds, node ${nodeArgs.join(' ') || '(no flags)'} (${override === undefined ? "npm start's" : 'BENCH_RSS_NODE_ARGS'}), env ${JSON.stringify({ ...env, JWT_SECRET: undefined })}`,
    );
    const own = (): number => privateMb(processTree(pid));
    const samples: Array<{ requests: number; rss: number; own: number }> = [{ requests: 0, rss: rss(), own: own() }];
    console.log(`  ${'requests'.padStart(10)}  ${'RSS MB'.padStart(7)}  ${'private'.padStart(7)}  ${'req/s'.padStart(7)}  answers`);
    console.log(`  ${'0'.padStart(10)}  ${samples[0]?.rss.toFixed(1).padStart(7)}  ${samples[0]?.own.toFixed(1).padStart(7)}`);
    const started = Date.now();
    let sent = 0;
    let unexpected = 0;
    while (sent < total && (Date.now() - started) / 1000 + roundSeconds <= maxSeconds) {
      const result = await runWrk(wrk.bin, script, `${service.url}/check`, load);
      sent += result.requests;
      // One in ten answers is a 403 by design; anything far from that, or socket errors, is not.
      unexpected += result.socketErrors;
      const now = rss();
      const mine = own();
      samples.push({ requests: sent, rss: now, own: mine });
      console.log(
        [
          `  ${sent.toLocaleString('en').padStart(10)}`,
          now.toFixed(1).padStart(7),
          mine.toFixed(1).padStart(7),
          Math.round(result.rps).toString().padStart(7),
          `${((result.badStatus / Math.max(1, result.requests)) * 100).toFixed(0)}% denied`,
          result.socketErrors ? `${result.socketErrors} socket errors` : '',
        ].join('  '),
      );
    }
    const last = samples[samples.length - 1] as { requests: number; rss: number; own: number };
    // RSS saws up and down with each old-space collection; a leak shows as peaks that keep rising.
    const half = Math.floor((samples.length - 1) / 2) + 1;
    const earlier = samples.slice(1, half);
    const later = samples.slice(half);
    const peakOf = (part: ReadonlyArray<{ rss: number }>): number => Math.max(...part.map((s) => s.rss));
    const growth = peakOf(later) - peakOf(earlier);
    const spread = peakOf(later) - Math.min(...later.map((s) => s.rss));
    const peak = peakOf(samples);
    console.log(
      `\nafter ${last.requests.toLocaleString('en')} requests: RSS ${last.rss.toFixed(1)} MB, of which ${last.own.toFixed(1)} MB private (peak RSS ` +
        `${peak.toFixed(1)} MB; over the second half of the run RSS varies by ${spread.toFixed(1)} MB)`,
    );
    const under = last.rss <= limitMb && peakOf(later) <= limitMb;
    const flat = earlier.length >= 2 && later.length >= 2 && growth <= flatMb;
    console.log(
      `${under ? 'met    ' : 'NOT met'}  4. RSS ≤ ${limitMb} MB after the run and over its second half: ${last.rss.toFixed(1)} MB at the end, ` +
        `${peakOf(later).toFixed(1)} MB at most`,
    );
    console.log(
      `${flat ? 'met    ' : 'NOT met'}  4. flat: the second half's peak RSS is ${growth >= 0 ? growth.toFixed(1) : `${(-growth).toFixed(1)} MB below`}` +
        `${growth >= 0 ? ' MB above' : ''} the first half's (target: at most ${flatMb} MB above)`,
    );
    const ok = last.requests >= total && under && flat && unexpected === 0;
    if (last.requests < total)
      console.log(`NOT met  only ${last.requests.toLocaleString('en')} of ${total.toLocaleString('en')} requests within BENCH_RSS_MAX_SECONDS=${maxSeconds}`);
    if (unexpected > 0) console.log(`ERRORS   ${unexpected} socket errors`);
    return ok ? 0 : 1;
  } finally {
    await service?.stop();
    removeTempDir(dir);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

runMain(main);
