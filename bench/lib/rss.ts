/**
 * Target 4's measurement: the service's resident memory across a million /check requests over
 * keep-alive, sampled after every round, to show it stays under a bound and flat. `npm run bench:rss`
 * runs it alone (bench/rss.ts), `npm run bench` after its rounds, so one run prints every target.
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
 */
import { npmStartNodeArgs, startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { makeSecret, mintToken } from '../../support/tokens.js';
import { SettingsError } from './main.js';
import { privateMb, processTree, rssMb } from './procfs.js';
import { runWrk, writeWrkScript } from './wrk.js';

const IDENTITY_HEADERS = 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name';
/** Service variables taken from our environment when set. */
const PASSED = ['JWT_VERIFY_CACHE_SIZE', 'WORKERS', 'NODE_OPTIONS', 'CHECK_CACHE_MAX_AGE', 'LOG_LEVEL'];

export interface RssSettings {
  readonly total: number;
  readonly roundSeconds: number;
  readonly tokens: number;
  readonly limitMb: number;
  readonly flatMb: number;
  readonly maxSeconds: number;
  readonly threads: number;
  readonly connections: number;
  /** Node flags instead of npm start's (BENCH_RSS_NODE_ARGS), to try others. */
  readonly nodeArgs: readonly string[] | undefined;
  /** The service's variables passed through from the environment. */
  readonly serviceEnv: Readonly<Record<string, string>>;
}

/** The BENCH_RSS_* settings (and BENCH_THREADS / BENCH_CONNECTIONS) from `env`. @throws SettingsError */
export function readRssSettings(env: NodeJS.ProcessEnv): RssSettings {
  const int = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) throw new SettingsError(`bench:rss: ${name}: expected a positive whole number, got "${raw}"`);
    return value;
  };
  const serviceEnv: Record<string, string> = {};
  for (const name of PASSED) {
    const value = env[name];
    if (value !== undefined && value !== '') serviceEnv[name] = value;
  }
  const override = env.BENCH_RSS_NODE_ARGS;
  return {
    total: int('BENCH_RSS_REQUESTS', 1_000_000),
    roundSeconds: int('BENCH_RSS_ROUND', 10),
    tokens: int('BENCH_RSS_TOKENS', 2000),
    limitMb: int('BENCH_RSS_LIMIT_MB', 100),
    flatMb: int('BENCH_RSS_FLAT_MB', 5),
    maxSeconds: int('BENCH_RSS_MAX_SECONDS', 240),
    threads: int('BENCH_THREADS', 2),
    connections: int('BENCH_CONNECTIONS', 64),
    nodeArgs: override === undefined ? undefined : override.split(/\s+/).filter((arg) => arg !== ''),
    serviceEnv,
  };
}

export interface RssOutcome {
  readonly requests: number;
  readonly endMb: number;
  readonly peakMb: number;
  /** The second half's peak over the first half's. */
  readonly growthMb: number;
  /** Target 4's verdict lines, in the bench's "met / NOT met" format. */
  readonly verdicts: readonly string[];
  readonly met: boolean;
}

interface RssRun {
  readonly wrkBin: string;
  /** A folder for the service's files and wrk's script; the caller removes it. */
  readonly dir: string;
  /** Gets the service once started, for the caller's Ctrl-C handling; it is stopped here in any case. */
  readonly track?: (service: ServiceProcess) => void;
  /** Where the progress table goes, a line at a time. */
  readonly log: (line: string) => void;
}

export async function measureRss(settings: RssSettings, { wrkBin, dir, track, log }: RssRun): Promise<RssOutcome> {
  const { total, roundSeconds, tokens, limitMb, flatMb, maxSeconds } = settings;
  const load = { threads: settings.threads, connections: settings.connections, seconds: roundSeconds };
  const secret = makeSecret();
  const env: Record<string, string> = { JWT_SECRET: secret, IDENTITY_HEADERS, ...settings.serviceEnv };
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
  const nodeArgs = settings.nodeArgs ?? npmStartNodeArgs();
  const service = await startServiceProcess(env, { dir, nodeArgs });
  track?.(service);
  try {
    const pid = service.process.pid;
    if (Number(env.WORKERS ?? '1') > 1) await new Promise((resolve) => setTimeout(resolve, 1500));
    const script = writeWrkScript(dir, 'rss', { authorizations });
    const rss = (): number => rssMb(processTree(pid));
    const own = (): number => privateMb(processTree(pid));

    log(
      `RSS of the service over ${total.toLocaleString('en')} /check requests: ${tokens} tokens (1 in 10 expired), wrk -t${load.threads} ` +
        `-c${load.connections}, ${roundSeconds}s rounds, node ${nodeArgs.join(' ') || '(no flags)'} (${settings.nodeArgs === undefined ? "npm start's" : 'BENCH_RSS_NODE_ARGS'}), env ${JSON.stringify({ ...env, JWT_SECRET: undefined })}`,
    );
    const samples: Array<{ requests: number; rss: number; own: number }> = [{ requests: 0, rss: rss(), own: own() }];
    log(`  ${'requests'.padStart(10)}  ${'RSS MB'.padStart(7)}  ${'private'.padStart(7)}  ${'req/s'.padStart(7)}  answers`);
    log(`  ${'0'.padStart(10)}  ${samples[0]?.rss.toFixed(1).padStart(7)}  ${samples[0]?.own.toFixed(1).padStart(7)}`);
    const started = Date.now();
    let sent = 0;
    let unexpected = 0;
    while (sent < total && (Date.now() - started) / 1000 + roundSeconds <= maxSeconds) {
      const result = await runWrk(wrkBin, script, `${service.url}/check`, load);
      sent += result.requests;
      // One in ten answers is a 403 by design; anything far from that, or socket errors, is not.
      unexpected += result.socketErrors;
      const now = rss();
      const mine = own();
      samples.push({ requests: sent, rss: now, own: mine });
      log(
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
    log(
      `\nafter ${last.requests.toLocaleString('en')} requests: RSS ${last.rss.toFixed(1)} MB, of which ${last.own.toFixed(1)} MB private (peak RSS ` +
        `${peak.toFixed(1)} MB; over the second half of the run RSS varies by ${spread.toFixed(1)} MB)`,
    );
    const under = last.rss <= limitMb && peakOf(later) <= limitMb;
    const enoughRounds = earlier.length >= 2 && later.length >= 2;
    const flat = enoughRounds && growth <= flatMb;
    const verdicts = [
      `${under ? 'met    ' : 'NOT met'}  4. RSS ≤ ${limitMb} MB after ${last.requests.toLocaleString('en')} /check requests and over the second half: ` +
        `${last.rss.toFixed(1)} MB at the end, ${peakOf(later).toFixed(1)} MB at most`,
      `${flat ? 'met    ' : 'NOT met'}  4. flat: the second half's peak RSS is ${growth >= 0 ? growth.toFixed(1) : `${(-growth).toFixed(1)} MB below`}` +
        `${growth >= 0 ? ' MB above' : ''} the first half's (target: at most ${flatMb} MB above)` +
        (enoughRounds ? '' : `; ${samples.length - 1} rounds are too few to tell (4 at least)`),
    ];
    if (last.requests < total)
      verdicts.push(
        `NOT met  4. only ${last.requests.toLocaleString('en')} of ${total.toLocaleString('en')} requests within BENCH_RSS_MAX_SECONDS=${maxSeconds}`,
      );
    if (unexpected > 0) verdicts.push(`ERRORS   4. ${unexpected} socket errors`);
    const met = last.requests >= total && under && flat && unexpected === 0;
    return { requests: last.requests, endMb: last.rss, peakMb: peak, growthMb: growth, verdicts, met };
  } finally {
    await service.stop();
  }
}
