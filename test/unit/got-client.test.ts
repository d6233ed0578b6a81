import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { extendGot } from '../../src/got-client.js';

describe('extendGot', () => {
  test('carries the options given, with no cache options left for got to copy into every request', () => {
    const client = extendGot({ method: 'POST', retry: { limit: 0 }, timeout: { request: 1234 }, followRedirect: false });
    const { options } = client.defaults;
    assert.equal(options.method, 'POST');
    assert.equal(options.retry.limit, 0);
    assert.equal(options.timeout.request, 1234);
    assert.equal(options.followRedirect, false);
    assert.deepEqual(options.cacheOptions, {});
  });

  test('its defaults are frozen, as got.extend leaves them: nothing can change them later', () => {
    const { options } = extendGot({ method: 'POST' }).defaults;
    assert.throws(() => {
      options.method = 'PUT';
    }, TypeError);
    assert.equal(options.method, 'POST');
  });
});
