/**
 * The node:http server around the service: its limits, nginx's /check requests answered before Koa,
 * and an answer for every request node's parser refuses. `serve` and the in-process test server both
 * build it here, so tests run production's options.
 */
import http, { type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { answerCheckBeforeKoa, isCheckTarget } from '../check/route.js';
import type { Config } from '../config/index.js';
import { statusFor, type ErrorCode } from '../errors.js';
import type { Service } from '../service.js';
import { rawAnswer, type RawAnswer } from './raw-answer.js';

/**
 * keepAliveTimeout stays above nginx's upstream keepalive_timeout (60 s in nginx/), so nginx, not us,
 * closes idle connections: otherwise nginx may reuse one we just closed and answer its client with a
 * 502. Slow clients are bounded by SERVER_HEADERS_TIMEOUT and SERVER_REQUEST_TIMEOUT, which only run
 * while a request is being received, never on an idle kept connection.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * No limit on requests per connection (node's default, stated so it stays): nginx decides when a
 * pooled connection retires (upstream `keepalive_requests`). A limit here would close connections
 * under nginx's feet, and each reconnect costs both sides far more than a request (BENCHMARKS.md).
 */
const MAX_REQUESTS_PER_SOCKET = 0;

/**
 * Every header block nginx 1.22 can forward must fit, or node answers 431 and nginx turns that into
 * a 500. With its default `large_client_header_buffers 4 8k` a client's request line and headers take
 * at most 32 KiB; nginx adds X-Original-URI (the request URI, at most 8 KiB) and a few short headers
 * of its own (method, request id, X-Auth-Require, X-Forwarded-*, Host). 64 KiB holds all of it with
 * room for a long $auth_require, and still bounds what one request can make node buffer.
 */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * node enforces headersTimeout and requestTimeout only when it sweeps its connections, every 30 s by
 * default, which would let a slow client hold a socket up to 30 s past either bound.
 */
function sweepIntervalMs(config: Config): number {
  return Math.max(100, Math.min(1000, Math.floor(config.server.headersTimeoutMs / 4)));
}

export function serverOptions(config: Config): http.ServerOptions {
  return {
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: config.server.headersTimeoutMs,
    requestTimeout: config.server.requestTimeoutMs,
    connectionsCheckingInterval: sweepIntervalMs(config),
    // The longest token we accept may come in both Authorization and Cookie.
    maxHeaderSize: Math.max(MAX_HEADER_BYTES, 2 * config.jwt.maxTokenLength + 8 * 1024),
  };
}

/**
 * The service's HTTP server, not yet listening. `overrides` replace production's options (tests of
 * slow clients shorten the timeouts); everything else is as `serve` runs it.
 */
export function createHttpServer(service: Service, overrides: http.ServerOptions = {}): Server {
  const listener = answerCheckBeforeKoa(service.deps.checkAnswers, service.app.callback());
  const server = http.createServer({ ...serverOptions(service.deps.config), ...overrides }, listener);
  // node's default of 2000 header lines drops the lines after it without a word: a second
  // Authorization or an X-Auth-Require there would go unseen by /check. The header block is still
  // bounded in bytes by maxHeaderSize, which bounds the count too.
  server.maxHeadersCount = 0;
  server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
  server.on('clientError', createClientErrorHandler(service));
  const { connections } = service.deps.metrics;
  server.on('connection', (socket: Duplex) => {
    connections.opened();
    socket.once('close', connections.closed);
  });
  return server;
}

type ParserError = Error & { code?: string; rawPacket?: Buffer };

/** How far into the refused bytes the request line is looked for. */
const REQUEST_LINE_SCAN = 16 * 1024;

/**
 * Who a refused request was for, from the request line at the start of the bytes the parser refused:
 * 'check', 'other', or undefined when those bytes do not start with one (a request that arrived in
 * several reads). `head` is true for a HEAD request.
 */
function sniffRequest(rawPacket: Buffer | undefined): { target: 'check' | 'other'; head: boolean } | undefined {
  if (rawPacket === undefined) return undefined;
  const start = rawPacket.toString('latin1', 0, Math.min(rawPacket.length, REQUEST_LINE_SCAN));
  const line = /^([A-Z]+) (\S+) HTTP\/\d/.exec(start);
  if (line === null) return undefined;
  return { target: isCheckTarget(line[2] as string) ? 'check' : 'other', head: line[1] === 'HEAD' };
}

function jsonAnswer(code: ErrorCode, config: Config): RawAnswer {
  const body = JSON.stringify({ error: code });
  const headers = ['Content-Type', 'application/json', 'Cache-Control', 'no-store', 'Content-Length', String(Buffer.byteLength(body))];
  return rawAnswer(statusFor(code, config.check.unauthenticatedStatus), headers, body);
}

/** node's own answer to a request that took longer than SERVER_HEADERS_TIMEOUT / SERVER_REQUEST_TIMEOUT. */
const REQUEST_TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/** llhttp's error codes are a fixed set of HPE_ names; anything else is one label. */
const PARSER_CODE = /^HPE_[A-Z_]{1,40}$/;

/**
 * Answers what node's parser refused (a control byte in a header, a header block over
 * maxHeaderSize, bad syntax). Without this node writes a bare 400 or 431, which nginx turns into a
 * 500 for its client, and logs and counts nothing. A /check request gets the deny with
 * `request_malformed`; a request whose target cannot be read gets it too, since nginx's auth
 * subrequests are the callers a non-deny would hurt. Everything else gets a 400 or 431 with a code.
 */
function createClientErrorHandler({ deps }: Service): (error: ParserError, socket: Duplex) => void {
  const { config, metrics, denyLog, checkAnswers } = deps;
  const invalidAnswer = jsonAnswer('request_invalid', config);
  const tooLargeAnswer = jsonAnswer('request_headers_too_large', config);

  return (error, socket) => {
    const parserCode = error.code ?? '';
    // A client that went away can be told nothing.
    if (parserCode === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    // Writing into a response already on its way would corrupt it for the peer (as node's own handler).
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    const canAnswer = socket.writable && inFlight?.headersSent !== true;
    if (parserCode === 'ERR_HTTP_REQUEST_TIMEOUT') {
      if (canAnswer) socket.end(REQUEST_TIMEOUT_ANSWER, () => socket.destroy());
      else socket.destroy();
      return;
    }

    const reason = PARSER_CODE.test(parserCode) ? parserCode : 'other';
    const request = sniffRequest(error.rawPacket);
    metrics.refusedRequests.labels(reason).inc();
    let answer: RawAnswer;
    // /check's deny, counted and logged as /check's (src/check/answer.ts).
    if (request === undefined || request.target === 'check') answer = checkAnswers.refusedCheckAnswer(reason);
    else {
      const code: ErrorCode = reason === 'HPE_HEADER_OVERFLOW' ? 'request_headers_too_large' : 'request_invalid';
      answer = code === 'request_headers_too_large' ? tooLargeAnswer : invalidAnswer;
      // The refused bytes are never logged: they may hold a token or a cookie.
      denyLog.deny(code, () => ({ event: 'http', result: 'refused', parserError: reason, status: statusFor(code, config.check.unauthenticatedStatus) }));
    }
    if (canAnswer) socket.end(request?.head === true ? answer.headOnly : answer.withBody, () => socket.destroy());
    else socket.destroy();
  };
}
