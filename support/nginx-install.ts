/**
 * How `npm run demo` gets nginx onto a fresh Debian/Ubuntu machine: installed with apt-get when it
 * can be (as root, or with sudo that needs no password), else the one command to run, printed before
 * anything starts. The demo is nginx in front of the service: without it there is nothing to show.
 */
import { spawnSync } from 'node:child_process';

export interface InstallAbilities {
  readonly isRoot: boolean;
  /** `sudo -n true` succeeded: sudo runs without asking for a password. */
  readonly canSudo: boolean;
  readonly hasAptGet: boolean;
}

export type NginxInstallPlan =
  /** The commands to run, in order. */
  | { readonly kind: 'install'; readonly commands: ReadonlyArray<readonly string[]> }
  /** What to tell the user to run. */
  | { readonly kind: 'tell'; readonly command: string };

const APT_STEPS = [
  ['apt-get', 'update', '-qq'],
  ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'nginx'],
] as const;

export function planNginxInstall({ isRoot, canSudo, hasAptGet }: InstallAbilities): NginxInstallPlan {
  if (!hasAptGet) return { kind: 'tell', command: "your package manager's nginx (NGINX_BIN=/path/to/nginx uses another binary)" };
  if (isRoot) return { kind: 'install', commands: APT_STEPS };
  if (canSudo) return { kind: 'install', commands: APT_STEPS.map((step) => ['sudo', '-n', ...step]) };
  return { kind: 'tell', command: 'sudo apt-get install -y nginx' };
}

const succeeds = (argv: readonly string[]): boolean => spawnSync(argv[0] as string, argv.slice(1), { stdio: 'ignore' }).status === 0;

/** What this machine allows, found out without changing anything. */
export function installAbilities(): InstallAbilities {
  return { isRoot: process.getuid?.() === 0, canSudo: succeeds(['sudo', '-n', 'true']), hasAptGet: succeeds(['apt-get', '--version']) };
}

/**
 * Runs the plan's commands with their output shown; true when all succeeded. Debian's package starts
 * nginx as a system service on port 80: it is stopped again (the demo runs its own nginx).
 */
export function runNginxInstall(commands: ReadonlyArray<readonly string[]>): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const argv of commands) {
    console.error(`$ ${argv.join(' ')}`);
    if (spawnSync(argv[0] as string, argv.slice(1), { stdio: 'inherit', env }).status !== 0) return false;
  }
  const stop = [...(commands[0]?.[0] === 'sudo' ? ['sudo', '-n'] : []), 'service', 'nginx', 'stop'];
  spawnSync(stop[0] as string, stop.slice(1), { stdio: 'ignore' });
  return true;
}
