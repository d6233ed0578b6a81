/**
 * External programs the integration tests need. Missing ones skip the tests with a clear
 * message on a developer machine, and fail them under CI=true, where .ci/run installs them.
 */
import { flaskProblem, pythonBin } from './authenticator.js';
import { findChromium } from './browser.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findNginx, nginxModulesDir } from './nginx.js';
import { findRedisServer, redisServerProblem } from './redis.js';

export interface Prerequisite {
  readonly name: string;
  /** Why it is unusable and how to fix that; undefined when usable. */
  readonly problem: string | undefined;
}

/** Why a program found by `find` (or named by the variable `envName`) is unusable, or undefined. */
function programProblem(found: string | undefined, envName: string, missing: string): string | undefined {
  if (found !== undefined) return undefined;
  const named = process.env[envName];
  return named ? `${envName}=${named} is not an executable file` : `${missing}, or set ${envName}`;
}

export function nginxPrerequisite(): Prerequisite {
  return { name: 'nginx', problem: programProblem(findNginx(), 'NGINX_BIN', 'no nginx on PATH or in /usr/sbin: apt-get install -y nginx') };
}

/** nginx's njs module, which the decision cache's key needs (nginx/snippets/jwt-auth-cache-http.conf). */
export function njsPrerequisite(): Prerequisite {
  const bin = findNginx();
  const module = bin === undefined ? undefined : join(nginxModulesDir(bin), 'ngx_http_js_module.so');
  const problem = module === undefined || existsSync(module) ? undefined : `no ${module}: apt-get install -y libnginx-mod-http-js`;
  return { name: 'nginx njs module', problem };
}

export function flaskPrerequisite(): Prerequisite {
  const problem = flaskProblem();
  return { name: 'Flask', problem: problem && `${problem}: apt-get install -y python3-flask, or set PYTHON (now ${pythonBin()})` };
}

export function chromiumPrerequisite(): Prerequisite {
  return { name: 'Chromium', problem: programProblem(findChromium(), 'CHROMIUM_BIN', 'no chromium on PATH or in /usr/bin: apt-get install -y chromium') };
}

export function redisPrerequisite(): Prerequisite {
  const problem =
    programProblem(findRedisServer(), 'REDIS_SERVER_BIN', 'no redis-server on PATH or in /usr/bin: apt-get install -y redis-server') ?? redisServerProblem();
  return { name: 'redis-server', problem };
}

function isCI(): boolean {
  const ci = process.env.CI?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * The value for node:test's `skip` option: false when everything is there, else the reason.
 * Under CI it throws instead, so a CI machine without nginx, Flask or Chromium fails rather than going
 * green on skipped tests.
 */
export function requireOrSkip(...prerequisites: Prerequisite[]): string | false {
  const problems = prerequisites.filter((p) => p.problem !== undefined).map((p) => `${p.name}: ${p.problem}`);
  if (problems.length === 0) return false;
  const message = problems.join('; ');
  if (isCI()) throw new Error(`CI=true and integration prerequisites are missing: ${message}`);
  console.warn(`# skipping integration tests: ${message}`);
  return `missing ${message}`;
}
