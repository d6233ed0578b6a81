/**
 * The per-username login limit against the real Flask authenticator (examples/flask-authenticator):
 * Flask reads bodies its own way (`request.is_json`, else `request.form`, multipart included; Python's
 * json takes a BOM and NaN), so every body the service forwards must be one whose username the
 * limiter counted. Each body below is first shown to log alice in at Flask directly: a real way past
 * the limit if the service let it through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFlaskAuthenticator, type AuthenticatorInstance } from '../../support/authenticator.js';
import { httpRequest, type HttpResponse } from '../../support/http.js';
import { payloadOf } from '../../support/jws.js';
import { flaskPrerequisite, requireOrSkip } from '../../support/prerequisites.js';
import { startRecordingProxy, type RecordingProxy } from '../../support/recording-proxy.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { startServiceInProcess, type InProcessService } from '../../support/service.js';
import { hmacSecret } from '../../support/keys.js';

const skip = requireOrSkip(flaskPrerequisite());

interface Body {
  readonly contentType: string;
  readonly body: string | Buffer;
}

const ALICE_RIGHT = 'alice-password';
const BOUNDARY = 'x-boundary-7';
const multipart = (fields: Record<string, string>): string =>
  `${Object.entries(fields)
    .map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
    .join('')}--${BOUNDARY}--\r\n`;
const POLYGLOT_TYPE = 'application/x-www-form-urlencoded; x=json';
/** JSON to a parser that looks for "json" in the Content-Type, a form naming someone else to Flask. */
const polyglot = (decoy: string, username: string, password: string): string =>
  JSON.stringify({ username: decoy, a: `&username=${username}&password=${password}&` });

const BYPASSES: Array<[name: string, body: Body, status: number, code: string]> = [
  [
    'multipart/form-data',
    { contentType: `multipart/form-data; boundary=${BOUNDARY}`, body: multipart({ username: 'alice', password: ALICE_RIGHT }) },
    415,
    'unsupported_media_type',
  ],
  [
    'JSON with a UTF-8 BOM',
    {
      contentType: 'application/json',
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ username: 'alice', password: ALICE_RIGHT }))]),
    },
    400,
    'body_malformed',
  ],
  ['JSON with NaN', { contentType: 'application/json', body: `{"username":"alice","password":"${ALICE_RIGHT}","n":NaN}` }, 400, 'body_malformed'],
  ['a form/JSON polyglot', { contentType: POLYGLOT_TYPE, body: polyglot('decoy', 'alice', ALICE_RIGHT) }, 415, 'unsupported_media_type'],
];

describe('the per-username limit holds against the Flask authenticator, whatever the body', { skip, timeout: 120_000 }, () => {
  let dir = '';
  let flask: AuthenticatorInstance | undefined;
  let recorder: RecordingProxy | undefined;
  let svc: InProcessService | undefined;
  const f = (): AuthenticatorInstance => {
    assert.ok(flask, 'Flask not started');
    return flask;
  };
  const rec = (): RecordingProxy => {
    assert.ok(recorder, 'recorder not started');
    return recorder;
  };
  const service = (): InProcessService => {
    assert.ok(svc, 'service not started');
    return svc;
  };

  before(
    async () => {
      dir = makeTempDir('login-username-limit');
      flask = await startFlaskAuthenticator({ dir });
      recorder = await startRecordingProxy(flask.addr);
      svc = await startServiceInProcess({
        JWT_SECRET: hmacSecret(),
        AUTHENTICATOR_URL: `http://${recorder.addr}/login`,
        LOGIN_MAX_FAILURES_PER_USER: '2',
        LOGIN_MAX_FAILURES_PER_IP: '1000',
        LOGIN_FAILURE_WINDOW: '10m',
        LOG_LEVEL: 'silent',
      });
    },
    { timeout: 60_000 },
  );
  after(async () => {
    await svc?.close();
    await recorder?.stop();
    await flask?.stop();
    if (dir) removeTempDir(dir);
  });

  const post = (url: string, { contentType, body }: Body): Promise<HttpResponse> =>
    httpRequest(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  const json = (value: unknown): Body => ({ contentType: 'application/json', body: JSON.stringify(value) });
  const login = (body: Body): Promise<HttpResponse> => post(`${service().url}/login`, body);

  it('each body logs alice in at Flask itself: the service is what must refuse it', async () => {
    for (const [name, body] of BYPASSES) {
      const res = await post(f().loginUrl, body);
      assert.equal(res.status, 200, `${name}: Flask answered ${res.status} ${res.text()}`);
      assert.equal(res.json().sub, 'alice', name);
    }
  });

  it('form and JSON logins reach Flask re-serialized and still work', async () => {
    assert.equal((await login({ contentType: 'application/x-www-form-urlencoded', body: 'username=bob&password=bob-password' })).status, 200);
    assert.equal((await login({ contentType: 'application/json; charset=utf-8', body: '{ "username": "bob", "password": "bob-password" }' })).status, 200);
  });

  it('with alice locked out, none of the bodies gets a token, and none reaches Flask', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await login(json({ username: 'alice', password: `wrong-${i}` }))).status, 401);
    assert.equal((await login(json({ username: 'alice', password: ALICE_RIGHT }))).status, 429, 'alice is locked out');
    rec().clear();
    for (const [name, body, status, code] of BYPASSES) {
      const res = await login(body);
      assert.equal(res.status, status, `${name}: ${res.status} ${res.text()}`);
      assert.deepEqual(res.json(), { error: code }, name);
      assert.doesNotMatch(res.text(), /eyJ/, name);
    }
    assert.equal(rec().records.length, 0, 'Flask was not asked');
  });

  it("a success cannot reset another user's count: the polyglot with bob's own password is refused, and bob's own login leaves alice's failures", async () => {
    const limited = await startServiceInProcess({
      JWT_SECRET: hmacSecret(),
      AUTHENTICATOR_URL: `http://${rec().addr}/login`,
      LOGIN_MAX_FAILURES_PER_USER: '2',
      LOGIN_MAX_FAILURES_PER_IP: '1000',
      LOG_LEVEL: 'silent',
    });
    try {
      const loginHere = (body: Body): Promise<HttpResponse> => post(`${limited.url}/login`, body);
      assert.equal((await loginHere(json({ username: 'alice', password: 'wrong-1' }))).status, 401);
      // What reset alice's count: a limiter that read this as JSON (alice) while Flask read a form (bob).
      assert.equal((await post(f().loginUrl, { contentType: POLYGLOT_TYPE, body: polyglot('alice', 'bob', 'bob-password') })).json().sub, 'bob');
      const polyglotLogin = await loginHere({ contentType: POLYGLOT_TYPE, body: polyglot('alice', 'bob', 'bob-password') });
      assert.equal(polyglotLogin.status, 415);
      // Sent as a plain form, the service and Flask both read bob: bob logs in, and only bob.
      const asForm = await loginHere({ contentType: 'application/x-www-form-urlencoded', body: polyglot('alice', 'bob', 'bob-password') });
      assert.equal(asForm.status, 200);
      assert.equal(payloadOf(String(asForm.json().token)).sub, 'bob');
      assert.equal((await loginHere(json({ username: 'alice', password: 'wrong-2' }))).status, 401);
      assert.equal((await loginHere(json({ username: 'alice', password: ALICE_RIGHT }))).status, 429, "alice's two failures still count");
    } finally {
      await limited.close();
    }
  });
});
