/**
 * `npm run bench:rss`: target 4 alone, the service's resident memory across a million /check
 * requests (bench/lib/rss.ts says how it is measured and judged). `npm run bench` runs the same
 * measurement after its rounds.
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
import type { ServiceProcess } from '../support/service.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { runMain } from './lib/main.js';
import { measureRss, readRssSettings } from './lib/rss.js';
import { findWrk } from './lib/wrk.js';

async function main(): Promise<number> {
  const settings = readRssSettings(process.env);
  const wrk = findWrk();
  if ('problem' in wrk) {
    console.error(`bench:rss: ${wrk.problem}.\nInstall wrk (Debian/Ubuntu: apt-get install -y wrk; macOS: brew install wrk) or set WRK_BIN.`);
    return 2;
  }
  const dir = makeTempDir('bench-rss');
  let service: ServiceProcess | undefined;
  const onSignal = (): void => {
    void (service?.stop() ?? Promise.resolve()).then(() => {
      removeTempDir(dir);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const outcome = await measureRss(settings, {
      wrkBin: wrk.bin,
      dir,
      track: (started) => (service = started),
      log: (line) => console.log(line),
    });
    for (const line of outcome.verdicts) console.log(line);
    return outcome.met ? 0 : 1;
  } finally {
    removeTempDir(dir);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

runMain(main);
