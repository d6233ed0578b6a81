/**
 * R: the reference for B3. A bare node:http server doing what /check must do at minimum: take the
 * Bearer token, verify it with fast-jwt (HS256, same options as the service: exp required, clock
 * tolerance, the same verify cache and its key, the token itself), answer 200 with the same identity headers, or 403.
 * No framework, no metrics, no logging: the ceiling the service is measured against.
 *
 * Env: PORT (0 for any), JWT_SECRET, JWT_VERIFY_CACHE_SIZE (default 1000), JWT_CLOCK_TOLERANCE_MS
 * (default 30000). Prints `listening <port>` on stdout.
 */
import { createServer } from 'node:http';
import { createVerifier } from 'fast-jwt';

const secret = process.env.JWT_SECRET;
if (secret === undefined || secret === '') throw new Error('JWT_SECRET is required');
const cacheSize = Number(process.env.JWT_VERIFY_CACHE_SIZE ?? '1000');
const verify = createVerifier({
  key: Buffer.from(secret),
  algorithms: ['HS256'],
  clockTolerance: Number(process.env.JWT_CLOCK_TOLERANCE_MS ?? '30000'),
  requiredClaims: ['exp'],
  ...(cacheSize > 0 ? { cache: cacheSize } : {}),
  // As src/token/verify.ts does: fast-jwt's default key is a SHA-256 of the token per request.
  cacheKeyBuilder: (token: string) => token,
}) as (token: string) => Record<string, unknown>;

const server = createServer((req, res) => {
  const authorization = req.headers.authorization;
  if (authorization === undefined || !/^bearer /i.test(authorization)) {
    res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":"token_missing"}');
    return;
  }
  let claims: Record<string, unknown>;
  try {
    claims = verify(authorization.slice(7));
  } catch {
    res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":"token_invalid"}');
    return;
  }
  const roles = claims.roles;
  res.writeHead(200, {
    'x-auth-user': String(claims.sub),
    'x-auth-roles': Array.isArray(roles) ? roles.join(',') : String(roles ?? ''),
    'x-auth-name': String(claims.name ?? ''),
    // Without it node frames the empty body as chunked, which costs nginx and node a little more.
    'content-length': 0,
  });
  res.end();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? '0'), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : ''}`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
