/**
 * A tiny forwarding proxy that records what passes through it: put between nginx and the
 * service to see the auth subrequests nginx sends (method, headers, body bytes, connection
 * reuse), or between nginx and the app to prove a request never reached it.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './ports.js';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Bytes of request body received from nginx. */
  readonly bodyBytes: number;
  /** Which TCP connection from nginx carried it (1, 2, …): keep-alive reuse shows here. */
  readonly connection: number;
  /** The status the target answered, or 502 when it could not be reached. */
  status: number;
}

export interface RecordingProxy {
  /** host:port, for nginx's upstream. */
  readonly addr: string;
  readonly records: RecordedRequest[];
  /** Connections nginx has opened so far. */
  connectionCount(): number;
  clear(): void;
  stop(): Promise<void>;
}

// Connection-level headers belong to each hop, not to the request (RFC 9110, section 7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}

/** Starts a recording proxy on a free loopback port that forwards to `target` (host:port). */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const [host = LOOPBACK, portText = ''] = target.split(':');
  const agent = new Agent({ keepAlive: true });
  const records: RecordedRequest[] = [];
  let connections = 0;

  // As large a header block as nginx can forward (see src/http/server.ts), so the proxy never
  // refuses what the app behind it would take.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    const connection = (req.socket as { recordingProxyId?: number }).recordingProxyId ?? 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: body.length, connection, status: 0 };
      records.push(record);
      const upstream = request(
        { host, port: Number(portText), method: req.method, path: req.url, headers: endToEnd(req.headers), agent, timeout: 10_000 },
        (upstreamRes) => {
          record.status = upstreamRes.statusCode ?? 0;
          res.writeHead(record.status, endToEnd(upstreamRes.headers));
          upstreamRes.pipe(res);
        },
      );
      upstream.once('timeout', () => upstream.destroy(new Error('timeout')));
      upstream.once('error', () => {
        record.status = 502;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"error":"recording_proxy_upstream_failed"}');
      });
      upstream.end(body);
    });
  });
  server.on('connection', (socket) => {
    connections += 1;
    (socket as { recordingProxyId?: number }).recordingProxyId = connections;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    addr: `${LOOPBACK}:${port}`,
    records,
    connectionCount: () => connections,
    clear: () => {
      records.length = 0;
    },
    async stop() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
