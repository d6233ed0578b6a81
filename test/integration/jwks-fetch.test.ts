import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK } from 'jose';
import { ALGORITHMS } from '../../src/algorithms.js';
import { createJsonFetcher } from '../../src/jwks/fetch.js';
import { discoverJwksUri, fetchKeySetOnce, KeySetFetchError, MAX_REDIRECTS, type FetchOnceOptions, type FetchOnceReport } from '../../src/jwks/index.js';
import { startJwksServer, DISCOVERY_PATH, JWKS_PATH, type JwksServer } from '../../support/jwks-server.js';
import { pairFor } from '../../support/keys.js';
import { refusedUrl } from '../../support/stub-authenticator.js';
import { opensslProblem, selfSignedCertificate } from '../../support/tls.js';

const MAX_BYTES = 64 * 1024;
const TEN_MB = 10 * 1024 * 1024;

const jwk = async (kid: string, members: Record<string, unknown> = {}): Promise<object> => ({
  ...(await exportJWK(pairFor('ES256').publicKey)),
  kid,
  alg: 'ES256',
  ...members,
});

let server: JwksServer;
let elsewhere: JwksServer;
before(async () => {
  server = await startJwksServer();
  elsewhere = await startJwksServer({ keys: [await jwk('elsewhere')] });
});
after(async () => {
  await server.close();
  await elsewhere.close();
});

const fetchOnce = (options: Partial<FetchOnceOptions> = {}): Promise<FetchOnceReport> =>
  fetchKeySetOnce({
    issuer: server.issuer,
    url: server.jwksUrl,
    algorithms: ALGORITHMS,
    timeoutMs: 5000,
    maxBytes: MAX_BYTES,
    allowInsecureHttp: false,
    ...options,
  });

function failure(report: FetchOnceReport): { result: string; error: string } {
  assert.equal(report.ok, false, `expected a failure, got ${JSON.stringify(report)}`);
  return report.ok ? assert.fail() : { result: report.result, error: report.error };
}

describe('fetching a JWK Set once (check-config --online)', () => {
  test('reports each key with kid, algorithm and type, each ignored key with why, and the cache lifetime', async () => {
    server.serveKeys([await jwk('good'), await jwk('enc', { use: 'enc' })], 'max-age=600');
    const report = await fetchOnce();
    assert.ok(report.ok);
    assert.equal(report.url, server.jwksUrl);
    assert.deepEqual(report.keys, [{ kid: 'good', alg: 'ES256', kty: 'EC' }]);
    assert.deepEqual(report.ignored, [{ index: 1, kid: 'enc', reason: '"use" is "enc", not "sig"' }]);
    assert.equal(report.cacheMs, 600_000);
  });

  test('a 500 is an http_error', async () => {
    server.answer({ status: 500, body: 'oops' });
    assert.deepEqual(failure(await fetchOnce()), { result: 'http_error', error: 'status 500' });
  });

  test('garbage, or JSON that is not a JWK Set, is invalid', async () => {
    server.answer({ body: '<html>maintenance</html>' });
    assert.deepEqual(failure(await fetchOnce()), { result: 'invalid', error: 'the answer is not JSON' });
    server.answer({ body: { keys: 'none' } });
    assert.equal(failure(await fetchOnce()).result, 'invalid');
  });

  test('a set with no usable key is no_keys, with the ignored keys listed', async () => {
    server.serveKeys([]);
    assert.deepEqual(failure(await fetchOnce()), { result: 'no_keys', error: 'no usable key: the set is empty' });
    server.serveKeys([{ kty: 'oct', k: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', kid: 'shared', alg: 'HS256' }]);
    const report = await fetchOnce();
    assert.deepEqual(failure(report), { result: 'no_keys', error: 'no usable key: all 1 keys in it are ignored' });
    assert.equal(report.ignored[0]?.kid, 'shared');
  });

  test('a 10 MB body is cancelled at the size bound, chunked or with its Content-Length, and never sent whole', async () => {
    for (const declareLength of [false, true]) {
      server.answer({ hugeBytes: TEN_MB, declareLength });
      assert.deepEqual(failure(await fetchOnce()), { result: 'too_large', error: `the answer is larger than ${MAX_BYTES} bytes` });
    }
    assert.equal(server.hugeBodiesCompleted, 0);
    assert.ok(server.hugeBytesWritten < 2 * TEN_MB, `${server.hugeBytesWritten} bytes written`);
  });

  test('a server slower than the timeout is a timeout', async () => {
    server.answer({ delayMs: 2000, keys: [await jwk('late')] });
    assert.deepEqual(failure(await fetchOnce({ timeoutMs: 100 })), { result: 'timeout', error: 'no complete answer in time' });
  });

  test('a reset connection and a refused one are network failures', async () => {
    server.answer({ reset: true });
    assert.equal(failure(await fetchOnce()).result, 'network');
    assert.match(failure(await fetchOnce({ url: await refusedUrl() })).error, /ECONNREFUSED/);
  });

  test('a compressed answer is refused: the size bound is on the bytes we parse', async () => {
    server.answer({ keys: [await jwk('k')], headers: { 'content-encoding': 'gzip' } });
    assert.deepEqual(failure(await fetchOnce()), { result: 'invalid', error: 'content-encoding gzip' });
  });

  test(`a same-origin redirect is followed, up to ${MAX_REDIRECTS}`, async () => {
    server.route('/moved', { keys: [await jwk('moved')] });
    server.answer({ redirect: '/moved' });
    const report = await fetchOnce();
    assert.ok(report.ok);
    assert.deepEqual(
      report.keys.map((key) => key.kid),
      ['moved'],
    );
    server.route('/loop', { redirect: JWKS_PATH });
    server.answer({ redirect: '/loop' });
    assert.deepEqual(failure(await fetchOnce()), { result: 'redirect', error: `more than ${MAX_REDIRECTS} redirects` });
  });

  test('a redirect to another origin is refused, and the other origin is never asked', async () => {
    server.answer({ redirect: elsewhere.jwksUrl });
    const before = elsewhere.count();
    const { result, error } = failure(await fetchOnce());
    assert.equal(result, 'redirect');
    assert.equal(error, `status 302: a redirect to ${elsewhere.origin}, off ${server.origin}, is not followed`);
    assert.equal(elsewhere.count(), before);
  });

  test('plain http to a host that is not loopback is refused before any connection; allowed only explicitly', async () => {
    const { result, error } = failure(await fetchOnce({ url: 'http://keys.invalid/jwks' }));
    assert.equal(result, 'invalid');
    assert.match(error, /plain http:\/\/ is only fetched from loopback hosts/);
    // Allowed, it is fetched: the .invalid name (RFC 2606) never resolves.
    assert.equal(failure(await fetchOnce({ url: 'http://keys.invalid/jwks', allowInsecureHttp: true })).result, 'network');
  });
});

describe('closing the fetcher', () => {
  test('ends a fetch in flight at once, as a network failure: it never waits for its timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as AddressInfo;
    const fetcher = createJsonFetcher({ timeoutMs: 600_000, maxBytes: MAX_BYTES, allowInsecureHttp: false });
    try {
      const accepted = once(silent, 'connection');
      const pending = fetcher.get(`http://127.0.0.1:${port}${JWKS_PATH}`);
      await accepted;
      fetcher.close();
      await assert.rejects(pending, (error: unknown) => error instanceof KeySetFetchError && error.result === 'network');
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('TLS', { skip: opensslProblem() ?? false }, () => {
  let tlsServer: JwksServer;
  let cert: string;
  before(async () => {
    const certificate = selfSignedCertificate();
    cert = certificate.cert;
    tlsServer = await startJwksServer({ tls: certificate, host: 'localhost', keys: [await jwk('tls')] });
  });
  after(() => tlsServer.close());

  test('a certificate no trusted CA issued is refused', async () => {
    const { result, error } = failure(await fetchOnce({ url: tlsServer.jwksUrl }));
    assert.equal(result, 'tls');
    assert.match(error, /SELF_SIGNED/);
  });

  test('with its CA given, the set is fetched', async () => {
    const report = await fetchOnce({ url: tlsServer.jwksUrl, caPem: cert });
    assert.ok(report.ok, JSON.stringify(report));
    assert.deepEqual(
      report.keys.map((key) => key.kid),
      ['tls'],
    );
  });
});

describe('OpenID discovery', () => {
  const options = { timeoutMs: 5000, maxBytes: MAX_BYTES, allowInsecureHttp: false };

  test("the document's jwks_uri, when it names the issuer exactly", async () => {
    server.answerDiscovery({ body: { issuer: server.issuer, jwks_uri: `${server.origin}/keys` } });
    assert.equal(await discoverJwksUri(server.issuer, options), `${server.origin}/keys`);
  });

  test('an issuer with a trailing slash is looked up without it, and must be named with it', async () => {
    server.answerDiscovery({ body: { issuer: `${server.issuer}/`, jwks_uri: server.jwksUrl } });
    const asked = server.count(DISCOVERY_PATH);
    assert.equal(await discoverJwksUri(`${server.issuer}/`, options), server.jwksUrl);
    assert.equal(server.count(DISCOVERY_PATH), asked + 1);
    await assert.rejects(discoverJwksUri(server.issuer, options), /names the issuer ".*\/", not ".*": it must be the same exactly/);
  });

  test('a document naming another issuer is refused', async () => {
    server.answerDiscovery({ body: { issuer: 'https://attacker.example', jwks_uri: server.jwksUrl } });
    await assert.rejects(discoverJwksUri(server.issuer, options), (error: Error & { result?: string }) => {
      assert.equal(error.result, 'invalid');
      assert.match(error.message, /names the issuer "https:\/\/attacker.example", not "http:\/\/127.0.0.1:\d+": it must be the same exactly/);
      return true;
    });
  });

  test('a jwks_uri the URL rules refuse is refused', async () => {
    server.answerDiscovery({ body: { issuer: server.issuer, jwks_uri: 'http://keys.example.com/jwks' } });
    await assert.rejects(discoverJwksUri(server.issuer, options), /its jwks_uri http:\/\/keys.example.com\/jwks is refused: plain http/);
    server.answerDiscovery({ body: { issuer: server.issuer } });
    await assert.rejects(discoverJwksUri(server.issuer, options), /names no jwks_uri/);
  });

  test('fetching once without a URL discovers it and reports it', async () => {
    server.answerDiscovery({ body: { issuer: server.issuer, jwks_uri: server.jwksUrl } });
    server.serveKeys([await jwk('discovered')]);
    const report = await fetchOnce({ url: undefined });
    assert.ok(report.ok);
    assert.equal(report.url, server.jwksUrl);
    server.answerDiscovery({ status: 404, body: { error: 'no' } });
    const failed = await fetchOnce({ url: undefined });
    assert.deepEqual(failure(failed), { result: 'http_error', error: 'status 404' });
    assert.equal(failed.ok ? 'ok' : failed.url, undefined);
  });
});
