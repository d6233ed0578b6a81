/**
 * The demo authenticators of examples/: the Flask app (Debian's python3-flask, run by
 * /usr/bin/python3 or PYTHON) and its Node fallback. Both follow the authenticator
 * contract and double as the protected upstream app (/whoami, echo of everything else).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DEMO_USERS_FILE, FLASK_APP, NODE_AUTHENTICATOR } from './paths.js';
import { LOOPBACK, freePort } from './ports.js';
import { startProcess, waitForHttp, type ManagedProcess } from './process.js';

export interface AuthenticatorInstance {
  readonly url: string;
  /** host:port, for nginx's upstream. */
  readonly addr: string;
  /** What the service's AUTHENTICATOR_URL points at. */
  readonly loginUrl: string;
  readonly process: ManagedProcess;
  log(maxChars?: number): string;
  stop(): Promise<void>;
}

export interface AuthenticatorOptions {
  dir: string;
  /** Defaults to examples/flask-authenticator/users.json (alice, bob). */
  usersFile?: string;
}

/**
 * The interpreter that has Flask. Not the first python3 on PATH: on these machines that can be a
 * pyenv build without Debian's packages.
 */
export function pythonBin(): string {
  return process.env.PYTHON || '/usr/bin/python3';
}

/** undefined when Flask is importable, else why not. */
export function flaskProblem(): string | undefined {
  const python = pythonBin();
  const result = spawnSync(python, ['-c', 'import flask, werkzeug'], { encoding: 'utf8', timeout: 15_000 });
  if (result.error) return `${python} cannot run (${result.error.message})`;
  if (result.status !== 0) return `${python} cannot import flask (${result.stderr.trim().split('\n').pop() ?? ''})`;
  return undefined;
}

async function start(name: string, command: string, args: string[], options: AuthenticatorOptions): Promise<AuthenticatorInstance> {
  const port = await freePort();
  const proc = startProcess(name, command, [...args, '--host', LOOPBACK, '--port', String(port), '--users', options.usersFile ?? DEMO_USERS_FILE], {
    env: { PATH: process.env.PATH ?? '', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    logFile: join(options.dir, `${name}-${port}.log`),
  });
  const url = `http://${LOOPBACK}:${port}`;
  await waitForHttp(proc, `${url}/healthz`);
  return {
    url,
    addr: `${LOOPBACK}:${port}`,
    loginUrl: `${url}/login`,
    process: proc,
    log: (maxChars) => proc.log(maxChars),
    async stop() {
      await proc.stop('SIGTERM', 5000);
    },
  };
}

/** examples/flask-authenticator/app.py on a free loopback port. */
export function startFlaskAuthenticator(options: AuthenticatorOptions): Promise<AuthenticatorInstance> {
  return start('flask-authenticator', pythonBin(), [FLASK_APP], options);
}

/** examples/node-authenticator/server.mjs on a free loopback port. */
export function startNodeAuthenticator(options: AuthenticatorOptions): Promise<AuthenticatorInstance> {
  return start('node-authenticator', process.execPath, [NODE_AUTHENTICATOR], options);
}
