/**
 * The pages a browser sees from the service: sign in, signed out, sign out, access denied and
 * "something went wrong". Built from the template (src/pages/template.ts or PAGES_TEMPLATE_FILE);
 * every value put into a page is HTML-escaped here, and each answer carries a Content-Security-
 * Policy that allows nothing but the page's own inline style and its one known script.
 */
import { createHash } from 'node:crypto';
import type { PagesConfig } from '../config/pages.js';
import { DEFAULT_STYLE, DEFAULT_TEMPLATE } from './template.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * The browser keeps the fragment of the page it asked for across nginx's redirect to sign in, but a
 * form's action drops it; with it on the action, the redirect after sign-in carries it back
 * (Fetch: a Location without a fragment inherits the request's). Without script, only the fragment is lost.
 */
const KEEP_FRAGMENT_SCRIPT = "for (const form of document.querySelectorAll('form[data-keep-fragment]')) if (location.hash) form.action += location.hash;";

export interface Page {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Who the request's token says the user is, for the pages that say so. */
export interface Person {
  readonly name: string | undefined;
  readonly subject: string | undefined;
}

export interface PageRenderer {
  signIn(options: { action: string; message?: string; username?: string; status?: number; headers?: Record<string, string> }): Page;
  signedOut(options: { signInHref: string }): Page;
  signOut(options: { person: Person; action: string }): Page;
  forbidden(options: { person: Person | undefined; needs: string | undefined; switchAction: string; signInHref: string }): Page;
  problem(options: { status: number; title: string; sentence: string; linkHref?: string; linkText?: string; headers?: Record<string, string> }): Page;
}

function describe(person: Person): string {
  const { name, subject } = person;
  if (name !== undefined && subject !== undefined && name !== subject) return `<strong>${escapeHtml(name)}</strong> (${escapeHtml(subject)})`;
  const one = name ?? subject;
  return one === undefined ? 'an account without a name' : `<strong>${escapeHtml(one)}</strong>`;
}

export function createPageRenderer(pages: Pick<PagesConfig, 'siteName' | 'template' | 'extraStyle'>): PageRenderer {
  const template = pages.template ?? DEFAULT_TEMPLATE;
  const style = `${DEFAULT_STYLE}\n${pages.extraStyle}`;
  const scriptHash = createHash('sha256').update(KEEP_FRAGMENT_SCRIPT).digest('base64');
  const securityHeaders: Readonly<Record<string, string>> = Object.freeze({
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // Inline styles are allowed (the template's own too): every value on a page is escaped, so no
    // one else's markup gets in. Forms may only post here; no page of ours is framed (clickjacking).
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'sha256-${scriptHash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  });
  const values = (title: string, content: string): Record<string, string> => ({
    site_name: escapeHtml(pages.siteName),
    title: escapeHtml(title),
    style,
    content,
  });
  const page = (status: number, title: string, content: string, headers: Record<string, string> = {}): Page => {
    const filled = values(title, content);
    // One pass, so a value that happens to contain "{{content}}" is never expanded again.
    const body = template.replace(/\{\{(site_name|title|style|content)\}\}/g, (_match, name: string) => filled[name] ?? '');
    return { status, headers: { ...securityHeaders, ...headers }, body };
  };
  const script = `<script>${KEEP_FRAGMENT_SCRIPT}</script>`;

  return {
    signIn({ action, message, username = '', status = 200, headers }) {
      const alert = message === undefined ? '' : `<p class="message" role="alert">${escapeHtml(message)}</p>\n`;
      return page(
        status,
        'Sign in',
        `<h1>Sign in</h1>
${alert}<form method="post" action="${escapeHtml(action)}" data-keep-fragment>
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${escapeHtml(username)}"${username === '' ? ' autofocus' : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${username === '' ? '' : ' autofocus'}>
<button type="submit">Sign in</button>
</form>
${script}`,
        headers,
      );
    },
    signedOut({ signInHref }) {
      return page(
        200,
        'Signed out',
        `<h1>You are signed out</h1>
<p class="muted">You can close this window, or sign in again.</p>
<a class="button" href="${escapeHtml(signInHref)}">Sign in</a>`,
      );
    },
    signOut({ person, action }) {
      return page(
        200,
        'Sign out',
        `<h1>Sign out</h1>
<p>You are signed in as ${describe(person)}.</p>
<form method="post" action="${escapeHtml(action)}"><button type="submit">Sign out</button></form>`,
      );
    },
    forbidden({ person, needs, switchAction, signInHref }) {
      const who = person === undefined ? '' : `<p>You are signed in as ${describe(person)}.</p>\n`;
      const why =
        needs === undefined
          ? '<p>This page needs other permissions than your account has.</p>'
          : `<p>This page needs ${escapeHtml(needs)}, which your account does not have.</p>`;
      return page(
        403,
        'Access denied',
        `<h1>You can't open this page</h1>
${who}${why}
<p class="muted">Sign in with an account that has access, or ask the site's administrator for it.</p>
${
  person === undefined
    ? `<a class="button" href="${escapeHtml(signInHref)}">Sign in</a>`
    : `<form method="post" action="${escapeHtml(switchAction)}" data-keep-fragment><button type="submit">Sign in as someone else</button></form>`
}
${script}`,
      );
    },
    problem({ status, title, sentence, linkHref, linkText, headers }) {
      const link = linkHref === undefined ? '' : `\n<a class="button" href="${escapeHtml(linkHref)}">${escapeHtml(linkText ?? 'Continue')}</a>`;
      return page(status, title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(sentence)}</p>${link}`, headers);
    },
  };
}
