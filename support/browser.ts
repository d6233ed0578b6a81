/**
 * A real Chromium (Debian's, driven by playwright-core) that can only reach loopback: every
 * request to another host is recorded and aborted before it leaves, and the host resolver
 * answers nothing but 127.0.0.1, which also covers what the browser sends on its own.
 * One launch per test file; tests share its context and page and call reset() in between.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { isExecutable } from './nginx.js';
import { LOOPBACK } from './ports.js';

/** The Chromium binary: CHROMIUM_BIN when set (and executable), else `chromium` on PATH or /usr/bin. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_BIN;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin'];
  return dirs
    .filter(Boolean)
    .map((dir) => join(dir, 'chromium'))
    .find(isExecutable);
}

export interface LoopbackBrowser {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every URL the browser tried to fetch from a host other than 127.0.0.1 (all were aborted). */
  readonly foreignRequests: readonly string[];
  /** The message of every alert/confirm/prompt a page opened (each dismissed). */
  readonly dialogs: readonly string[];
  /** A clean slate for the next test: no cookies, nothing recorded, the page on about:blank. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function launchLoopbackBrowser(): Promise<LoopbackBrowser> {
  const executablePath = findChromium();
  if (executablePath === undefined) throw new Error('no chromium: apt-get install -y chromium, or set CHROMIUM_BIN');
  const browser = await chromium.launch({
    executablePath,
    // We run as root in CI containers, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${LOOPBACK}`],
  });
  try {
    const context = await browser.newContext();
    const foreignRequests: string[] = [];
    const dialogs: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).hostname === LOOPBACK) return route.fallback();
      foreignRequests.push(url);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => undefined);
    });
    return {
      browser,
      context,
      page,
      foreignRequests,
      dialogs,
      async reset() {
        await page.goto('about:blank');
        await context.clearCookies();
        foreignRequests.length = 0;
        dialogs.length = 0;
      },
      close: () => browser.close(),
    };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/**
 * Saves a screenshot of a step when BROWSER_SCREENSHOTS names a folder (to look at the pages as a
 * user sees them: `BROWSER_SCREENSHOTS=/tmp/shots node --test dist/test/browser/`); else nothing.
 */
export async function screenshotStep(page: Page, name: string): Promise<void> {
  const dir = process.env.BROWSER_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80)}.png`), fullPage: true });
}

/**
 * Wraps a test body so that a failure saves a screenshot of the page into a fresh temp folder
 * (kept) and names the file in the error and on stderr.
 */
export function withScreenshot(getPage: () => Page | undefined, name: string, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      const page = getPage();
      if (page !== undefined) {
        const file = join(mkdtempSync(join(tmpdir(), 'nginx-jwt-auth-screenshot-')), `${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80)}.png`);
        const saved = await page.screenshot({ path: file, fullPage: true }).then(
          () => true,
          () => false,
        );
        const note = saved ? `screenshot of the page (${page.url()}): ${file}` : `no screenshot: the page could not be captured (${page.url()})`;
        console.error(`# ${note}`);
        if (error instanceof Error) error.message += `\n${note}`;
      }
      throw error;
    }
  };
}
