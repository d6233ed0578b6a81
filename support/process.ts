/**
 * Child processes for the integration tests: output captured to a log file (never a pipe that
 * could fill up and stall the child), readiness polling, and a bounded stop by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves once the process has exited (it never rejects). */
  readonly exited: Promise<ExitStatus>;
  /** Whether the process has exited. */
  hasExited(): boolean;
  /** The captured stdout and stderr so far (the last `maxChars` characters). */
  log(maxChars?: number): string;
  /** Sends `signal` (default SIGTERM), waits up to `timeoutMs`, then SIGKILL. Idempotent. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
  /** Sends `signal` and returns at once (SIGHUP: reload). */
  signal(signal: NodeJS.Signals): void;
}

export interface StartOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** stderr (and stdout, unless `stdoutFile` is given) is appended to this file. */
  logFile: string;
  stdoutFile?: string;
}

/** Reads the tail of a text file, or "" when it does not exist yet. */
export function tail(path: string, maxChars = 4000): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
}

/** Starts `command` with its output in `options.logFile`. */
export function startProcess(name: string, command: string, args: readonly string[], options: StartOptions): ManagedProcess {
  const errFd = openSync(options.logFile, 'a', 0o644);
  const outFd = options.stdoutFile === undefined ? errFd : openSync(options.stdoutFile, 'a', 0o644);
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', outFd, errFd] });
  } finally {
    // The child has its own copies.
    closeSync(errFd);
    if (outFd !== errFd) closeSync(outFd);
  }
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
    // A spawn failure (ENOENT, EACCES) arrives as 'error' without 'exit'.
    child.once('error', () => {
      status ??= { code: null, signal: null };
      resolve(status);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${command}\n${tail(options.logFile)}`);

  return {
    name,
    pid,
    logFile: options.logFile,
    exited,
    hasExited: () => status !== undefined,
    log: (maxChars = 4000) => tail(options.logFile, maxChars),
    signal: (signal) => {
      if (status === undefined) process.kill(pid, signal);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<ExitStatus> {
      if (status !== undefined) return status;
      process.kill(pid, signal);
      const timedOut = Symbol('timeout');
      // Unref'd: a process that stopped at once must not keep the test process alive for the rest of the timeout.
      const first = await Promise.race([exited, delay(timeoutMs, timedOut, { ref: false })]);
      if (first !== timedOut) return first;
      if (status === undefined) process.kill(pid, 'SIGKILL');
      return exited;
    },
  };
}

export interface HttpProbe {
  status: number;
}

/** One GET with a short timeout; undefined when nothing answers. */
export function probe(url: string, timeoutMs = 1000, socketPath?: string): Promise<HttpProbe | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs, socketPath }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * Polls `url` until it answers `status`. Fails early, with the process log, when the process
 * exits first, and after `timeoutMs` otherwise.
 */
export async function waitForHttp(
  proc: ManagedProcess,
  url: string,
  { status = 200, timeoutMs = 15_000, socketPath }: { status?: number; timeoutMs?: number; /** ask over this unix socket */ socketPath?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: HttpProbe | undefined;
  while (Date.now() < deadline) {
    if (proc.hasExited()) {
      const exit = await proc.exited;
      throw new Error(`${proc.name} exited (code ${exit.code}, signal ${exit.signal}) before ${url} answered\n${proc.log()}`);
    }
    last = await probe(url, 1000, socketPath);
    if (last?.status === status) return;
    await delay(50);
  }
  await proc.stop();
  throw new Error(`${proc.name}: ${url} did not answer ${status} within ${timeoutMs} ms (last: ${last?.status ?? 'no answer'})\n${proc.log()}`);
}
