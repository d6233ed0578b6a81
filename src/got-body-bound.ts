/**
 * A bound on how much of an answer got reads: reading stops as soon as the announced length or the
 * bytes received pass `maxBytes`, so a huge or endless body costs at most one chunk past the bound.
 * On got's stream API, which the authenticator client (on every login) and the key-set fetcher
 * both use: its promise API's wrapper costs CPU per call and adds nothing here (BENCHMARKS.md, /login).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PlainResponse, Request } from 'got';

/** The answer was, or announced it would be, larger than the bound; the request has been stopped. */
export class AnswerTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`answer over ${maxBytes} bytes`);
    this.name = 'AnswerTooLargeError';
  }
}

export interface BoundedAnswer {
  /** The URL that answered, after any redirects got followed. */
  readonly url: string;
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Reads a got stream's answer whole, at most `maxBytes` of body.
 * @throws AnswerTooLargeError past the bound, got's RequestError as the stream emitted it, or an
 * Error when the stream was destroyed before its answer ended (a fetcher closing, say).
 */
export function readBoundedAnswer(stream: Request, maxBytes: number): Promise<BoundedAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let response: PlainResponse | undefined;
    const stop = () => {
      stream.destroy();
      reject(new AnswerTooLargeError(maxBytes));
    };
    stream.once('response', (answer: PlainResponse) => {
      response = answer;
      if (Number(answer.headers['content-length']) > maxBytes) stop();
    });
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) stop();
      else chunks.push(chunk);
    });
    stream.once('end', () => {
      if (response === undefined) reject(new Error('the answer ended before its head'));
      else resolve({ url: response.url, statusCode: response.statusCode, headers: response.headers, body: Buffer.concat(chunks, received) });
    });
    stream.once('error', reject);
    // After 'end' or a rejection this changes nothing; before them, nothing else would settle.
    stream.once('close', () => reject(new Error('the request was stopped before its answer ended')));
  });
}
