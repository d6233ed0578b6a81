/**
 * A real OpenID Provider on loopback: oidc-provider (OpenID-certified, on Koa) issuing RFC 9068 JWT
 * access tokens (`typ: at+jwt`) with the client-credentials grant and a resource indicator, the way
 * an API's machine clients get tokens from Keycloak, Auth0 or Entra ID. It can be stopped and started
 * again on the same address, which is what a key server's bad day looks like from the service.
 */
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { LOOPBACK, freePort } from './ports.js';

export const OP_CLIENT_ID = 'orders-service';
const OP_CLIENT_SECRET = 'a-client-secret-for-the-tests-only-0123456789';
/** The audience (resource indicator) of the API the tokens are for. */
export const OP_API = 'https://api.example.test';

export interface OpenIdProvider {
  /** Its issuer identifier: `http://127.0.0.1:PORT`, as in every token's iss. */
  readonly issuer: string;
  /** A client-credentials access token for `resource` (the API by default) with `scope`. */
  accessToken(options?: { scope?: string; resource?: string }): Promise<string>;
  /** Stops answering (its keys with it) until start(); tokens already issued stay valid. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** How many times its JWK Set was fetched. */
  readonly jwksFetches: number;
  close(): Promise<void>;
}

export async function startOpenIdProvider(): Promise<OpenIdProvider> {
  const port = await freePort();
  const issuer = `http://${LOOPBACK}:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    clients: [{ client_id: OP_CLIENT_ID, client_secret: OP_CLIENT_SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => OP_API,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: 'orders:read orders:write',
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
        useGrantedResource: () => true,
      },
    },
    ttl: { ClientCredentials: 600 },
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'op-rs256-1', alg: 'RS256', use: 'sig' }] },
  });
  let jwksFetches = 0;
  const callback = provider.callback();
  const listener: http.RequestListener = (req, res) => {
    if (req.url?.startsWith('/jwks')) jwksFetches++;
    void callback(req, res);
  };
  let server: http.Server | undefined;

  const start = async (): Promise<void> => {
    if (server !== undefined) return;
    server = http.createServer(listener);
    server.listen(port, LOOPBACK);
    await once(server, 'listening');
    if ((server.address() as AddressInfo).port !== port) throw new Error('the provider came back on another port');
  };
  const stop = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    if (closing === undefined) return;
    closing.closeAllConnections();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await start();

  return {
    issuer,
    get jwksFetches() {
      return jwksFetches;
    },
    async accessToken({ scope = 'orders:read', resource = OP_API } = {}) {
      const reply = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${OP_CLIENT_ID}:${OP_CLIENT_SECRET}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }).toString(),
      });
      const body = (await reply.json()) as { access_token?: string; error?: string };
      if (reply.status !== 200 || body.access_token === undefined) throw new Error(`the provider refused a token: ${reply.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    stop,
    start,
    close: stop,
  };
}
