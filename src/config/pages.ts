/**
 * The browser pages the service serves (sign-in, signed-out, access denied): where they live, where a
 * browser goes after signing in or out, and the site's name and look. The template and the extra
 * stylesheet are read once here, so a bad file stops the start rather than a sign-in.
 */
import type { EnvReader } from './env-reader.js';

export interface PagesConfig {
  /** Prepended to /login and /logout ("" or a path such as /auth), so they need not shadow an app's own. */
  readonly pathPrefix: string;
  /** Where a browser goes after signing in when it asked for nothing (or for something off this site). */
  readonly defaultRedirect: string;
  /** Where a browser goes after signing out; undefined: the service's own signed-out page. */
  readonly logoutRedirect: string | undefined;
  /** Shown on every page. */
  readonly siteName: string;
  /** PAGES_TEMPLATE_FILE's text; undefined: the built-in template (src/pages/template.ts). */
  readonly template: string | undefined;
  /** PAGES_STYLE_FILE's text, added after the built-in stylesheet. */
  readonly extraStyle: string;
}

/** A path prefix: "" or "/seg[/seg…]" of unreserved characters, no trailing slash. */
const PREFIX = /^(\/[A-Za-z0-9._~-]+)*$/;
/** A local destination: one leading "/", then no backslash, control character or space. */
const LOCAL_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;

function readLocalPath(env: EnvReader, name: string, fallback: string | undefined): string | undefined {
  const value = env.string(name) ?? fallback;
  if (value !== undefined && (!LOCAL_PATH.test(value) || value.includes('\\')))
    env.problem(`${name}: expected a path on this site such as /whoami (starting with a single /, no spaces), got "${value}"`);
  return value;
}

export function readPages(env: EnvReader): PagesConfig {
  const pathPrefix = env.string('LOGIN_PATH_PREFIX') ?? '';
  if (!PREFIX.test(pathPrefix) || pathPrefix.split('/').some((segment) => segment === '.' || segment === '..'))
    env.problem(`LOGIN_PATH_PREFIX: expected "" or a path such as /auth (no trailing slash), got "${pathPrefix}"`);
  const template = env.file('PAGES_TEMPLATE_FILE');
  if (template !== undefined && !template.includes('{{content}}')) env.problem('PAGES_TEMPLATE_FILE: the template has no {{content}} placeholder');
  const extraStyle = env.file('PAGES_STYLE_FILE') ?? '';
  if (/<\/style/i.test(extraStyle)) env.problem('PAGES_STYLE_FILE: a stylesheet may not contain "</style"');
  const siteName = env.string('PAGES_SITE_NAME') ?? 'nginx-jwt-auth';
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (siteName.length > 200 || /[\x00-\x1f\x7f]/.test(siteName)) env.problem('PAGES_SITE_NAME: at most 200 characters, no control characters');
  return {
    pathPrefix,
    defaultRedirect: readLocalPath(env, 'LOGIN_REDIRECT_DEFAULT', '/') ?? '/',
    logoutRedirect: readLocalPath(env, 'LOGOUT_REDIRECT', undefined),
    siteName,
    template,
    extraStyle,
  };
}
