/**
 * The service's own key files rotate without a restart: SIGHUP reads them again, and the new keys
 * replace the old ones only when they pass every check a start would make.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from '../../support/wait.js';
import { request } from '../../support/http.js';
import { nowSeconds, signJws } from '../../support/jws.js';
import { generatePair, hmacSecret } from '../../support/keys.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';

const dir = makeTempDir('key-reload');
const keyFile = join(dir, 'signing.pem');
const first = generatePair('ES256');
const second = generatePair('ES256');
let service: ServiceProcess;

before(async () => {
  writeFileSync(keyFile, first.privatePem);
  service = await startServiceProcess({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: keyFile, JWT_KEY_ID: 'current' }, { dir });
});
after(async () => {
  await service?.stop();
  removeTempDir(dir);
});

const tokenOf = (pair: ReturnType<typeof generatePair>): string =>
  signJws({ alg: 'ES256', typ: 'JWT', kid: 'current' }, { sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 300 }, pair.privateKey);
const check = async (token: string): Promise<string> => {
  const reply = await request(`${service.url}/check`, { headers: { authorization: `Bearer ${token}` } });
  return reply.status === 200 ? 'allowed' : (reply.headers['x-auth-error'] as string);
};
const reloadsLogged = (event: string): number =>
  service
    .log(1_000_000)
    .split('\n')
    .filter((line) => line.includes(`"event":"${event}"`)).length;

describe('SIGHUP reloads the key files', () => {
  test('a new key replaces the old one: its tokens pass, the old key’s fail, and the JWKS publishes it', async () => {
    assert.equal(await check(tokenOf(first)), 'allowed');
    writeFileSync(keyFile, second.privatePem);
    service.process.signal('SIGHUP');
    await waitUntil(() => reloadsLogged('keys_reloaded') === 1, 'the reload');
    assert.equal(await check(tokenOf(second)), 'allowed');
    assert.equal(await check(tokenOf(first)), 'token_signature_invalid');
    const jwks = JSON.parse((await request(`${service.url}/.well-known/jwks.json`)).body) as { keys: Array<{ x: string }> };
    assert.deepEqual(
      jwks.keys.map((key) => key.x),
      [second.publicKey.export({ format: 'jwk' }).x],
    );
  });

  const refused: Array<[name: string, content: string]> = [
    ['not a key', 'this is not a PEM file\n'],
    ['a key for another algorithm', generatePair('RS256').privatePem],
    ['an HMAC secret where a private key belongs', hmacSecret('HS256')],
  ];
  for (const [name, content] of refused) {
    test(`a file holding ${name} is refused, with why in the log, and the current key keeps serving`, async () => {
      const before = reloadsLogged('keys_reload_refused');
      writeFileSync(keyFile, content);
      service.process.signal('SIGHUP');
      await waitUntil(() => reloadsLogged('keys_reload_refused') === before + 1, 'the refusal');
      assert.match(service.log(4000), /JWT_PRIVATE_KEY_FILE/);
      assert.equal(await check(tokenOf(second)), 'allowed');
      assert.ok(!service.process.hasExited(), 'the service keeps running');
    });
  }
});
