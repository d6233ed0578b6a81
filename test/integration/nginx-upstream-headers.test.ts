/**
 * What the app behind nginx receives besides identity: the client's Host with its port, and the
 * client's cookies without the token cookie (jwt-auth-http.conf's $jwt_auth_app_cookie), however
 * the token cookie sits among the others. Through the real nginx and the Flask echo app, in the
 * demo's cookie mode. Needs nginx and Flask (skipped without, failing under CI=true).
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { DEMO_SERVICE_ENV, useStack } from '../../support/stack.js';

const SUITE = { skip: requireOrSkip(nginxPrerequisite(), flaskPrerequisite()), timeout: 120_000 };

interface Echo {
  headers: Record<string, string>;
  identity: Record<string, string>;
}

describe('what the app receives through nginx', SUITE, () => {
  const { stack: s, spec } = useStack('upstream-headers', { serviceEnv: DEMO_SERVICE_ENV });
  const alice = () => s().mint({ sub: 'alice', roles: ['admin'] });

  /**
   * The app's view of a request carrying `cookie` (in which TOKEN stands for a valid token). Without
   * TOKEN in it, the token goes in Authorization.
   */
  async function appSees(cookie: string, headers: Record<string, string> = {}): Promise<Echo> {
    const token = await alice();
    const credentials = cookie.includes('TOKEN') ? {} : { authorization: `Bearer ${token}` };
    const res = await s().request('/echo', { headers: { cookie: cookie.replaceAll('TOKEN', token), ...credentials, ...headers } });
    assert.equal(res.status, 200, res.text());
    const echo = res.json<Echo>();
    assert.equal(echo.identity['X-Auth-User'], 'alice', 'the request was let in');
    // (A Bearer token reaches the app in Authorization, as it was sent: that is not this test's subject.)
    for (const [name, value] of Object.entries(echo.headers)) {
      if (!(name === 'Authorization' && 'authorization' in credentials)) assert.ok(!value.includes(token), `the app received the token in ${name}`);
    }
    return echo;
  }

  const rows: Array<{ name: string; cookie: string; app: string | undefined }> = [
    { name: 'alone', cookie: 'jwt_auth=TOKEN', app: undefined },
    { name: 'first', cookie: 'jwt_auth=TOKEN; theme=dark', app: 'theme=dark' },
    { name: 'last', cookie: 'theme=dark; jwt_auth=TOKEN', app: 'theme=dark;' },
    { name: 'among others', cookie: 'theme=dark; jwt_auth=TOKEN; lang=en', app: 'theme=dark;lang=en' },
    { name: 'without spaces', cookie: 'theme=dark;jwt_auth=TOKEN;lang=en', app: 'theme=dark;lang=en' },
    { name: 'twice', cookie: 'jwt_auth=TOKEN; theme=dark; jwt_auth=TOKEN', app: 'theme=dark;' },
    { name: 'three times (the whole header is dropped)', cookie: 'jwt_auth=TOKEN; a=1; jwt_auth=TOKEN; b=2; jwt_auth=TOKEN', app: undefined },
    { name: 'absent (the header passes byte for byte)', cookie: 'theme=dark; lang=en', app: 'theme=dark; lang=en' },
    { name: 'absent beside a look-alike name (byte for byte)', cookie: 'xjwt_auth=1; lang=en', app: 'xjwt_auth=1; lang=en' },
    { name: 'beside look-alike names, which stay', cookie: 'xjwt_auth=1; jwt_auth=TOKEN; jwt_auth_theme=2', app: 'xjwt_auth=1;jwt_auth_theme=2' },
  ];
  for (const { name, cookie, app } of rows) {
    spec(`the token cookie ${name}: the app gets ${app === undefined ? 'no Cookie header' : JSON.stringify(app)}`, async () => {
      assert.equal((await appSees(cookie)).headers.Cookie, app);
    });
  }

  spec("the app gets the client's Host with its port", async () => {
    assert.equal((await appSees('jwt_auth=TOKEN')).headers.Host, `127.0.0.1:${s().nginx.port}`);
    assert.equal((await appSees('jwt_auth=TOKEN', { host: 'app.example:8443' })).headers.Host, 'app.example:8443');
  });
});
