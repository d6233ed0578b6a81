/**
 * Connections the service saw close, from its own counter (jwt_auth_http_connections_total,
 * src/metrics.ts). Read over one kept-alive connection, so reading it opens and closes nothing.
 */
import { Agent, request } from 'node:http';

export interface ClosedCounter {
  /** Connections closed so far, or undefined when the service does not say. */
  read(): Promise<number | undefined>;
  close(): void;
}

const CLOSED = /^jwt_auth_http_connections_total\{event="closed"\} (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m;

export function closedConnections(serviceUrl: string, socketPath?: string): ClosedCounter {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    read: () =>
      new Promise((resolve) => {
        const req = request(`${serviceUrl}/metrics`, { agent, socketPath }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const match = CLOSED.exec(text);
            resolve(match === null ? undefined : Number(match[1]));
          });
        });
        req.on('error', () => resolve(undefined));
        req.end();
      }),
    close: () => agent.destroy(),
  };
}
