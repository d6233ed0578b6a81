/**
 * B4's stub of the Flask-style authenticator: POST /login answers 200 with a fixed user object,
 * after reading the body (as a real one would). Env: PORT. Prints `listening <port>`.
 */
import { createServer } from 'node:http';

const user = Buffer.from(JSON.stringify({ sub: 'alice', name: 'Alice', roles: ['admin', 'editor'] }));
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/login') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': user.length });
    res.end(user);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? '0'), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : ''}`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
