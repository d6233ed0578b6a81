/**
 * Raw HTTP over a socket, for requests node's client refuses to send (bad framing, odd header bytes)
 * and for reading an answer exactly as it was written. One connection per request, bounded in time.
 */
import net from 'node:net';
import { LOOPBACK } from './ports.js';

export interface RawReply {
  /** 0 when the server closed the connection without answering. */
  readonly status: number;
  readonly head: string;
  readonly body: string;
  /** Everything the server sent, as latin1. */
  readonly raw: string;
}

/**
 * Writes `data` as it is on a new connection and reads until the server closes it (or `timeoutMs`).
 * The caller sends `Connection: close`. Only the first response is parsed.
 */
export function rawRequest(port: number, data: string | Buffer, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: LOOPBACK });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw request: connection still open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(data));
    socket.on('data', (chunk) => chunks.push(chunk));
    // A reset after the answer (the server closing while we still write) is not a failure.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseRaw(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

export function parseRaw(raw: string): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1];
  return { status: status === undefined ? 0 : Number(status), head, body: end < 0 ? '' : raw.slice(end + 4), raw };
}

/** The values of header `name` in a raw response head. */
export function rawHeader(reply: RawReply, name: string): string[] {
  return reply.head
    .split('\r\n')
    .slice(1)
    .filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((line) => line.slice(name.length + 1).trim());
}

/** A `GET /check` with the given extra header lines, as raw text. */
export function rawCheck(headerLines: readonly string[], path = '/check'): string {
  return [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headerLines, 'Connection: close', '', ''].join('\r\n');
}
