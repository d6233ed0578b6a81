/**
 * nginx for the benchmark and the cache tests: the repository's nginx/ files rendered by the test
 * harness (test/integration/harness/nginx.ts), plus what only these runs need, each one named here:
 *
 * - `workers`: nginx.conf ships `worker_processes auto;`; the benchmark pins one worker.
 * - `cache`: decision caching turned on exactly as snippets/jwt-auth-cache.conf tells an operator
 *   to: njs loaded in the main context, jwt-auth-cache-http.conf and a proxy_cache_path in the http
 *   block, and `include snippets/jwt-auth-cache.conf;` as the last line of the internal auth location.
 * - `extraServers`: more server blocks (the benchmark's no-auth baseline B0).
 * - `accessLog: false`: nginx still formats and writes every access-log line, to /dev/null, so a
 *   million-request run does not fill the disk.
 */
import { mkdirSync, readFileSync, writeFileSync, chmodSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { findNginx, nginxModulesDir, renderNginxPrefix } from '../../support/nginx.js';
import { freePort, LOOPBACK } from '../../support/ports.js';
import { startProcess, tail, waitForHttp, type ManagedProcess } from '../../support/process.js';

export interface NginxOptions {
  /** host:port of the service (upstream jwt_auth). */
  readonly jwtAuthAddr: string;
  /** host:port of the protected application (upstream app). */
  readonly appAddr: string;
  /** A folder of ours; the prefix is created inside it. */
  readonly dir: string;
  /** worker_processes; default: as shipped (auto). */
  readonly workers?: number;
  /** Turn on snippets/jwt-auth-cache.conf. */
  readonly cache?: boolean;
  /** Server blocks added to conf.d, with `${PORT_n}` replaced by extra free ports. */
  readonly extraServers?: (ports: readonly number[]) => string;
  readonly extraPorts?: number;
  readonly accessLog?: boolean;
}

export interface BenchNginx {
  readonly url: string;
  readonly port: number;
  readonly extraPorts: readonly number[];
  readonly prefix: string;
  readonly process: ManagedProcess;
  errorLog(maxChars?: number): string;
  stop(): Promise<void>;
}

const CACHE_INCLUDE = 'include snippets/jwt-auth-cache.conf;';

/**
 * Adds the cache include to the internal auth location of a rendered prefix: uncommenting it when
 * the shipped snippet carries it commented out, else as the location's last line.
 */
export function enableCacheInclude(locationSnippet: string): string {
  const commented = new RegExp(`^([ \\t]*)#[ \\t]*${CACHE_INCLUDE.replace(/[.]/g, '\\.')}`, 'm');
  if (commented.test(locationSnippet)) return locationSnippet.replace(commented, `$1${CACHE_INCLUDE}`);
  if (locationSnippet.includes(CACHE_INCLUDE)) return locationSnippet;
  const start = locationSnippet.search(/location\s+=\s+\/_jwt_auth\s*\{/);
  if (start < 0) throw new Error('snippets/jwt-auth-location.conf has no `location = /_jwt_auth {`');
  // The location's closing brace: the first `}` at nesting depth 0 after its opening one.
  let depth = 0;
  for (let i = locationSnippet.indexOf('{', start); i < locationSnippet.length; i++) {
    const char = locationSnippet[i];
    if (char === '#') {
      i = locationSnippet.indexOf('\n', i);
      if (i < 0) break;
    } else if (char === '{') {
      depth++;
    } else if (char === '}' && --depth === 0) {
      return `${locationSnippet.slice(0, i)}\n    # Added by the benchmark/test setup, as snippets/jwt-auth-cache.conf says.\n    ${CACHE_INCLUDE}\n${locationSnippet.slice(i)}`;
    }
  }
  throw new Error('snippets/jwt-auth-location.conf: unbalanced braces');
}

/** Renders the prefix with the harness, applies the options, starts nginx and waits for it. */
export async function startBenchNginx(options: NginxOptions): Promise<BenchNginx> {
  const bin = findNginx();
  if (bin === undefined) throw new Error('nginx not found: install it (apt-get install -y nginx) or set NGINX_BIN');
  const port = await freePort();
  const extraPorts: number[] = [];
  for (let i = 0; i < (options.extraPorts ?? 0); i++) extraPorts.push(await freePort());
  const prefix = join(options.dir, `nginx-${port}`);
  mkdirSync(prefix, { mode: 0o755 });
  chmodSync(prefix, 0o755);
  renderNginxPrefix(prefix, { JWT_AUTH_ADDR: options.jwtAuthAddr, APP_ADDR: options.appAddr, NGINX_LISTEN: `${LOOPBACK}:${port}` });

  const confPath = join(prefix, 'nginx.conf');
  if (options.workers !== undefined) {
    const conf = readFileSync(confPath, 'utf8');
    if (!/^worker_processes\s+\S+;/m.test(conf)) throw new Error('nginx.conf has no worker_processes line to override');
    writeFileSync(confPath, conf.replace(/^worker_processes\s+\S+;/m, `worker_processes ${options.workers};`));
  }
  const extra: string[] = ['# Written by bench/lib/nginx.ts, not part of nginx/.'];
  if (options.cache) {
    // The cache key is computed by njs: load the module the way an operator would, from the
    // prefix's modules/ folder (the official image has it there; here it points at nginx's own).
    const conf = readFileSync(confPath, 'utf8');
    writeFileSync(confPath, `load_module modules/ngx_http_js_module.so;\n${conf}`);
    symlinkSync(nginxModulesDir(bin), join(prefix, 'modules'));
    const cacheDir = join(prefix, 'cache');
    extra.push('include snippets/jwt-auth-cache-http.conf;');
    extra.push(`proxy_cache_path ${cacheDir} levels=1:2 keys_zone=jwt_auth:10m max_size=100m inactive=10m use_temp_path=off;`);
    const location = join(prefix, 'snippets', 'jwt-auth-location.conf');
    writeFileSync(location, enableCacheInclude(readFileSync(location, 'utf8')));
  }
  if (options.extraServers) extra.push(options.extraServers(extraPorts));
  writeFileSync(join(prefix, 'conf.d', 'zz-bench.conf'), `${extra.join('\n')}\n`);
  chmodSync(join(prefix, 'conf.d', 'zz-bench.conf'), 0o644);

  const errorLog = join(prefix, 'logs', 'error.log');
  const accessLog = options.accessLog === false ? '/dev/null' : join(prefix, 'logs', 'access.log');
  const globals = [`daemon off;`, `pid ${join(prefix, 'nginx.pid')};`, `lock_file ${join(prefix, 'nginx.lock')};`].join(' ');
  const proc = startProcess('nginx', bin, ['-p', `${prefix}/`, '-c', confPath, '-e', errorLog, '-g', globals], {
    env: { PATH: process.env.PATH ?? '' },
    logFile: errorLog,
    stdoutFile: accessLog,
  });
  const url = `http://${LOOPBACK}:${port}`;
  await waitForHttp(proc, `${url}/nginx-healthz`);
  return {
    url,
    port,
    extraPorts,
    prefix,
    process: proc,
    errorLog: (maxChars) => tail(errorLog, maxChars),
    stop: async () => {
      await proc.stop('SIGTERM', 5000);
    },
  };
}
