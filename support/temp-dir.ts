/**
 * Temporary folders that nginx's workers can use. Started as root, nginx runs its workers as
 * `nobody`, which must be able to reach every folder nginx reads; mkdtemp makes 0700 folders.
 */
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Throws when `path` or one of its parents is not searchable by other users. */
function assertReachableByOthers(path: string): void {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `${dir} is not searchable by other users, so nginx's workers (nobody) cannot reach ${path}: set NGINX_TEST_TMPDIR to a folder under /tmp`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

/** Creates a fresh 0755 folder under NGINX_TEST_TMPDIR or the OS temp folder. */
export function makeTempDir(label: string): string {
  const base = process.env.NGINX_TEST_TMPDIR ?? tmpdir();
  accessSync(base, constants.W_OK);
  const dir = mkdtempSync(join(base, `nginx-jwt-auth-${label}-`));
  chmodSync(dir, 0o755);
  if (isRoot()) assertReachableByOthers(dir);
  return dir;
}

/** Removes a folder made by makeTempDir, unless KEEP_TEST_TMPDIR is set (for post-mortems). */
export function removeTempDir(dir: string): void {
  if (process.env.KEEP_TEST_TMPDIR) return;
  rmSync(dir, { recursive: true, force: true });
}
