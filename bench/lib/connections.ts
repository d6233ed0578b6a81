/**
 * Connections the service saw open and close, from its own counter (jwt_auth_http_connections_total,
 * src/metrics.ts). Read over one kept-alive connection, so reading it opens and closes nothing.
 */
import { Agent, request } from 'node:http';

/** Connections opened and closed so far. */
export interface ConnectionEvents {
  readonly opened: number;
  readonly closed: number;
}

export interface ConnectionCounter {
  /** The counts so far, or undefined when the service does not say. */
  read(): Promise<ConnectionEvents | undefined>;
  close(): void;
}

const count = (text: string, event: 'opened' | 'closed'): number | undefined => {
  const match = new RegExp(`^jwt_auth_http_connections_total\\{event="${event}"\\} (\\d+(?:\\.\\d+)?(?:e\\+?\\d+)?)$`, 'm').exec(text);
  return match === null ? undefined : Number(match[1]);
};

export function connectionCounter(serviceUrl: string, socketPath?: string): ConnectionCounter {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    read: () =>
      new Promise((resolve) => {
        const req = request(`${serviceUrl}/metrics`, { agent, socketPath }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const opened = count(text, 'opened');
            const closed = count(text, 'closed');
            resolve(opened === undefined || closed === undefined ? undefined : { opened, closed });
          });
        });
        req.on('error', () => resolve(undefined));
        req.end();
      }),
    close: () => agent.destroy(),
  };
}
