/**
 * `npm run demo`: the whole scenario on loopback, started from this checkout — nginx with the
 * repository's nginx/ files, the service with keys generated into .local/demo/, and the demo
 * authenticator (Flask, or its Node stand-in) that also serves the protected pages. It is the same
 * stack the end-to-end tests start, through the same kit (support/). Ctrl-C stops everything.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { flaskProblem, startFlaskAuthenticator, startNodeAuthenticator, type AuthenticatorInstance } from '../support/authenticator.js';
import { findNginx, startNginx, type NginxInstance } from '../support/nginx.js';
import { installAbilities, planNginxInstall, runNginxInstall } from '../support/nginx-install.js';
import { REPO_ROOT, SERVICE_CLI } from '../support/paths.js';
import type { ManagedProcess } from '../support/process.js';
import { freePort, LOOPBACK } from '../support/ports.js';
import { startServiceProcess, type ServiceProcess } from '../support/service.js';
import { DEMO_SERVICE_ENV } from '../support/stack.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

const KEY_DIR = join(REPO_ROOT, '.local', 'demo', 'keys');

/** The port nginx listens on: DEMO_PORT, else 8080 when free, else any free port. */
async function nginxPort(): Promise<number> {
  if (process.env.DEMO_PORT) return Number(process.env.DEMO_PORT);
  const { createServer } = await import('node:net');
  const probe = createServer();
  const free = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(8080, LOOPBACK, () => probe.close(() => resolve(true)));
  });
  return free ? 8080 : freePort();
}

/** The secret is made once by the CLI's keygen and kept, so tokens survive a demo restart. */
function ensureKeys(): string {
  mkdirSync(KEY_DIR, { recursive: true, mode: 0o700 });
  const result = spawnSync(process.execPath, [SERVICE_CLI, 'keygen', '--alg', 'HS256', '--out', KEY_DIR, '--if-missing'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`keygen failed: ${result.stderr}`);
  return join(KEY_DIR, 'jwt-secret');
}

function instructions(base: string, authenticatorName: string): string {
  const loginCurl = `curl -s -X POST ${base}/login -H 'Content-Type: application/json' -d '{"username":"alice","password":"alice-password"}'`;
  return `
nginx-jwt-auth demo is running.

  nginx           ${base}
  authenticator   ${authenticatorName}
  users           alice / alice-password (roles admin, user)    bob / bob-password (role user)

In a browser: ${base}/whoami sends you to sign in and back; ${base}/admin/ needs role admin
(sign in as bob to see the page that says so); ${base}/logout signs you out.

Try:
  # log in (through nginx → the service → the authenticator), keep the token
  TOKEN=$(${loginCurl} | sed -E 's/.*"token":"([^"]+)".*/\\1/')
  # a protected page without and with the token
  curl -si ${base}/whoami
  curl -s ${base}/whoami -H "Authorization: Bearer $TOKEN"
  # /admin/ needs role=admin: alice passes, bob gets 403 {"error":"insufficient_scope"}
  curl -si ${base}/admin/ -H "Authorization: Bearer $TOKEN"
  # a client-sent identity header is refused before anything else (400 identity_header_forged)
  curl -si ${base}/whoami -H "Authorization: Bearer $TOKEN" -H 'X-Auth-User: mallory'

Ctrl-C stops everything.
`;
}

async function main(): Promise<void> {
  if (findNginx() === undefined) {
    const plan = planNginxInstall(installAbilities());
    if (plan.kind === 'install') {
      console.error('The demo needs nginx, which is not installed: installing it.');
      if (!runNginxInstall(plan.commands) || findNginx() === undefined) {
        console.error('\nnginx could not be installed; install it yourself, then run npm run demo again.');
        process.exitCode = 1;
        return;
      }
    } else {
      console.error(`The demo needs nginx, which is not installed. Install it, then run npm run demo again:\n\n  ${plan.command}\n`);
      process.exitCode = 1;
      return;
    }
  }
  const dir = makeTempDir('demo');
  const running: Array<{ stop(): Promise<void>; process: ManagedProcess }> = [];
  const stopAll = async (): Promise<void> => {
    for (const part of running.reverse()) await part.stop().catch(() => undefined);
    removeTempDir(dir);
  };
  try {
    const secretFile = ensureKeys();
    const problem = flaskProblem();
    if (problem !== undefined)
      console.log(
        `Flask is not available (${problem}): using the Node stand-in with the same contract.\n  (apt-get install -y python3-flask for the Flask app)`,
      );
    const authenticator: AuthenticatorInstance = problem === undefined ? await startFlaskAuthenticator({ dir }) : await startNodeAuthenticator({ dir });
    running.push(authenticator);

    const service: ServiceProcess = await startServiceProcess(
      {
        // 401 mode, the token in a cookie (plain HTTP on loopback, so not Secure: behind TLS keep
        // the default), browsers sent to /whoami after signing in; docker-compose.yml sets the same.
        ...DEMO_SERVICE_ENV,
        JWT_SECRET_FILE: secretFile,
        JWT_ISSUER: 'nginx-jwt-auth-demo',
        AUTHENTICATOR_URL: authenticator.loginUrl,
        LOG_LEVEL: 'info',
      },
      { dir },
    );
    running.push(service);

    const nginx: NginxInstance = await startNginx({ jwtAuthAddr: service.addr, appAddr: authenticator.addr, port: await nginxPort(), dir });
    running.push(nginx);
    console.log(instructions(nginx.url, `${authenticator.url} (${problem === undefined ? 'Flask' : 'Node stand-in'})`));
    console.log(`Logs: ${dir} (removed on exit; KEEP_TEST_TMPDIR=1 keeps them)`);

    // A part that exits by itself ends the demo too, rather than leaving it half-alive.
    const partExited = Promise.race(running.map((part) => part.process.exited.then(() => part.process.name)));
    const reason = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM'), partExited]);
    if (typeof reason === 'string') console.error(`${reason} stopped unexpectedly: see its log in ${dir}`);
    console.log('\nstopping…');
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
