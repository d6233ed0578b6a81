import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cacheLifetimeMs, maxAgeSeconds } from '../../../src/jwks/cache-control.js';
import { discoveryUrlOf, issuerUrlProblem } from '../../../src/jwks/discovery.js';
import { isLoopbackHost, keySetUrlProblem } from '../../../src/jwks/url.js';

describe('which URLs keys are fetched from', () => {
  test('https anywhere; http only on loopback hosts', () => {
    for (const url of ['https://idp.example.com/jwks', 'http://127.0.0.1:8080/jwks', 'http://127.3.4.5/k', 'http://[::1]:9/k', 'http://localhost/k']) {
      assert.equal(keySetUrlProblem(url, false), undefined, url);
    }
    for (const url of ['http://idp.example.com/jwks', 'http://10.0.0.1/jwks', 'http://[::ffff:10.0.0.1]/', 'http://localhost.example.com/']) {
      assert.match(keySetUrlProblem(url, false) ?? '', /plain http:\/\/ is only fetched from loopback hosts/, url);
      assert.equal(keySetUrlProblem(url, true), undefined, url);
    }
  });

  test('numeric spellings of a loopback address are loopback; look-alikes are not', () => {
    assert.equal(keySetUrlProblem('http://2130706433/jwks', false), undefined);
    assert.equal(isLoopbackHost('127.0.0.1'), true);
    assert.equal(isLoopbackHost('127.example.com'), false);
    assert.equal(isLoopbackHost('128.0.0.1'), false);
  });

  test('other schemes, credentials, fragments and non-URLs are refused', () => {
    assert.match(keySetUrlProblem('file:///etc/jwks.json', true) ?? '', /file: URLs are not fetched/);
    assert.match(keySetUrlProblem('https://user:pw@idp.example.com/jwks', false) ?? '', /user name or password/);
    assert.match(keySetUrlProblem('https://idp.example.com/jwks#x', false) ?? '', /#fragment/);
    assert.match(keySetUrlProblem('/jwks', false) ?? '', /not an absolute URL/);
  });

  test('an issuer has no query; its discovery URL drops one trailing slash (OpenID Discovery §4)', () => {
    assert.match(issuerUrlProblem('https://idp.example.com/?tenant=1', false) ?? '', /must not have a \?query/);
    assert.equal(issuerUrlProblem('https://idp.example.com/realms/demo', false), undefined);
    assert.equal(discoveryUrlOf('https://idp.example.com/realms/demo'), 'https://idp.example.com/realms/demo/.well-known/openid-configuration');
    assert.equal(discoveryUrlOf('https://idp.example.com/'), 'https://idp.example.com/.well-known/openid-configuration');
    assert.equal(discoveryUrlOf('https://idp.example.com'), 'https://idp.example.com/.well-known/openid-configuration');
  });
});

describe('how long a fetched set is fresh', () => {
  const MIN = 60_000;
  const MAX = 3_600_000;
  const lifetime = (headers: Record<string, string>): number => cacheLifetimeMs(headers, MIN, MAX);

  test('max-age, bounded to [min, max]', () => {
    assert.equal(lifetime({ 'cache-control': 'public, max-age=600' }), 600_000);
    assert.equal(lifetime({ 'cache-control': 'max-age=5' }), MIN);
    assert.equal(lifetime({ 'cache-control': 'max-age=999999' }), MAX);
    assert.equal(lifetime({ 'cache-control': 'Max-Age="900", must-revalidate' }), 900_000);
  });

  test("a cache's Age is deducted", () => {
    assert.equal(lifetime({ 'cache-control': 'max-age=600', age: '500' }), 100_000);
    assert.equal(lifetime({ 'cache-control': 'max-age=600', age: '5000' }), MIN);
  });

  test('no header, no-cache, no-store, a malformed or repeated max-age: the minimum', () => {
    for (const value of [undefined, 'no-cache', 'max-age=600, no-store', 'max-age=ten', 'max-age=-5', 'max-age=60, max-age=6000', 'max-age=']) {
      assert.equal(lifetime(value === undefined ? {} : { 'cache-control': value }), MIN, String(value));
    }
    assert.equal(maxAgeSeconds('s-maxage=600'), undefined);
  });
});
