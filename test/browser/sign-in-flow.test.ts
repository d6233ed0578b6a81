/**
 * Signing in and out in a real Chromium, through the real stack (nginx with the repo's config, the
 * service setting its HttpOnly cookie, the Flask authenticator and app), in 401 and in 403 mode:
 * a protected page sends the browser to sign in and straight back to it, the token never appears
 * in a page, a user without the role is told so, sign-out posts and lands on the signed-out page,
 * and every failure is a sentence. Needs nginx, Flask and Chromium (skipped without, failing under CI=true).
 * `BROWSER_SCREENSHOTS=<dir>` keeps a screenshot of every step; a failure always keeps one.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
import { useBrowserStack } from '../../support/browser-stack.js';
import { chromiumPrerequisite, flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite(), chromiumPrerequisite());
const SUITE = { skip, timeout: 240_000 };
const STEP = { timeout: 15_000 };

for (const mode of ['401', '403'] as const) {
  describe(`signing in and out in a real browser (${mode} mode, token in an HttpOnly cookie)`, SUITE, () => {
    const t = useBrowserStack(`browser-${mode}`, { CHECK_UNAUTHENTICATED_STATUS: mode, LOGIN_MAX_FAILURES_PER_USER: '3' });

    t.spec('a protected page sends the browser to sign in, then straight back to it with its whole query', async () => {
      const p = t.page();
      await p.goto(t.at('/admin/report?tab=users&sort=name'));
      assert.equal(p.url(), t.at(`/login?next=${encodeURIComponent('/admin/report?tab=users&sort=name')}`));
      assert.equal(await p.title(), 'Sign in · nginx-jwt-auth');
      await t.snap('1-sign-in');
      await t.signIn('alice', 'alice-password');
      await t.snap('2-back-on-the-page');
      assert.equal(p.url(), t.at('/admin/report?tab=users&sort=name'), 'no "Continue": the browser is back where it asked to be');
      const echo = await t.echoed();
      assert.equal(echo.query, 'tab=users&sort=name');
      assert.equal(echo.identity['X-Auth-User'], 'alice');
      assert.equal((await t.tokenCookie())?.httpOnly, true, 'the token lives in an HttpOnly cookie');
      await t.assertClean();
    });

    t.spec('the fragment the browser carried comes back too', async () => {
      const p = t.page();
      await p.goto(t.at('/admin/?tab=users#members'));
      await t.signIn('alice', 'alice-password');
      assert.equal(p.url(), t.at('/admin/?tab=users#members'));
      await t.assertClean();
    });

    t.spec("signing in on the sign-in page itself goes to the default destination, the demo's /whoami", async () => {
      const p = t.page();
      await p.goto(t.at('/login'));
      await t.signIn('alice', 'alice-password');
      assert.equal(p.url(), t.at('/whoami'));
      assert.equal((await t.echoed()).identity['X-Auth-User'], 'alice');
      await t.assertClean();
    });

    t.spec('a wrong password is a sentence on the sign-in page, and the destination is kept', async () => {
      const p = t.page();
      await p.goto(t.at('/admin/?x=1'));
      await t.signIn('alice', 'not-her-password');
      await t.snap('3-wrong-password');
      assert.match(await t.alert(), /^The username or password is not right\./);
      assert.equal(await p.inputValue('#username'), 'alice', 'the username is filled in again');
      assert.equal(await t.tokenCookie(), undefined);
      await t.signIn('alice', 'alice-password');
      assert.equal(p.url(), t.at('/admin/?x=1'));
      await t.assertClean();
    });

    t.spec('a user without the role sees who they are, what the page needs, and can sign in as someone else', async () => {
      const p = t.page();
      await p.goto(t.at('/admin/?tab=users'));
      await t.signIn('bob', 'bob-password');
      await t.snap('4-forbidden');
      assert.equal(p.url(), t.at('/admin/?tab=users'));
      const text = await p.innerText('main');
      assert.match(text, /You can't open this page/);
      assert.match(text, /signed in as Bob Builder \(bob\)/);
      assert.match(text, /needs the role admin/);
      await Promise.all([p.waitForURL(/\/login\?/, STEP), p.click('text=Sign in as someone else')]);
      assert.equal(await t.tokenCookie(), undefined, 'bob is signed out');
      await t.signIn('alice', 'alice-password');
      assert.equal(p.url(), t.at('/admin/?tab=users'));
      assert.equal((await t.echoed()).identity['X-Auth-User'], 'alice');
      await t.assertClean();
    });

    t.spec('signing out posts, clears the cookie and lands on the signed-out page', async () => {
      const p = t.page();
      await p.goto(t.at('/login'));
      await t.signIn('alice', 'alice-password');
      await p.goto(t.at('/logout'));
      await t.snap('5-sign-out');
      assert.match(await p.innerText('main'), /You are signed in as Alice Liddell \(alice\)/);
      const posted = p.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/logout', STEP);
      await p.click('button[type=submit]');
      await posted;
      await p.waitForLoadState('load', STEP);
      await t.snap('6-signed-out');
      assert.equal(p.url(), t.at('/logout'));
      assert.match(await p.innerText('main'), /You are signed out/);
      assert.equal(await t.tokenCookie(), undefined);
      await p.goto(t.at('/whoami'));
      assert.equal(new URL(p.url()).pathname, '/login', 'signed out for real: back to sign in');
      await t.assertClean();
    });

    t.spec('too many failed attempts is a sentence saying how long to wait', async () => {
      const p = t.page();
      await p.goto(t.at('/login'));
      // LOGIN_MAX_FAILURES_PER_USER=3 here; carol is nobody, so nobody else is locked out.
      for (let i = 0; i < 3; i++) await t.signIn('carol', 'guess');
      await t.signIn('carol', 'guess');
      await t.snap('7-rate-limited');
      assert.match(await t.alert(), /^Too many sign-in attempts\. Please wait \d+ minutes? and try again\.$/);
      await t.assertClean();
    });

    t.spec('the pages work with JavaScript turned off', async () => {
      const context = await t.b().browser.newContext({ javaScriptEnabled: false });
      try {
        const p = await context.newPage();
        await p.goto(t.at('/admin/?tab=users'));
        await p.fill('#username', 'alice');
        await p.fill('#password', 'alice-password');
        await Promise.all([p.waitForURL(t.at('/admin/?tab=users'), STEP), p.click('button[type=submit]')]);
        assert.match(await p.innerText('body'), /"X-Auth-User":\s*"alice"/);
      } finally {
        await context.close();
      }
    });

    t.spec('an API client gets JSON for every deny, with X-Auth-Error', async () => {
      const missing = await t.s().request('/admin/');
      assert.equal(missing.status, Number(mode));
      assert.deepEqual(missing.json(), { error: 'token_missing' });
      assert.equal(missing.headers['x-auth-error'], 'token_missing');
      const bob = await t.s().mint({ sub: 'bob', roles: ['user'] });
      const forbidden = await t.s().request('/admin/', { headers: { authorization: `Bearer ${bob}` } });
      assert.equal(forbidden.status, 403);
      assert.match(String(forbidden.headers['content-type']), /^application\/json/);
      assert.deepEqual(forbidden.json(), { error: 'insufficient_scope' });
      assert.equal(forbidden.headers['x-auth-error'], 'insufficient_scope');
    });
  });
}

describe('signing in while the authenticator is down (real browser)', SUITE, () => {
  // Nothing listens on port 9 (discard) on loopback here: connections are refused at once.
  const t = useBrowserStack('browser-down', { AUTHENTICATOR_URL: 'http://127.0.0.1:9/login' });

  t.spec('says sign-in is not possible right now, in words', async () => {
    const p = t.page();
    await p.goto(t.at('/whoami'));
    await t.signIn('alice', 'alice-password');
    await t.snap('8-authenticator-down');
    assert.equal(new URL(p.url()).pathname, '/login');
    assert.match(await t.alert(), /^Signing in is not possible right now: the account service is not answering\./);
    assert.equal(await t.tokenCookie(), undefined);
    await t.assertClean();
  });
});

describe("the pages carry the site's name and look, set without editing a shipped file (real browser)", SUITE, () => {
  const dir = join(process.env.TMPDIR ?? '/tmp');
  const styleFile = join(dir, `nginx-jwt-auth-style-${process.pid}.css`);
  const templateFile = join(dir, `nginx-jwt-auth-template-${process.pid}.html`);
  writeFileSync(styleFile, ':root { --accent: rgb(176, 32, 64); }\n');
  writeFileSync(
    templateFile,
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{title}} | {{site_name}}</title><style>{{style}}</style></head>' +
      '<body><main class="card"><header id="brand" class="site">{{site_name}} intranet</header>{{content}}</main></body></html>\n',
  );
  const t = useBrowserStack('browser-brand', { PAGES_SITE_NAME: 'Acme & Co', PAGES_STYLE_FILE: styleFile, PAGES_TEMPLATE_FILE: templateFile });

  t.spec('the template, the name (escaped) and the stylesheet are the operator’s', async () => {
    const p = t.page();
    await p.goto(t.at('/whoami'));
    await t.snap('9-branded');
    assert.equal(await p.title(), 'Sign in | Acme & Co');
    assert.equal(await p.innerText('#brand'), 'Acme & Co intranet');
    assert.equal(await p.evaluate("getComputedStyle(document.querySelector('button[type=submit]')).backgroundColor"), 'rgb(176, 32, 64)');
    await t.signIn('alice', 'alice-password');
    assert.equal(p.url(), t.at('/whoami'));
    await t.assertClean();
  });
});
