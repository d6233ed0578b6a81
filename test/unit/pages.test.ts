/**
 * The browser pages' pure parts: where a browser may be sent after signing in or out (no `next` a
 * link can carry takes it off this site or back to the sign-in page), what a person reads when
 * signing in fails, and that every value in a page is escaped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeNeeds } from '../../src/http/routes/pages.js';
import { refusedSentence, rejectedSentence, waitFor } from '../../src/pages/messages.js';
import { nextFromQuery, safeDestination } from '../../src/pages/next.js';
import { createPageRenderer } from '../../src/pages/render.js';
import { parsePolicy } from '../../src/policy.js';

describe('nextFromQuery: the destination a sign-in URL carries', () => {
  const rows: Array<[query: string, next: string | undefined]> = [
    ['next=/admin/?tab=users&sort=name', '/admin/?tab=users&sort=name'],
    ['next=%2Fadmin%2F%3Ftab%3Dusers%26sort%3Dname', '/admin/?tab=users&sort=name'],
    ['lang=en&next=%2Fa%3Fb%3D1', '/a?b=1'],
    ['lang=en', undefined],
    ['', undefined],
  ];
  for (const [query, next] of rows) test(`?${query}`, () => assert.equal(nextFromQuery(query), next));
});

describe('safeDestination: only a page of this site, never the sign-in page', () => {
  const rules = { origin: 'http://app.example:8080', refusedPaths: ['/login'], fallback: '/whoami' };
  const rows: Array<[candidate: string | undefined, lands: string]> = [
    ['/admin/?tab=users&sort=name', '/admin/?tab=users&sort=name'],
    ['/admin/report?q=a%26b%20c&next=%2F&x=1', '/admin/report?q=a%26b%20c&next=%2F&x=1'],
    ['http://app.example:8080/a?b', '/a?b'],
    [undefined, '/whoami'],
    ['', '/whoami'],
    ['//evil.example/', '/whoami'],
    ['/\\evil.example/', '/whoami'],
    ['/\t/evil.example/', '/whoami'],
    ['\t//evil.example', '/whoami'],
    ['/.//evil.example/', '/whoami'],
    ['/a/..//evil.example/', '/whoami'],
    ['https://evil.example/', '/whoami'],
    ['https://app.example:8080/', '/whoami'],
    ['http://app.example/', '/whoami'],
    ['javascript:alert(1)', '/whoami'],
    ['blob:http://app.example:8080/00000000-0000-0000-0000-000000000000', '/whoami'],
    ['data:text/html,hi', '/whoami'],
    ['/login', '/whoami'],
    ['/login?next=/login', '/whoami'],
    ['/%6Cogin', '/whoami'],
    ['//login', '/whoami'],
    ['/%09/evil.example/', '/%09/evil.example/'],
    ['/a b', '/a%20b'],
    ['/x\r\nSet-Cookie: a=b', '/xSet-Cookie:%20a=b'],
  ];
  for (const [candidate, lands] of rows) test(`${JSON.stringify(candidate)} → ${lands}`, () => assert.equal(safeDestination(candidate, rules), lands));

  test('without a known origin only relative destinations are followed, and the answer is always a path', () => {
    const unknown = { ...rules, origin: undefined };
    assert.equal(safeDestination('/a?b=1', unknown), '/a?b=1');
    assert.equal(safeDestination('http://app.example:8080/a', unknown), '/whoami');
  });
});

describe('what a person reads when signing in fails', () => {
  test('a refused password', () => assert.equal(rejectedSentence(401), 'The username or password is not right. Check them and try again.'));
  test('too many attempts says how long to wait', () => {
    assert.equal(refusedSentence('rate_limited', 900), 'Too many sign-in attempts. Please wait 15 minutes and try again.');
    assert.equal([waitFor(1), waitFor(45), waitFor(60), waitFor(61)].join(', '), '1 second, 45 seconds, 1 minute, 2 minutes');
  });
  test('the authenticator down, slow or broken is one sentence', () => {
    const sentences = new Set(
      (['authenticator_unavailable', 'authenticator_timeout', 'authenticator_bad_response'] as const).map((code) => refusedSentence(code, undefined)),
    );
    assert.deepEqual([...sentences], ['Signing in is not possible right now: the account service is not answering. Please try again in a few minutes.']);
  });
  test('no sentence names a code', () => {
    for (const code of ['rate_limited', 'cross_site_request', 'body_malformed', 'issued_token_too_long', 'not_found', 'internal_error'] as const)
      assert.doesNotMatch(refusedSentence(code, 60), /_/);
  });
  test('what a location needs, in words', () => {
    assert.equal(describeNeeds(parsePolicy('role=admin', '')), 'the role admin');
    assert.equal(describeNeeds(parsePolicy('role=admin,editor;scope=read,write', '')), 'one of the roles admin, editor and the scopes read and write');
    assert.equal(describeNeeds(parsePolicy('', '')), undefined);
  });
});

describe('pages: every value is escaped, and the policy lets in nothing foreign', () => {
  const render = createPageRenderer({ siteName: 'Acme <b>&</b>', template: undefined, extraStyle: '' });
  test('the site name, a person and a form action cannot add markup', () => {
    const page = render.forbidden({
      person: { name: '<img src=x onerror=alert(1)>', subject: '"alice"' },
      needs: 'the role <script>',
      switchAction: '/logout?next="><script>',
      signInHref: '/login',
    });
    assert.equal(page.status, 403);
    for (const raw of ['<b>&</b>', '<img', 'the role <script>', '"alice"', '"><script>']) assert.ok(!page.body.includes(raw), `${raw} is in the page`);
    assert.match(page.body, /Acme &#60;b&#62;&#38;&#60;\/b&#62;/);
  });
  test('a template placeholder inside a value is not expanded', () => {
    const custom = createPageRenderer({ siteName: '{{content}}', template: '<title>{{site_name}}</title>{{content}}', extraStyle: '' });
    assert.equal(custom.problem({ status: 500, title: 't', sentence: 's' }).body, '<title>{{content}}</title><h1>t</h1>\n<p>s</p>');
  });
  test('Content-Security-Policy: no external asset, forms post here only, never framed', () => {
    const { headers } = render.signIn({ action: '/login' });
    const csp = headers['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    assert.equal(headers['cache-control'], 'no-store');
  });
});
