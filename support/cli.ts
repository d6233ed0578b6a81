/** The command line as an operator runs it: `node dist/src/cli.js …` with exactly the given environment. */
import { spawn } from 'node:child_process';
import { SERVICE_CLI } from './paths.js';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with exactly `env` (plus PATH), `stdin` as its input, bounded in time. */
export function runCli(args: readonly string[], env: Record<string, string> = {}, { cwd, stdin = '' }: { cwd?: string; stdin?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVICE_CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd, timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
