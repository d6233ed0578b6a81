/**
 * A real OpenID Provider (oidc-provider, on loopback) in front of a real nginx with the shipped
 * snippets: its client-credentials access tokens pass through OIDC_ISSUER alone, beside the
 * service's own tokens; when its key server stops, its tokens keep passing on the last good keys
 * until the staleness bound, are then denied with issuer_keys_unavailable (the service's own tokens
 * still pass), and pass again once it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OP_API, OP_CLIENT_ID, startOpenIdProvider, type OpenIdProvider } from '../../support/oidc-provider.js';
import { payloadOf, headerOf } from '../../support/jws.js';
import { flaskPrerequisite, nginxPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startStack, withDiagnostics, type Stack } from '../../support/stack.js';
import { pollUntil } from '../../support/wait.js';

const skip = requireOrSkip(nginxPrerequisite(), flaskPrerequisite());

interface Echo {
  identity: Record<string, string>;
}

describe('tokens of a real OpenID Provider through nginx', { skip, timeout: 120_000 }, () => {
  let op: OpenIdProvider;
  let stack: Stack;
  before(async () => {
    op = await startOpenIdProvider();
    stack = await startStack('openid-provider', {
      serviceEnv: {
        OIDC_ISSUER: op.issuer,
        OIDC_AUDIENCE: OP_API,
        // Short bounds so the outage plays out within the test: keys live 2 s, then serve stale for 4 s more.
        JWKS_CACHE_MIN: '2s',
        JWKS_CACHE_MAX: '2s',
        JWKS_MAX_STALE: '4s',
      },
    });
  });
  after(async () => {
    await stack?.stop();
    await op?.close();
  });
  const spec = (name: string, body: () => Promise<void>) =>
    test(
      name,
      withDiagnostics(() => stack, body),
    );
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  spec('a client-credentials access token (RFC 9068, for the API by resource indicator) opens a protected page', async () => {
    const token = await op.accessToken();
    assert.equal(headerOf(token).typ, 'at+jwt');
    assert.equal(payloadOf(token).aud, OP_API);
    const res = await stack.request('/whoami', bearer(token));
    assert.equal(res.status, 200, res.text());
    assert.equal(res.json<Echo>().identity['X-Auth-User'], OP_CLIENT_ID);
  });

  spec("the service's own tokens pass beside the provider's", async () => {
    assert.equal((await stack.request('/whoami', bearer(await stack.mint({ sub: 'alice' })))).status, 200);
  });

  spec('a token the provider issued for another API is denied', async () => {
    const res = await stack.request('/whoami', bearer(await op.accessToken({ resource: 'https://other-api.example.test' })));
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-auth-error'], 'token_claims_invalid');
  });

  spec('its key server stopped: tokens pass on the last good keys, then are denied after the bound, and pass again once it is back', async () => {
    const token = await op.accessToken();
    const own = await stack.mint({ sub: 'alice' });
    assert.equal((await stack.request('/whoami', bearer(token))).status, 200);
    await op.stop();
    const stoppedAt = Date.now();
    // Within the bound (the keys were fetched less than 2 s ago, and serve 4 s past that).
    const during = await stack.request('/whoami', bearer(token));
    assert.equal(during.status, 200, `${Date.now() - stoppedAt} ms after the stop`);

    const answer = async (): Promise<string> => {
      const res = await stack.request('/whoami', bearer(token));
      return res.status === 200 ? 'allowed' : String(res.headers['x-auth-error']);
    };
    await pollUntil(answer, (seen) => seen === 'issuer_keys_unavailable', 'the denial once the staleness bound has passed', {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    assert.ok(Date.now() - stoppedAt >= 3000, 'not before the keys were stale past their bound');
    assert.equal((await stack.request('/whoami', bearer(own))).status, 200, "the service's own tokens are not the provider's");

    await op.start();
    await pollUntil(answer, (seen) => seen === 'allowed', 'the provider back', { timeoutMs: 30_000, intervalMs: 200 });
  });
});
