/**
 * The sign-in page in a real Chromium, against the real stack (nginx with the repo's
 * config, the service setting its cookie, the Flask authenticator and app): a browser sent to
 * sign in comes back to exactly the URL it asked for, and no `next` a link can carry takes it
 * off this origin or back to the login page. Needs nginx, Flask and Chromium; without them the
 * tests are skipped, or fail under CI=true.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { useBrowserStack } from '../../support/browser-stack.js';
import { chromiumPrerequisite, flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite(), chromiumPrerequisite());
const SUITE = { skip, timeout: 180_000 };
const STEP = { timeout: 10_000 };

describe('the sign-in page in a real browser (401 mode, cookie set by the service)', SUITE, () => {
  const { s, b, spec, at, echoed } = useBrowserStack('browser', {});

  /** Signs in as alice on the sign-in page the browser is on; the answer sends it on by itself. */
  async function signInAndContinue(): Promise<void> {
    const { page } = b();
    assert.equal(new URL(page.url()).pathname, '/login', 'the browser is on the sign-in page');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    const loginPage = page.url();
    await page.click('button[type=submit]');
    // Any other URL, this origin's or not (an aborted one shows as chrome-error://), then its load.
    await page.waitForURL((url) => url.href !== loginPage, STEP);
    await page.waitForLoadState('load', STEP);
  }

  /** The page is the app's answer to alice: she is signed in, not sent back to the login page. */
  async function assertAppAnsweredAlice(): Promise<void> {
    assert.equal((await echoed()).identity['X-Auth-User'], 'alice');
  }

  function assertStayedHome(): void {
    assert.deepEqual(b().foreignRequests, [], 'the browser tried to reach another host');
    assert.deepEqual(b().dialogs, [], 'a page ran script it was handed (javascript: URL)');
  }

  describe('a protected URL survives the round trip through the login page', () => {
    const protectedUrls = [
      { name: 'a query with two parameters', path: '/admin/?tab=users&sort=name', query: 'tab=users&sort=name' },
      { name: 'escapes and a "next" of its own', path: '/admin/report?q=a%26b%20c&next=%2F&x=1', query: 'q=a%26b%20c&next=%2F&x=1' },
    ];
    for (const { name, path, query } of protectedUrls) {
      spec(`${name}: ${path}`, async () => {
        const { page } = b();
        await page.goto(at(path));
        assert.equal(page.url(), at(`/login?next=${encodeURIComponent(path)}`), 'the browser is sent to sign in with the URI, encoded');
        await signInAndContinue();
        assert.equal(page.url(), at(path));
        const echo = await echoed();
        assert.equal(echo.query, query, 'the app received the whole query');
        assert.equal(echo.identity['X-Auth-User'], 'alice', 'the request carried the cookie the sign-in set');
        assertStayedHome();
      });
    }

    spec('the fragment the browser carried across the redirect comes back too', async () => {
      const { page } = b();
      await page.goto(at('/admin/?tab=users&sort=name#members'));
      assert.equal(page.url(), at(`/login?next=${encodeURIComponent('/admin/?tab=users&sort=name')}#members`));
      await signInAndContinue();
      assert.equal(page.url(), at('/admin/?tab=users&sort=name#members'));
      await assertAppAnsweredAlice();
      assertStayedHome();
    });

    spec('a hand-written link may percent-encode next: it is decoded once', async () => {
      const { page } = b();
      await page.goto(at('/login?next=%2Fadmin%2F%3Ftab%3Dusers%26sort%3Dname'));
      await signInAndContinue();
      assert.equal(page.url(), at('/admin/?tab=users&sort=name'));
      assert.equal((await echoed()).query, 'tab=users&sort=name');
      assertStayedHome();
    });
  });

  describe('a hostile next never takes the browser off this origin', () => {
    // `next` as it appears in the link, raw; `lands` is where the browser must end up. `refused`:
    // a same-origin path that nginx's guard answers itself (400 uri_ambiguous: encoded control
    // characters and slashes are refused before any location), so the app is never asked.
    const hostile: Array<{ next: string; lands: string; refused?: boolean }> = [
      { next: '/%09/evil.example/', lands: '/%09/evil.example/', refused: true },
      { next: '/%0A/evil.example/', lands: '/%0A/evil.example/', refused: true },
      { next: '/%0D/evil.example/', lands: '/%0D/evil.example/', refused: true },
      { next: '%2F%09%2Fevil.example%2F', lands: '/whoami' },
      { next: '//evil.example/', lands: '/whoami' },
      { next: '/\\evil.example/', lands: '/whoami' },
      { next: 'https://evil.example/', lands: '/whoami' },
      { next: 'javascript:alert(1)', lands: '/whoami' },
      { next: '%2F%2Fevil.example', lands: '/whoami' },
      { next: '/%2F/evil.example', lands: '/%2F/evil.example', refused: true },
      { next: '/login', lands: '/whoami' },
      { next: '/login?next=/login', lands: '/whoami' },
      { next: '/%6Cogin', lands: '/whoami' },
      { next: '//login', lands: '/whoami' },
      { next: '/.//evil.example/', lands: '/whoami' },
    ];
    for (const { next, lands, refused } of hostile) {
      spec(`next=${next} lands on ${lands}`, async () => {
        const { page } = b();
        await page.goto(at(`/login?next=${next}`));
        await signInAndContinue();
        assertStayedHome();
        assert.equal(page.url(), at(lands));
        if (refused) assert.match((await page.textContent('body')) ?? '', /uri_ambiguous/);
        else await assertAppAnsweredAlice();
      });
    }

    spec('a blob: URL of this very origin is not followed either', async () => {
      const { page } = b();
      await page.goto(at(`/login?next=blob:${s().nginx.url}/00000000-0000-0000-0000-000000000000`));
      await signInAndContinue();
      assert.equal(page.url(), at('/whoami'));
      await assertAppAnsweredAlice();
      assertStayedHome();
    });

    spec('next among other parameters is read as a parameter and checked the same way', async () => {
      const { page } = b();
      await page.goto(at('/login?lang=en&next=//evil.example/'));
      await signInAndContinue();
      assert.equal(page.url(), at('/whoami'));
      await assertAppAnsweredAlice();
      assertStayedHome();
    });
  });
});
