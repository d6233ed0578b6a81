import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { clientAddress, type TrustedProxies } from '../../src/client-address.js';
import { TrustedProxyList } from '../../src/config/index.js';

/** TRUSTED_PROXIES as the config parses it; these tests give only valid entries. */
function trustedProxies(entries: readonly string[]): TrustedProxies {
  const { proxies, refused } = TrustedProxyList.parse(entries);
  assert.deepEqual(refused, []);
  return proxies;
}

const LOOPBACK = trustedProxies(['127.0.0.1', '::1']);
const CHAIN = trustedProxies(['127.0.0.1', '10.0.0.2', '10.0.0.3']);

describe('clientAddress walks X-Forwarded-For from the right through trusted proxies only', () => {
  const rows: Array<[name: string, peer: string | undefined, headers: IncomingHttpHeaders, trusted: ReturnType<typeof trustedProxies>, expected: string]> = [
    [
      'an untrusted peer is the client, whatever it forwards',
      '203.0.113.9',
      { 'x-forwarded-for': '198.51.100.1', 'x-real-ip': '198.51.100.2' },
      LOOPBACK,
      '203.0.113.9',
    ],
    ['a trusted peer without forwarding headers is the client', '127.0.0.1', {}, LOOPBACK, '127.0.0.1'],
    ['a trusted peer vouches for the last hop', '127.0.0.1', { 'x-forwarded-for': '198.51.100.1' }, LOOPBACK, '198.51.100.1'],
    ['an IPv4-mapped IPv6 peer counts as its IPv4 address', '::ffff:127.0.0.1', { 'x-forwarded-for': '198.51.100.1' }, LOOPBACK, '198.51.100.1'],
    ['an IPv6 loopback peer', '::1', { 'x-forwarded-for': '2001:db8::7' }, LOOPBACK, '2001:db8::7'],
    [
      'a spoofed left part is ignored: the first untrusted hop from the right wins',
      '127.0.0.1',
      { 'x-forwarded-for': '6.6.6.6, 198.51.100.1' },
      LOOPBACK,
      '198.51.100.1',
    ],
    ['a chain of trusted proxies is walked through', '127.0.0.1', { 'x-forwarded-for': '198.51.100.1, 10.0.0.3, 10.0.0.2' }, CHAIN, '198.51.100.1'],
    ['the walk stops at the first untrusted hop', '127.0.0.1', { 'x-forwarded-for': '198.51.100.1, 203.0.113.5, 10.0.0.2' }, CHAIN, '203.0.113.5'],
    ['hops are trimmed and empty ones skipped', '127.0.0.1', { 'x-forwarded-for': ' 198.51.100.1 ,, ' }, LOOPBACK, '198.51.100.1'],
    ['X-Real-IP when every forwarded hop is trusted', '127.0.0.1', { 'x-forwarded-for': '10.0.0.2', 'x-real-ip': '198.51.100.4' }, CHAIN, '198.51.100.4'],
    ['X-Real-IP from a trusted peer without X-Forwarded-For', '127.0.0.1', { 'x-real-ip': '198.51.100.4' }, LOOPBACK, '198.51.100.4'],
    [
      'X-Real-IP is ignored once an untrusted hop is found',
      '127.0.0.1',
      { 'x-forwarded-for': '198.51.100.1', 'x-real-ip': '6.6.6.6' },
      LOOPBACK,
      '198.51.100.1',
    ],
    ['X-Real-IP from an untrusted peer is ignored', '203.0.113.9', { 'x-real-ip': '6.6.6.6' }, LOOPBACK, '203.0.113.9'],
    ['an unknown peer', undefined, { 'x-forwarded-for': '198.51.100.1' }, LOOPBACK, 'unknown'],
  ];
  for (const [name, peer, headers, trusted, expected] of rows) {
    test(`${name} → ${expected}`, () => assert.equal(clientAddress(peer, headers, trusted), expected));
  }
});

describe('trustedProxies', () => {
  const rows: Array<[entries: string[], address: string, trusted: boolean]> = [
    [['127.0.0.1'], '127.0.0.1', true],
    [['127.0.0.1'], '127.0.0.2', false],
    [['::1'], '::1', true],
    [['172.16.0.0/12'], '172.20.3.4', true],
    [['172.16.0.0/12'], '172.32.0.1', false],
    [['fd00::/8'], 'fd12::1', true],
    [['10.0.0.0/8'], 'not-an-address', false],
    [['10.0.0.0/8'], '', false],
  ];
  for (const [entries, address, trusted] of rows) {
    test(`${entries.join(',')} ${trusted ? 'trusts' : 'does not trust'} ${JSON.stringify(address)}`, () =>
      assert.equal(trustedProxies(entries).has(address), trusted));
  }

  test('each answer is about the address asked, whatever was asked before it', () => {
    const proxies = trustedProxies(['127.0.0.1', '10.0.0.0/8']);
    const asked: Array<[address: string, trusted: boolean]> = [
      ['127.0.0.1', true],
      ['127.0.0.1', true],
      ['203.0.113.9', false],
      ['203.0.113.9', false],
      ['10.1.2.3', true],
      ['not-an-address', false],
      ['127.0.0.1', true],
    ];
    assert.deepEqual(
      asked.map(([address]) => [address, proxies.has(address)]),
      asked,
    );
  });

  test('a CIDR range of proxies is walked like single addresses', () => {
    assert.equal(clientAddress('172.18.0.5', { 'x-forwarded-for': '198.51.100.1, 172.18.0.9' }, trustedProxies(['172.16.0.0/12'])), '198.51.100.1');
  });
});
