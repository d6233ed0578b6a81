/**
 * The nginx lines that must match the service's IDENTITY_HEADERS and TOKEN_COOKIE, printed by
 * `nginx-jwt-auth nginx-snippet` so an operator configures identity headers in one place. The
 * shipped snippets hold the output for the defaults between marker lines
 * (test/unit/nginx-snippet.test.ts compares them byte for byte):
 *   protect: the auth_request_set / proxy_set_header pairs of jwt-auth-protect.conf;
 *   http:    the guard's map of client-sent identity headers and the map that takes the token
 *            cookie out of the Cookie header the app gets, in jwt-auth-http.conf.
 */
import type { CookieConfig } from './config/cookie.js';
import type { IdentityHeadersConfig } from './config/identity-headers.js';

export interface NginxSnippet {
  readonly protect: string;
  readonly http: string;
}

export const MARKERS = {
  protect: ['# --- nginx-jwt-auth nginx-snippet: protect ---', '# --- end nginx-jwt-auth nginx-snippet: protect ---'],
  http: ['# --- nginx-jwt-auth nginx-snippet: http ---', '# --- end nginx-jwt-auth nginx-snippet: http ---'],
} as const;

/** Variables of ours an identity header's variable must not take. */
const RESERVED = new Set([
  'error',
  'time',
  'refused',
  'uri_refused',
  'identity_refused',
  'wants_html',
  'deny_code',
  'app_host',
  'app_cookie',
  'cookie_cut1',
  'cookie_cut2',
  'cookie_cut3',
]);

/** nginx's name for a header in variables: lower case, "-" as "_". */
const varName = (header: string): string => header.toLowerCase().replaceAll('-', '_');
/** X-Auth-User from x-auth-user, for people reading the config (nginx compares names case-insensitively). */
const displayName = (header: string): string => header.replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());

/** $jwt_auth_user for X-Auth-User (the shipped names, used in the log format), $jwt_auth_x_email for X-Email. */
export function identityVariable(header: string): string {
  const name = varName(header.replace(/^x-auth-/i, ''));
  return `jwt_auth_${RESERVED.has(name) ? `id_${name}` : name}`;
}

/** The cookie name as a PCRE literal (a cookie name may hold . * + ^ $ | and other token characters). */
const regexLiteral = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|#~!%&'`-]/g, '\\$&');

export function nginxSnippet(identity: Pick<IdentityHeadersConfig, 'headers'>, cookie: Pick<CookieConfig, 'name'>): NginxSnippet {
  const headers = identity.headers.map(({ header }) => header);
  const protect = [
    MARKERS.protect[0],
    ...headers.map((header) => `auth_request_set $${identityVariable(header)} $upstream_http_${varName(header)};`),
    ...headers.map((header) => `proxy_set_header ${displayName(header)} $${identityVariable(header)};`),
    MARKERS.protect[1],
  ].join('\n');

  const guarded = [...headers, 'x-auth-error', 'x-auth-require'].filter((header, index, all) => all.indexOf(header) === index);
  const guard = [
    `map "${guarded.map((header) => `$http_${varName(header)}`).join('')}" $jwt_auth_identity_refused {`,
    '    ""      "";',
    '    default identity_header_forged;',
    '}',
  ];
  const cookieMaps =
    cookie.name === undefined
      ? [
          '',
          "# The Cookie header the app gets: no TOKEN_COOKIE is configured, so the client's, unchanged.",
          'map "" $jwt_auth_app_cookie {',
          '    default $http_cookie;',
          '}',
        ]
      : cutCookieMaps(cookie.name);
  const http = [MARKERS.http[0], ...guard, ...cookieMaps, MARKERS.http[1]].join('\n');
  return { protect, http };
}

function cutCookieMaps(name: string): string[] {
  const literal = regexLiteral(name);
  const cut = `"~^(?<before>(?:[^;]*;)*?)[ \\t]*${literal}=[^;]*;?[ \\t]*(?<after>.*)$" "$before$after";`;
  return [
    '',
    `# The Cookie header the app gets: the client's, without the token cookie (${name}), so the app`,
    '# never holds a copy of the token. nginx cannot edit one cookie in a header, so two maps each cut',
    '# one occurrence (a browser sends a cookie once; a client may repeat it) and a third drops the',
    '# whole header if a third copy is left. An app that needs the token passes $http_cookie instead.',
    'map $http_cookie $jwt_auth_cookie_cut1 {',
    '    default $http_cookie;',
    `    ${cut}`,
    '}',
    'map $jwt_auth_cookie_cut1 $jwt_auth_cookie_cut2 {',
    '    default $jwt_auth_cookie_cut1;',
    `    ${cut}`,
    '}',
    'map $jwt_auth_cookie_cut2 $jwt_auth_cookie_cut3 {',
    '    default $jwt_auth_cookie_cut2;',
    `    "~(^|;)[ \\t]*${literal}=" "";`,
    '}',
    "# The cuts run only on a header that can hold the token cookie: nginx evaluates a map's value",
    '# only when it is chosen, and one unanchored search costs a quarter of what the three cuts cost a',
    "# browser's cookies that hold no token (BENCHMARKS.md).",
    'map $http_cookie $jwt_auth_app_cookie {',
    '    default $http_cookie;',
    `    "~${literal}=" $jwt_auth_cookie_cut3;`,
    '}',
  ];
}
