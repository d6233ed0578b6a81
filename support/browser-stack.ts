/**
 * One real browser and one real stack (nginx with the repository's configuration, the service, the
 * Flask authenticator and app) per describe, with the helpers every browser flow uses: the browser
 * is reset before each test, a failure keeps a screenshot and the stack's logs, and every HTML page
 * the browser was given is kept so a test can prove the token was never in one.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, it } from 'node:test';
import type { Page, Response } from 'playwright-core';
import { launchLoopbackBrowser, screenshotStep, withScreenshot, type LoopbackBrowser } from './browser.js';
import { DEMO_SERVICE_ENV, startStack, withDiagnostics, type Stack } from './stack.js';

const HOOK = { timeout: 60_000 };
const STEP = { timeout: 15_000 };
const COOKIE = DEMO_SERVICE_ENV.TOKEN_COOKIE as string;

/** What the demo app answers: its catch-all echo, or /whoami (both list X-Auth-*). */
export interface Echo {
  path?: string;
  query?: string;
  identity: Record<string, string>;
}

/** One browser and one stack per describe, with the helpers every flow uses. */
export function useBrowserStack(label: string, serviceEnv: Record<string, string>) {
  let stack: Stack | undefined;
  let browser: LoopbackBrowser | undefined;
  /** Every HTML page the browser was given, to prove the token is never in one. */
  const documents: string[] = [];
  const s = (): Stack => {
    assert.ok(stack, 'stack not started');
    return stack;
  };
  const b = (): LoopbackBrowser => {
    assert.ok(browser, 'browser not launched');
    return browser;
  };
  const recordDocument = (response: Response): void => {
    if (response.request().resourceType() !== 'document') return;
    response.text().then(
      (text) => documents.push(text),
      () => undefined,
    );
  };
  before(async () => {
    stack = await startStack(label, { serviceEnv: { ...DEMO_SERVICE_ENV, ...serviceEnv } });
    browser = await launchLoopbackBrowser();
    browser.page.on('response', recordDocument);
  }, HOOK);
  after(async () => {
    await browser?.close();
    await stack?.stop();
  }, HOOK);
  beforeEach(async () => {
    await browser?.reset();
    documents.length = 0;
  });
  const spec = (name: string, body: () => Promise<void>): void =>
    void it(
      name,
      withDiagnostics(
        () => stack,
        withScreenshot(() => browser?.page, `${label} ${name}`, body),
      ),
    );
  const at = (path: string): string => `${s().nginx.url}${path}`;
  const page = (): Page => b().page;
  const snap = (name: string): Promise<void> => screenshotStep(page(), `${label}-${name}`);

  async function signIn(username: string, password: string): Promise<void> {
    const p = page();
    assert.equal(new URL(p.url()).pathname, '/login', `the browser is on the sign-in page, not ${p.url()}`);
    await p.fill('#username', username);
    await p.fill('#password', password);
    // The form posts and the browser loads what comes back: the page it asked for, or the form again.
    await Promise.all([p.waitForEvent('load', STEP), p.click('button[type=submit]')]);
  }
  async function echoed(): Promise<Echo> {
    return JSON.parse(await page().innerText('body')) as Echo;
  }
  async function tokenCookie(): Promise<{ value: string; httpOnly: boolean } | undefined> {
    return (await b().context.cookies()).find((cookie) => cookie.name === COOKIE);
  }
  async function alert(): Promise<string> {
    return (await page().textContent('[role=alert]', STEP))?.trim() ?? '';
  }
  /** No page held the token, nothing left loopback, no page ran a dialog. */
  async function assertClean(): Promise<void> {
    const cookie = await tokenCookie();
    if (cookie !== undefined && cookie.value !== '') {
      for (const html of documents) assert.ok(!html.includes(cookie.value), 'a page the browser was given contains the token');
    }
    assert.deepEqual(b().foreignRequests, [], 'the browser tried to reach another host');
    assert.deepEqual(b().dialogs, []);
  }
  return { s, b, spec, at, page, snap, signIn, echoed, tokenCookie, alert, assertClean };
}
