/**
 * A whole HTTP/1.1 answer as text, for a socket node's parser gave up on: there is no
 * ServerResponse to write it, so the status line and framing are written here.
 */
import http from 'node:http';

export interface RawAnswer {
  readonly withBody: string;
  /** The same answer to a HEAD request: no body. */
  readonly headOnly: string;
}

/** `headers` as flat name/value pairs, framing included; the answer closes the connection. */
export function rawAnswer(status: number, headers: readonly string[], body: string): RawAnswer {
  let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  head += 'Connection: close\r\n\r\n';
  return { withBody: head + body, headOnly: head };
}
