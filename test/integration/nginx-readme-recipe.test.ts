/**
 * nginx/README.md's recipe, followed literally: the service's environment, the http {} lines and
 * the server {} block are taken from the document's own code blocks (marked `<!-- recipe: … -->`),
 * so the document cannot drift from what works. Only the addresses are swapped for loopback ports
 * and the key file for the test's own. Then the browser flow (as HTTP requests a browser makes)
 * and the API flow run through it, with /login and /logout at the root and under LOGIN_PATH_PREFIX.
 * Needs nginx and Flask (skipped without, failing under CI=true).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFlaskAuthenticator, type AuthenticatorInstance } from '../../support/authenticator.js';
import { httpRequest, type HttpRequestOptions, type HttpResponse } from '../../support/http.js';
import { startNginx, type NginxInstance } from '../../support/nginx.js';
import { NGINX_CONFIG_DIR } from '../../support/paths.js';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { makeSecret, mintToken } from '../../support/tokens.js';

const SUITE = { skip: requireOrSkip(nginxPrerequisite(), flaskPrerequisite()), timeout: 120_000 };
const HOOK = { timeout: 60_000 };

/** The code block after `<!-- recipe: name -->`, its list indentation removed. */
export function recipeBlock(markdown: string, name: string): string {
  const match = new RegExp(`<!-- recipe: ${name} -->\\s*\\n([ \\t]*)\`\`\`[a-z]*\\n([\\s\\S]*?)\\n[ \\t]*\`\`\``).exec(markdown);
  assert.ok(match, `nginx/README.md has a code block marked <!-- recipe: ${name} -->`);
  const indent = match[1] ?? '';
  return (match[2] ?? '')
    .split('\n')
    .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
    .join('\n');
}

/** KEY=VALUE lines of a shell block (comments and blank lines skipped). */
function envOf(block: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(\S*)/.exec(line.trim());
    if (match) env[match[1] as string] = match[2] as string;
  }
  return env;
}

const README = readFileSync(join(NGINX_CONFIG_DIR, 'README.md'), 'utf8');

function replaceOnce(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the recipe contains ${from}`);
  return text.replace(from, to);
}

const FORM = 'application/x-www-form-urlencoded';
const BROWSER = 'text/html,application/xhtml+xml,*/*;q=0.8';

for (const variant of ['at the root', 'under LOGIN_PATH_PREFIX=/auth'] as const) {
  const prefix = variant === 'at the root' ? '' : '/auth';
  describe(`nginx/README.md's recipe, as written, with /login and /logout ${variant}`, SUITE, () => {
    let dir = '';
    let flask: AuthenticatorInstance | undefined;
    let service: ServiceProcess | undefined;
    let nginx: NginxInstance | undefined;
    const secret = makeSecret();
    const request = (path: string, options?: HttpRequestOptions): Promise<HttpResponse> => httpRequest(`${nginx?.url}${path}`, options);

    before(async () => {
      dir = makeTempDir('readme-recipe');
      flask = await startFlaskAuthenticator({ dir });
      const env = envOf(recipeBlock(README, 'service-env'));
      assert.equal(env.JWT_SECRET_FILE, '/etc/nginx-jwt-auth/jwt-secret', 'the recipe names its key file');
      const secretFile = join(dir, 'jwt-secret');
      writeFileSync(secretFile, secret);
      service = await startServiceProcess(
        { ...env, JWT_SECRET_FILE: secretFile, AUTHENTICATOR_URL: flask.loginUrl, ...(prefix ? { LOGIN_PATH_PREFIX: prefix } : {}) },
        { dir },
      );
      const http = replaceOnce(
        replaceOnce(recipeBlock(README, 'http'), 'server 127.0.0.1:8000;', 'server ${JWT_AUTH_ADDR};'),
        'server 127.0.0.1:3000;',
        'server ${APP_ADDR};',
      );
      let server = replaceOnce(recipeBlock(README, 'server'), 'listen 80;', 'listen ${NGINX_LISTEN};');
      if (prefix) server = replaceOnce(server, 'include snippets/jwt-auth-login.conf;', recipeBlock(README, 'login-prefix'));
      nginx = await startNginx({
        jwtAuthAddr: service.addr,
        appAddr: flask.addr,
        dir,
        // The harness's own bits only: the error log and no daemon (passed with -g), temp paths in conf.d/.
        own: { mainConf: `events {}\nhttp {\n${http}\ninclude conf.d/*.conf;\n}\n`, template: `${server}\n` },
        readyPath: `${prefix}/login`,
      });
    }, HOOK);
    after(async () => {
      await nginx?.stop();
      await service?.stop();
      await flask?.stop();
      removeTempDir(dir);
    }, HOOK);

    const spec = (name: string, body: () => Promise<void>) =>
      it(name, async () => {
        try {
          await body();
        } catch (error) {
          if (error instanceof Error) error.message += `\n--- nginx\n${nginx?.errorLog(2000)}\n--- service\n${service?.log(2000)}`;
          throw error;
        }
      });

    spec('a browser is sent to sign in, signs in with the form, and lands on the page it asked for with its cookie', async () => {
      const asked = '/reports/q3?tab=users&sort=name';
      const denied = await request(asked, { headers: { accept: BROWSER } });
      assert.equal(denied.status, 302);
      assert.equal(denied.headers.location, `${prefix}/login?next=${encodeURIComponent(asked)}`);
      const page = await request(String(denied.headers.location), { headers: { accept: BROWSER } });
      assert.equal(page.status, 200);
      assert.match(page.text(), new RegExp(`<form method="post" action="${prefix}/login\\?next=`));
      const signedIn = await request(String(denied.headers.location), {
        method: 'POST',
        headers: { accept: BROWSER, 'content-type': FORM, origin: nginx?.url ?? '' },
        body: 'username=alice&password=alice-password',
      });
      assert.equal(signedIn.status, 303, signedIn.text());
      assert.equal(signedIn.headers.location, asked);
      const cookie = String(signedIn.headers['set-cookie']).split(';')[0] ?? '';
      assert.match(cookie, /^jwt_auth=ey/);
      assert.ok(!signedIn.text().includes(cookie.slice('jwt_auth='.length)), 'the token is not in the answer');
      const back = await request(asked, { headers: { accept: BROWSER, cookie } });
      assert.equal(back.status, 200);
      assert.equal(back.json<{ identity: Record<string, string> }>().identity['X-Auth-User'], 'alice');
      assert.equal(back.json<{ query: string }>().query, 'tab=users&sort=name');
    });

    spec('a user without the role gets a page saying so; an API client gets the JSON', async () => {
      const bob = await mintToken(secret, { sub: 'bob', name: 'Bob', roles: ['user'] });
      const page = await request('/admin/', { headers: { accept: BROWSER, cookie: `jwt_auth=${bob}` } });
      assert.equal(page.status, 403);
      assert.match(page.text(), /signed in as <strong>Bob<\/strong> \(bob\)/);
      assert.match(page.text(), /needs the role admin/);
      const api = await request('/admin/', { headers: { authorization: `Bearer ${bob}` } });
      assert.equal(api.status, 403);
      assert.deepEqual(api.json(), { error: 'insufficient_scope' });
      assert.equal(api.headers['x-auth-error'], 'insufficient_scope');
      const none = await request('/admin/');
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Bearer /);
      assert.deepEqual(none.json(), { error: 'token_missing' });
    });

    spec('signing out posts to the logout path and clears the cookie', async () => {
      const out = await request(`${prefix}/logout`, { method: 'POST', headers: { accept: BROWSER, 'content-type': FORM, origin: nginx?.url ?? '' } });
      assert.equal(out.status, 303);
      assert.equal(out.headers.location, `${prefix}/logout`);
      assert.match(String(out.headers['set-cookie']), /^jwt_auth=; Max-Age=0/);
    });

    if (prefix) {
      spec("the app's own /login is the app's", async () => {
        const alice = await mintToken(secret, { sub: 'alice', roles: ['admin'] });
        // The demo app's own POST /login answers with its user object, not the service's token.
        const res = await request('/login', {
          method: 'POST',
          headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
        });
        assert.equal(res.status, 200, res.text());
        const body = res.json<Record<string, unknown>>();
        assert.equal(body.sub, 'bob');
        assert.equal(body.token, undefined, 'the service was not asked');
      });
    }
  });
}
