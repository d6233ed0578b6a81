import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { exportJWK } from 'jose';
import { ALGORITHMS } from '../../src/algorithms.js';
import { remoteKeySet, type RemoteKeySet, type RemoteKeySetOptions } from '../../src/jwks/index.js';
import { createLogger } from '../../src/logging.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { ManualClock } from '../../support/clock.js';
import { DISCOVERY_PATH, startJwksServer, type JwksServer } from '../../support/jwks-server.js';
import { generatePair, pairFor } from '../../support/keys.js';
import { waitUntil } from '../../support/wait.js';

const MIN_CACHE = 1_000;
const MAX_CACHE = 10_000;
const MAX_STALE = 5_000;
const COOLDOWN = 1_000;
const RETRY_MIN = 100;
const RETRY_MAX = 400;

const otherPair = generatePair('ES256');
const jwk = async (kid: string, members: Record<string, unknown> = {}, pair = pairFor('ES256')): Promise<object> => ({
  ...(await exportJWK(pair.publicKey)),
  kid,
  alg: 'ES256',
  ...members,
});

interface Harness {
  readonly set: RemoteKeySet;
  readonly clock: ManualClock;
  readonly metrics: Metrics;
  /** Log lines with this message. */
  lines(msg: string): Array<Record<string, unknown>>;
}

let server: JwksServer;
const open: RemoteKeySet[] = [];
before(async () => {
  server = await startJwksServer();
});
afterEach(() => {
  for (const set of open.splice(0)) set.close();
});
after(() => server.close());

/** A key set on a manual clock: its timers run when the test says, its fetches are real. */
function harness(overrides: Partial<RemoteKeySetOptions> = {}): Harness {
  const logs: string[] = [];
  const clock = new ManualClock();
  const metrics = createMetrics({ version: 'test', defaultMetrics: false });
  const set = remoteKeySet({
    issuer: server.issuer,
    url: server.jwksUrl,
    algorithms: ALGORITHMS,
    minCacheMs: MIN_CACHE,
    maxCacheMs: MAX_CACHE,
    maxStaleMs: MAX_STALE,
    unknownKidCooldownMs: COOLDOWN,
    retryMinMs: RETRY_MIN,
    retryMaxMs: RETRY_MAX,
    timeoutMs: 5_000,
    maxBytes: 64 * 1024,
    allowInsecureHttp: false,
    logger: createLogger('debug', { write: (line: string) => void logs.push(line) }),
    metrics: metrics.jwks,
    clock,
    ...overrides,
  });
  open.push(set);
  const lines = (msg: string): Array<Record<string, unknown>> =>
    logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === msg);
  return { set, clock, metrics, lines };
}

/** Starts the set and waits for its first fetch to end. */
async function started(h: Harness): Promise<Harness> {
  h.set.start();
  await h.set.idle();
  return h;
}

/** Runs the next timer (a refresh or a retry) and waits for the fetch it starts. */
async function runNextFetch(h: Harness): Promise<void> {
  assert.ok(h.clock.runNext(), 'a refresh or retry should be scheduled');
  await h.set.idle();
}

const kidsOf = (set: RemoteKeySet): string[] => set.current().verification.map((key) => key.kid);

async function metricText(metrics: Metrics): Promise<string> {
  return metrics.registry.metrics();
}

describe('a remote key set', () => {
  test('is not ready before its first fetch, then holds the keys, fresh, with no signing key', async () => {
    server.serveKeys([await jwk('k1')]);
    const h = harness();
    assert.equal(h.set.ready, false);
    assert.equal(h.set.usable, false);
    assert.equal(h.set.health().state, 'unavailable');
    await started(h);
    assert.equal(h.set.ready, true);
    assert.equal(h.set.usable, true);
    assert.deepEqual(kidsOf(h.set), ['k1']);
    assert.equal(h.set.current().signing, undefined);
    assert.deepEqual(h.set.health(), { state: 'fresh', keys: 1, ageMs: 0, lastError: undefined, url: server.jwksUrl });
    assert.equal(h.lines('JWKS keys installed').length, 1);
  });

  test('an http URL to a host that is not loopback is refused when the set is made, before any network', () => {
    assert.throws(() => harness({ url: 'http://keys.example.com/jwks' }), /plain http:\/\/ is only fetched from loopback hosts/);
    assert.throws(() => harness({ minCacheMs: 20_000 }), /minCacheMs must not be more than maxCacheMs/);
    assert.throws(() => harness({ url: undefined, issuer: 'https://idp.example.com/?x=1' }), /cannot be discovered: an issuer URL must not have a \?query/);
  });

  test('is refreshed in the background before its lifetime ends; the server max-age bounded to [min, max]', async () => {
    server.serveKeys([await jwk('k1')], 'max-age=3600');
    const h = await started(harness());
    assert.equal((h.clock.nextAt ?? 0) - h.clock.now(), MAX_CACHE * 0.8);
    server.serveKeys([await jwk('k1')], 'max-age=0');
    await runNextFetch(h);
    assert.equal((h.clock.nextAt ?? 0) - h.clock.now(), MIN_CACHE * 0.8);
    server.serveKeys([await jwk('k1')], 'max-age=5');
    await runNextFetch(h);
    assert.equal((h.clock.nextAt ?? 0) - h.clock.now(), 4_000);
    assert.equal(h.set.health().state, 'fresh');
  });

  test('a refresh with the same keys changes nothing readers see; one with new keys swaps the snapshot and tells listeners', async () => {
    server.serveKeys([await jwk('k1')]);
    const h = await started(harness());
    const first = h.set.current();
    let changes = 0;
    h.set.onChange(() => changes++);
    await runNextFetch(h);
    assert.equal(h.set.current(), first);
    assert.equal(changes, 0);
    server.serveKeys([await jwk('k2')]);
    await runNextFetch(h);
    assert.deepEqual(kidsOf(h.set), ['k2']);
    assert.equal(changes, 1);
  });

  test('key rotation: a new kid is known once refreshForKid settles, on the first request that needs it', async () => {
    server.serveKeys([await jwk('old')]);
    const h = await started(harness());
    server.serveKeys([await jwk('old'), await jwk('new', {}, otherPair)]);
    const fetches = server.count();
    const refreshed = h.set.refreshForKid('new');
    assert.ok(refreshed);
    assert.equal(await refreshed, true);
    assert.equal(server.count(), fetches + 1);
    assert.deepEqual(kidsOf(h.set), ['old', 'new']);
    assert.equal(await h.set.refreshForKid('new'), true, 'a known kid needs no fetch');
    assert.equal(server.count(), fetches + 1);
  });

  test('a flood of unknown kids costs one fetch: concurrent ones share it, later ones wait for the cooldown', async () => {
    // Cached long enough that no background refresh runs during the test.
    server.serveKeys([await jwk('k1')], 'max-age=3600');
    const h = await started(harness({ unknownKidNegativeMs: 5 * COOLDOWN }));
    const fetches = server.count();
    const flood = Array.from({ length: 200 }, () => h.set.refreshForKid(randomUUID()));
    assert.ok(flood.every((promise) => promise !== undefined));
    assert.deepEqual(new Set(await Promise.all(flood)), new Set([false]));
    assert.equal(server.count(), fetches + 1);
    // Within the cooldown, no fetch at all.
    for (let i = 0; i < 200; i++) assert.equal(h.set.refreshForKid(randomUUID()), undefined);
    assert.equal(server.count(), fetches + 1);
    // After it, one more; a kid that was missed stays missed (negative cache) even then.
    h.clock.advance(COOLDOWN);
    const missed = 'missed-kid';
    assert.equal(await h.set.refreshForKid(missed), false);
    assert.equal(server.count(), fetches + 2);
    h.clock.advance(COOLDOWN);
    assert.equal(h.set.refreshForKid(missed), undefined);
    assert.equal(server.count(), fetches + 2);
    // A new kid after the cooldown: one more fetch.
    assert.equal(await h.set.refreshForKid(randomUUID()), false);
    assert.equal(server.count(), fetches + 3);
    assert.equal(h.lines('JWKS refetch for an unknown kid').length, 3);
  });

  test('a missed kid that the IdP publishes later is found by the next refresh', async () => {
    server.serveKeys([await jwk('k1')]);
    const h = await started(harness({ unknownKidNegativeMs: 60_000 }));
    assert.equal(await h.set.refreshForKid('early'), false);
    server.serveKeys([await jwk('k1'), await jwk('early', {}, otherPair)]);
    await runNextFetch(h);
    assert.deepEqual(kidsOf(h.set), ['k1', 'early']);
    assert.equal(await h.set.refreshForKid('early'), true);
  });

  test('a slow server: one fetch in flight, whatever asks for more', async () => {
    server.answer({ delayMs: 300, keys: [await jwk('slow')] });
    const h = harness();
    const fetches = server.count();
    h.set.start();
    const waiting = Array.from({ length: 20 }, () => h.set.refreshForKid('slow'));
    await h.set.idle();
    assert.equal(server.count(), fetches + 1);
    assert.deepEqual(await Promise.all(waiting), Array(20).fill(true));
  });

  test('a slow server past the timeout is a failed fetch, retried', async () => {
    server.answer({ delayMs: 2_000, keys: [await jwk('late')] });
    const h = await started(harness({ timeoutMs: 100 }));
    assert.equal(h.set.ready, false);
    assert.match(h.set.health().lastError ?? '', /^timeout: /);
    assert.equal(h.clock.pending, 1, 'a retry is scheduled');
  });

  test('server down at start: not ready, retried with backoff, ready when it comes up', async () => {
    server.serveKeys([await jwk('k1')]);
    await server.down();
    try {
      const h = await started(harness());
      assert.equal(h.set.ready, false);
      assert.equal(h.set.usable, false);
      assert.match(h.set.health().lastError ?? '', /^network: ECONNREFUSED/);
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) {
        delays.push((h.clock.nextAt ?? 0) - h.clock.now());
        await runNextFetch(h);
      }
      for (const [i, delay] of delays.entries()) {
        const backoff = Math.min(RETRY_MAX, RETRY_MIN * 2 ** i);
        assert.ok(delay >= backoff / 2 && delay <= backoff, `retry ${i}: ${delay} ms, expected within [${backoff / 2}, ${backoff}]`);
      }
      assert.equal(h.set.ready, false);
      assert.equal(h.lines('JWKS fetch failed: no keys yet').length, 5);
      await server.up();
      await runNextFetch(h);
      assert.equal(h.set.ready, true);
      assert.equal(h.set.usable, true);
      assert.equal(h.set.health().lastError, undefined);
      assert.equal(h.lines('JWKS fetched again after failures')[0]?.failures, 5);
    } finally {
      await server.up().catch(() => undefined);
    }
  });

  test('server down later: the last good keys serve, stale, until the bound, then the set is unusable; back up, usable again', async () => {
    server.serveKeys([await jwk('k1')]);
    const h = await started(harness());
    const goodAt = h.clock.now();
    await server.down();
    try {
      // Retries until the bound: fresh, then stale, usable throughout.
      const seen = new Set<string>();
      while (h.clock.now() + RETRY_MAX < goodAt + MIN_CACHE + MAX_STALE) {
        await runNextFetch(h);
        assert.equal(h.set.usable, true, `usable at +${h.clock.now() - goodAt} ms`);
        seen.add(h.set.health().state);
      }
      assert.deepEqual([...seen].sort(), ['fresh', 'stale']);
      assert.ok(h.lines('JWKS fetch failed: serving stale keys').length > 0);
      h.clock.advance(goodAt + MIN_CACHE + MAX_STALE - h.clock.now() - 1);
      assert.equal(h.set.usable, true, 'usable until the bound');
      h.clock.advance(1);
      assert.equal(h.set.usable, false, 'unusable at the bound');
      assert.equal(h.set.health().state, 'unavailable');
      // The keys are still there for whoever asks why; the verifier decides by `usable`.
      assert.deepEqual(kidsOf(h.set), ['k1']);
      assert.equal(h.set.ready, true);
      assert.equal(h.set.refreshForKid('k1') === undefined, false, 'an unusable set may fetch for a kid');
      await h.set.idle();
      assert.ok(h.lines('JWKS fetch failed: keys unavailable').length > 0);
      await server.up();
      await runNextFetch(h);
      assert.equal(h.set.usable, true);
      assert.equal(h.set.health().state, 'fresh');
    } finally {
      await server.up().catch(() => undefined);
    }
  });

  test('500s and garbage keep the last good keys', async () => {
    server.serveKeys([await jwk('k1')]);
    const h = await started(harness());
    for (const [answer, result] of [
      [{ status: 500, body: 'no' }, 'http_error'],
      [{ body: 'not json' }, 'invalid'],
      [{ body: { keys: {} } }, 'invalid'],
    ] as const) {
      server.answer(answer);
      await runNextFetch(h);
      assert.deepEqual(kidsOf(h.set), ['k1']);
      assert.equal(h.set.health().lastError?.split(':')[0], result);
    }
  });

  test('an empty set, or one whose keys are all ignored, is a failed refresh: the good keys stay', async () => {
    server.serveKeys([await jwk('k1')]);
    const h = await started(harness());
    server.serveKeys([]);
    await runNextFetch(h);
    assert.deepEqual(kidsOf(h.set), ['k1']);
    assert.equal(h.set.health().lastError, 'no_keys: no usable key: the set is empty');
    server.serveKeys([await jwk('enc', { use: 'enc' })]);
    await runNextFetch(h);
    assert.deepEqual(kidsOf(h.set), ['k1']);
    assert.equal(h.set.health().lastError, 'no_keys: no usable key: all 1 keys in it are ignored');
  });

  test('an ignored key is logged once, not on every refresh', async () => {
    server.serveKeys([await jwk('k1'), await jwk('enc', { use: 'enc' }), await jwk('dup'), await jwk('dup', {}, otherPair)]);
    const h = await started(harness());
    for (let i = 0; i < 3; i++) await runNextFetch(h);
    assert.deepEqual(kidsOf(h.set), ['k1']);
    assert.deepEqual(
      h.lines('JWKS key ignored').map((line) => [line.kid, line.issuer, line.url]),
      [
        ['enc', server.issuer, server.jwksUrl],
        // Both keys under the kid are ignored for one reason: one line.
        ['dup', server.issuer, server.jwksUrl],
      ],
    );
  });

  test('keys without alg serve every allowed algorithm their type fits; oct keys never', async () => {
    const rsa = { ...(await exportJWK(pairFor('RS256').publicKey)), kid: 'entra' };
    server.serveKeys([rsa, { kty: 'oct', k: Buffer.alloc(32, 7).toString('base64url'), kid: 'secret' }]);
    const h = await started(harness({ algorithms: ['RS256', 'PS256', 'HS256'] }));
    assert.deepEqual(
      h.set.current().verification.map((key) => `${key.kid} ${key.alg}`),
      ['entra RS256', 'entra PS256'],
    );
    assert.match(String(h.lines('JWKS key ignored')[0]?.reason), /shared secret/);
  });

  test('with discovery, the jwks_uri comes from the issuer document; a document naming another issuer keeps the set unready', async () => {
    server.serveKeys([await jwk('discovered')]);
    server.answerDiscovery({ body: { issuer: server.issuer, jwks_uri: server.jwksUrl } });
    const discovered = await started(harness({ url: undefined }));
    assert.deepEqual(kidsOf(discovered.set), ['discovered']);
    assert.equal(discovered.set.health().url, server.jwksUrl);

    server.answerDiscovery({ body: { issuer: `${server.issuer}/other`, jwks_uri: server.jwksUrl } });
    const asked = server.count(DISCOVERY_PATH);
    const refused = await started(harness({ url: undefined }));
    assert.equal(server.count(DISCOVERY_PATH), asked + 1);
    assert.equal(refused.set.ready, false);
    assert.match(refused.set.health().lastError ?? '', /^invalid: .* names the issuer ".*\/other", not ".*": it must be the same exactly/);
    server.answerDiscovery({ body: { issuer: server.issuer, jwks_uri: server.jwksUrl } });
  });

  test('metrics: fetches by issuer and result, keys, key age and usability per issuer', async () => {
    server.serveKeys([await jwk('k1'), await jwk('k2', {}, otherPair)]);
    const h = await started(harness());
    server.answer({ status: 503 });
    await runNextFetch(h);
    h.clock.advance(1_500);
    const text = await metricText(h.metrics);
    const issuer = `issuer="${server.issuer}"`;
    assert.match(text, new RegExp(`jwt_auth_jwks_fetches_total\\{${issuer},result="ok"\\} 1\\n`));
    assert.match(text, new RegExp(`jwt_auth_jwks_fetches_total\\{${issuer},result="http_error"\\} 1\\n`));
    assert.match(text, new RegExp(`jwt_auth_jwks_fetches_total\\{${issuer},result="too_large"\\} 0\\n`));
    assert.match(text, new RegExp(`jwt_auth_jwks_keys\\{${issuer}\\} 2\\n`));
    const age = Number(new RegExp(`jwt_auth_jwks_key_age_seconds\\{${issuer}\\} ([\\d.]+)\\n`).exec(text)?.[1]);
    assert.ok(age >= 1.5, `key age ${age}`);
    assert.match(text, new RegExp(`jwt_auth_jwks_usable\\{${issuer}\\} 1\\n`));
    h.set.close();
    assert.doesNotMatch(await metricText(h.metrics), /jwt_auth_jwks_keys\{/);
  });

  test('close stops timers and fetches; the keys stay readable', async () => {
    server.serveKeys([await jwk('k1')]);
    const h = await started(harness());
    h.set.close();
    assert.equal(h.clock.pending, 0);
    assert.equal(h.set.refreshForKid('new'), undefined);
    assert.deepEqual(kidsOf(h.set), ['k1']);
  });
});

describe('a remote key set on the wall clock', () => {
  test('refreshes on its own and recovers from a server down at start', async () => {
    server.serveKeys([await jwk('k1')]);
    await server.down();
    const set = remoteKeySet({
      issuer: server.issuer,
      url: server.jwksUrl,
      algorithms: ['ES256'],
      minCacheMs: 50,
      maxCacheMs: 50,
      maxStaleMs: 1_000,
      unknownKidCooldownMs: 10,
      retryMinMs: 10,
      retryMaxMs: 20,
      timeoutMs: 5_000,
      maxBytes: 64 * 1024,
      allowInsecureHttp: false,
      logger: createLogger('silent'),
    });
    open.push(set);
    try {
      set.start();
      await set.idle();
      assert.equal(set.ready, false);
      await server.up();
      await waitUntil(() => set.ready, 'the set to fetch its keys once the server is up');
      const fetches = server.count();
      await waitUntil(() => server.count() >= fetches + 2, 'background refreshes');
      assert.equal(set.usable, true);
    } finally {
      await server.up().catch(() => undefined);
    }
  });
});
