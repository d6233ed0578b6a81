/**
 * What one authenticator call costs the calling process, apart from the rest of /login: the
 * service's own client (src/authenticator.ts: got's stream API), got's promise API (what that
 * client used until 2026-12-02), and node's own http.request, the floor under any HTTP client.
 * Each runs in this process against B4's stub, with the bench's concurrency; CPU from
 * process.cpuUsage, so measured while nothing else runs here. B4 says what a login costs, this how
 * much of it one HTTP exchange through each client is.
 */
import http from 'node:http';
import got from 'got';
import { createAuthenticatorClient } from '../../src/authenticator.js';

export interface ClientCost {
  readonly client: string;
  /** CPU of this process per call, µs. */
  readonly cpuUs: number;
}

const BODY = Buffer.from(JSON.stringify({ username: 'alice', password: 'wonderland' }));
const HEADERS = {
  accept: 'application/json',
  'accept-encoding': 'identity',
  'x-request-id': 'bench',
  'x-forwarded-for': '127.0.0.1',
  'content-type': 'application/json',
};

export async function measureClientCost(url: string, { calls, concurrency }: { calls: number; concurrency: number }): Promise<ClientCost[]> {
  const service = createAuthenticatorClient({ url, timeoutMs: 5000, maxResponseBytes: 65_536, passCookies: false });
  const agent = new http.Agent({ keepAlive: true });
  const promiseClient = got.extend({
    method: 'POST',
    agent: { http: agent },
    retry: { limit: 0 },
    timeout: { request: 5000 },
    followRedirect: false,
    throwHttpErrors: false,
    decompress: false,
  });
  const clients: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
    ['the service (got stream)', () => service.login({ body: BODY, contentType: 'application/json', requestId: 'bench', clientAddress: '127.0.0.1' })],
    ['got promise API', () => promiseClient(url, { body: BODY, headers: HEADERS, responseType: 'buffer' })],
    [
      'node:http request',
      () =>
        new Promise<number>((resolve, reject) => {
          const request = http.request(url, { method: 'POST', agent, headers: { ...HEADERS, 'content-length': BODY.length } }, (response) => {
            let length = 0;
            response.on('data', (chunk: Buffer) => (length += chunk.length));
            response.on('end', () => resolve(length));
          });
          request.on('error', reject);
          request.end(BODY);
        }),
    ],
  ];
  const run = async (call: () => Promise<unknown>, total: number): Promise<void> => {
    let started = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started++ < total) await call();
      }),
    );
  };
  const costs: ClientCost[] = [];
  try {
    for (const [client, call] of clients) {
      await run(call, Math.ceil(calls / 4));
      const before = process.cpuUsage();
      await run(call, calls);
      const used = process.cpuUsage(before);
      costs.push({ client, cpuUs: (used.user + used.system) / calls });
    }
  } finally {
    service.close();
    agent.destroy();
  }
  return costs;
}
