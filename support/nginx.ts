/**
 * Runs the repository's nginx/ configuration on loopback: the same files docker-compose mounts
 * into the official image, laid out the way that image lays them out, under a private prefix.
 *
 *   <prefix>/nginx.conf, snippets/          copied from nginx/
 *   <prefix>/conf.d/*.conf                  nginx/templates/*.template with ${NAME} replaced
 *   <prefix>/conf.d/zz-test-harness.conf    temp paths under the prefix (the image's defaults
 *                                           are root-owned system folders)
 *   <prefix>/logs/error.log, access.log     nginx's stderr (error_log stderr) and stdout
 *   <prefix>/nginx.pid                      passed with -g, with `daemon off;`
 *   <prefix>/conf.d/zz-options.conf         only with the options below
 *
 * Options for what only some runs need, each one named here:
 *
 * - `workers`: nginx.conf ships `worker_processes auto;`; the benchmark pins one worker.
 * - `cache`: decision caching turned on exactly as snippets/jwt-auth-cache.conf tells an operator
 *   to: njs loaded in the main context, jwt-auth-cache-http.conf and a proxy_cache_path in the http
 *   block, and `include snippets/jwt-auth-cache.conf;` as the last line of the internal auth location.
 * - `extraServers`: more server blocks (the benchmark's no-auth baseline B0, tests' own sites).
 * - `moreJwtAuthAddrs`: more `server` lines in `upstream jwt_auth`, for several service instances.
 * - `accessLog: false`: nginx still formats and writes every access-log line, to /dev/null, so a
 *   million-request run does not fill the disk.
 * - `modules`: more dynamic modules to load (file names in nginx's modules folder), such as the
 *   benchmark's Lua recipe (ndk_http_module.so, ngx_http_lua_module.so).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, cpSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { NGINX_CONFIG_DIR } from './paths.js';
import { LOOPBACK, freePort } from './ports.js';
import { startProcess, tail, waitForHttp, type ManagedProcess } from './process.js';

/** The placeholders of nginx/templates/*.template. */
export interface NginxTemplateVars {
  /** host:port of the nginx-jwt-auth service (upstream jwt_auth). */
  JWT_AUTH_ADDR: string;
  /** host:port of the protected application (upstream app). */
  APP_ADDR: string;
  /** What nginx listens on: a port, or address:port (the harness always says 127.0.0.1:port). */
  NGINX_LISTEN: string;
}

export interface NginxOptions {
  /** host:port of the service (upstream jwt_auth). */
  readonly jwtAuthAddr: string;
  /** More instances of the service in the same upstream (nginx balances round-robin between all). */
  readonly moreJwtAuthAddrs?: readonly string[];
  /** host:port of the protected application (upstream app). */
  readonly appAddr: string;
  /** A folder of ours; the prefix `nginx-<port>` is created inside it. */
  readonly dir: string;
  /** The port to listen on; default a free one. */
  readonly port?: number;
  /** worker_processes; default: as shipped (auto). */
  readonly workers?: number;
  /** Turn on snippets/jwt-auth-cache.conf. */
  readonly cache?: boolean;
  /** Server blocks added to conf.d, given `extraPorts` more free ports. */
  readonly extraServers?: (ports: readonly number[]) => string;
  readonly extraPorts?: number;
  readonly accessLog?: boolean;
  /** Dynamic modules to load, by file name in nginx's modules folder. */
  readonly modules?: readonly string[];
  /**
   * A configuration of one's own instead of the repository's nginx.conf and templates (one built
   * from nginx/README.md's recipe, say): `mainConf` becomes nginx.conf (it must include
   * conf.d/*.conf, where the harness's temp paths go) and `template` conf.d/site.conf, both with the
   * same ${NAME} placeholders. The snippets are the repository's.
   */
  readonly own?: { readonly mainConf: string; readonly template: string };
  /** What answers 200 once nginx is up; default /nginx-healthz (the example server's). */
  readonly readyPath?: string;
}

export interface NginxInstance {
  readonly url: string;
  readonly port: number;
  /** The free ports handed to `extraServers`. */
  readonly extraPorts: readonly number[];
  readonly prefix: string;
  readonly process: ManagedProcess;
  errorLog(maxChars?: number): string;
  accessLog(maxChars?: number): string;
  /** Stops the master by its PID (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** True for an executable regular file. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The nginx binary: NGINX_BIN when set (and executable), else the first `nginx` on PATH or in
 * the sbin folders that a non-root PATH often lacks.
 */
export function findNginx(): string | undefined {
  const fromEnv = process.env.NGINX_BIN;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];
  return dirs
    .filter(Boolean)
    .map((dir) => join(dir, 'nginx'))
    .find(isExecutable);
}

/** Where this nginx build keeps its dynamic modules (`nginx -V`'s --modules-path, else Debian's). */
export function nginxModulesDir(bin: string): string {
  const built = spawnSync(bin, ['-V'], { encoding: 'utf8' }).stderr ?? '';
  return /--modules-path=(\S+)/.exec(built)?.[1] ?? '/usr/lib/nginx/modules';
}

/**
 * Replaces every ${NAME} like the official image's envsubst step does; unlike envsubst, a
 * placeholder without a value is an error rather than text nginx would later trip over.
 */
export function renderTemplate(text: string, vars: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const rendered = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const value = vars[name];
    if (value === undefined) missing.add(name);
    return value ?? '';
  });
  if (missing.size > 0) throw new Error(`no value for template placeholder(s): ${[...missing].join(', ')}`);
  return rendered;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Makes every folder 0755 and file 0644: nginx's workers run as nobody when we are root. */
function openUpPermissions(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
}

/** Writes a runnable nginx prefix for `vars` into `prefix` (an existing, empty folder). */
export function renderNginxPrefix(prefix: string, vars: NginxTemplateVars, own?: NginxOptions['own']): void {
  cpSync(join(NGINX_CONFIG_DIR, 'snippets'), join(prefix, 'snippets'), { recursive: true });
  const confD = join(prefix, 'conf.d');
  mkdirSync(confD, { recursive: true });
  if (own !== undefined) {
    writeFileSync(join(prefix, 'nginx.conf'), renderTemplate(own.mainConf, { ...vars }));
    writeFileSync(join(confD, 'site.conf'), renderTemplate(own.template, { ...vars }));
  } else {
    cpSync(join(NGINX_CONFIG_DIR, 'nginx.conf'), join(prefix, 'nginx.conf'));
    const templates = join(NGINX_CONFIG_DIR, 'templates');
    for (const file of listFiles(templates).filter((path) => path.endsWith('.template'))) {
      const target = join(confD, relative(templates, file).replace(/\.template$/, ''));
      writeFileSync(target, renderTemplate(readFileSync(file, 'utf8'), { ...vars }));
    }
  }
  // nginx creates only the last level of a temp path, so tmp/ must exist.
  mkdirSync(join(prefix, 'tmp'));
  mkdirSync(join(prefix, 'logs'));
  const tempPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${join(prefix, 'tmp', kind)};`).join('\n');
  writeFileSync(join(confD, 'zz-test-harness.conf'), `# Written by the test harness, not part of nginx/.\n${tempPaths}\n`);
  openUpPermissions(prefix);
}

/** Adds `server` lines after the first one of `upstream jwt_auth` in the rendered conf.d. */
function addUpstreamServers(prefix: string, first: string, more: readonly string[]): void {
  const confD = join(prefix, 'conf.d');
  const line = new RegExp(`(upstream jwt_auth \\{\\s*\\n([ \\t]*)server ${first.replace(/[.]/g, '\\.')};)`);
  for (const file of readdirSync(confD).map((name) => join(confD, name))) {
    const text = readFileSync(file, 'utf8');
    if (!line.test(text)) continue;
    writeFileSync(
      file,
      text.replace(line, (_all, block: string, indent: string) => `${block}${more.map((addr) => `\n${indent}server ${addr};`).join('')}`),
    );
    return;
  }
  throw new Error(`no "upstream jwt_auth { server ${first}; ...}" in ${confD}`);
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
      return (
        `${locationSnippet.slice(0, i)}\n    # Added by the test kit, as snippets/jwt-auth-cache.conf says.\n    ` +
        `${CACHE_INCLUDE}\n${locationSnippet.slice(i)}`
      );
    }
  }
  throw new Error('snippets/jwt-auth-location.conf: unbalanced braces');
}

/**
 * Renders the configuration into `<dir>/nginx-<port>`, applies the options and starts nginx in the
 * foreground; resolves once /nginx-healthz answers 200. The rejection message carries nginx's error log.
 */
export async function startNginx(options: NginxOptions): Promise<NginxInstance> {
  const bin = findNginx();
  if (bin === undefined) throw new Error('nginx not found: install it (apt-get install -y nginx) or set NGINX_BIN');
  const port = options.port ?? (await freePort());
  const extraPorts: number[] = [];
  for (let i = 0; i < (options.extraPorts ?? 0); i++) extraPorts.push(await freePort());
  const prefix = join(options.dir, `nginx-${port}`);
  mkdirSync(prefix, { mode: 0o755 });
  chmodSync(prefix, 0o755);
  // Loopback only: the demo, the tests and the benchmark never listen on other addresses.
  renderNginxPrefix(prefix, { JWT_AUTH_ADDR: options.jwtAuthAddr, APP_ADDR: options.appAddr, NGINX_LISTEN: `${LOOPBACK}:${port}` }, options.own);

  if (options.moreJwtAuthAddrs !== undefined && options.moreJwtAuthAddrs.length > 0) addUpstreamServers(prefix, options.jwtAuthAddr, options.moreJwtAuthAddrs);

  const confPath = join(prefix, 'nginx.conf');
  if (options.workers !== undefined) {
    const conf = readFileSync(confPath, 'utf8');
    if (!/^worker_processes\s+\S+;/m.test(conf)) throw new Error('nginx.conf has no worker_processes line to override');
    writeFileSync(confPath, conf.replace(/^worker_processes\s+\S+;/m, `worker_processes ${options.workers};`));
  }
  const extra: string[] = [];
  // The cache key is computed by njs: load the module the way an operator would, from the
  // prefix's modules/ folder (the official image has it there; here it points at nginx's own).
  const modules = [...(options.cache ? ['ngx_http_js_module.so'] : []), ...(options.modules ?? [])];
  if (modules.length > 0) {
    const conf = readFileSync(confPath, 'utf8');
    writeFileSync(confPath, `${modules.map((name) => `load_module modules/${name};\n`).join('')}${conf}`);
    symlinkSync(nginxModulesDir(bin), join(prefix, 'modules'));
  }
  if (options.cache) {
    const cacheDir = join(prefix, 'cache');
    extra.push('include snippets/jwt-auth-cache-http.conf;');
    extra.push(`proxy_cache_path ${cacheDir} levels=1:2 keys_zone=jwt_auth:10m max_size=100m inactive=10m use_temp_path=off;`);
    const location = join(prefix, 'snippets', 'jwt-auth-location.conf');
    writeFileSync(location, enableCacheInclude(readFileSync(location, 'utf8')));
  }
  if (options.extraServers) extra.push(options.extraServers(extraPorts));
  if (extra.length > 0) {
    const optionsConf = join(prefix, 'conf.d', 'zz-options.conf');
    writeFileSync(optionsConf, `# Written by the test kit (support/nginx.ts), not part of nginx/.\n${extra.join('\n')}\n`);
    chmodSync(optionsConf, 0o644);
  }

  const errorLog = join(prefix, 'logs', 'error.log');
  const accessLog = options.accessLog === false ? '/dev/null' : join(prefix, 'logs', 'access.log');
  const pidFile = join(prefix, 'nginx.pid');
  const globals = [`daemon off;`, `pid ${pidFile};`, `lock_file ${join(prefix, 'nginx.lock')};`].join(' ');
  const proc = startProcess(
    'nginx',
    bin,
    // -p: relative paths under the prefix; -e: startup errors before error_log is read.
    ['-p', `${prefix}/`, '-c', confPath, '-e', errorLog, '-g', globals],
    { env: { PATH: process.env.PATH ?? '' }, logFile: errorLog, stdoutFile: accessLog },
  );
  const url = `http://${LOOPBACK}:${port}`;
  await waitForHttp(proc, `${url}${options.readyPath ?? '/nginx-healthz'}`);

  return {
    url,
    port,
    extraPorts,
    prefix,
    process: proc,
    errorLog: (maxChars) => tail(errorLog, maxChars),
    accessLog: (maxChars) => tail(accessLog, maxChars),
    async stop() {
      // With `daemon off;` our child is the master, whose PID nginx wrote to pidFile. SIGTERM is
      // nginx's fast shutdown: the master stops its workers and removes the pid file.
      await proc.stop('SIGTERM', 5000);
    },
  };
}
