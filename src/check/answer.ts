/**
 * Everything /check says over HTTP: the status, headers and body for a decision, written with one
 * writeHead on node's own response, and the metrics and log lines that go with it. The deny answers
 * are built once per code at start, an allow's headers once per reused decision, so the common path
 * parses, looks up or allocates next to nothing. A request node's parser refused gets the same deny
 * bytes from here, through the server's clientError handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import { clip, type DenyLog } from '../deny-log.js';
import { statusFor, type ErrorCode } from '../errors.js';
import type { Lifecycle } from '../http/app.js';
import { rawAnswer, type RawAnswer } from '../http/raw-answer.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { denyCodes, reusesAllowDecisions, type AccessAllowed, type AccessDecision, type DecideAccess } from './decision.js';

export interface CheckAnswer {
  readonly status: number;
  /**
   * Every response header as flat name/value pairs, framing included (Content-Type, Content-Length),
   * ready for node's `res.writeHead(status, headers)`. Shared between requests: never modify it.
   */
  readonly headers: readonly string[];
  readonly body: string;
}

/** The deny answer for one code: status, headers and body never vary per request. */
export function buildDenyAnswer(code: ErrorCode, check: Config['check']): CheckAnswer {
  const status = statusFor(code, check.unauthenticatedStatus);
  const realm = `Bearer realm="${check.realm.replace(/["\\]/g, '')}"`;
  // X-Accel-Expires: 0 keeps a denial out of nginx's cache whatever the cache settings say.
  const headers = ['x-auth-error', code, 'cache-control', 'no-store', 'x-accel-expires', '0', 'content-type', 'application/json'];
  // RFC 6750 §3: no error attribute when the request had no credentials at all; a request the HTTP
  // parser refused is an invalid_request, whatever token it carried.
  if (status === 401)
    headers.push(
      'www-authenticate',
      code === 'token_missing' ? realm : `${realm}, error="${code === 'request_malformed' ? 'invalid_request' : 'invalid_token'}"`,
    );
  if (code === 'insufficient_scope') headers.push('www-authenticate', `${realm}, error="insufficient_scope"`);
  const body = JSON.stringify({ error: code });
  headers.push('Content-Length', String(Buffer.byteLength(body)));
  return { status, headers, body };
}

/**
 * Closes an allow's header list the way Koa framed it when /check was a Koa route (an empty string
 * body: text/plain, length 0), so nginx and tests see the same framing as before.
 */
const ALLOW_FRAMING = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '0'] as const;

/** The answer for a decision: pure, no I/O. */
export type AnswerFor = (decision: AccessDecision) => CheckAnswer;

export function createCheckAnswers(config: Pick<Config, 'check' | 'jwt'>): AnswerFor {
  const { check } = config;
  const denials = new Map(denyCodes(check).map((code) => [code, buildDenyAnswer(code, check)]));
  const checkFailed = denials.get('check_failed') as CheckAnswer;
  // A reused decision gets the same answer; when decisions are never reused, a memo is only work.
  const allows = reusesAllowDecisions(config) ? new WeakMap<AccessAllowed, CheckAnswer>() : undefined;
  const allow = (decision: AccessAllowed): CheckAnswer => {
    if (decision.setCookie !== undefined) return renewal(decision, decision.setCookie);
    let answer = allows?.get(decision);
    if (answer !== undefined) return answer;
    // Always said, 0 included: X-Accel-Expires overrides any proxy_cache_valid in the auth location,
    // so with CHECK_CACHE_MAX_AGE=0 no nginx setting can keep an allow, let alone past exp.
    const headers = [...decision.identityHeaders, 'x-accel-expires', String(decision.cacheSeconds), ...ALLOW_FRAMING];
    answer = { status: 200, headers, body: '' };
    allows?.set(decision, answer);
    return answer;
  };
  return (decision) => (decision.code === undefined ? allow(decision) : (denials.get(decision.code) ?? checkFailed));
}

/**
 * An allow that renews the session: built per request and never memoised, since its Set-Cookie is
 * one user's new token. X-Accel-Expires: 0 and no-store keep it out of nginx's decision cache (nginx
 * also never stores an answer with Set-Cookie unless told to ignore it, and jwt-auth-cache.conf says
 * proxy_no_cache on it as well), so no other request is ever answered with this cookie.
 */
function renewal(decision: AccessAllowed, setCookie: string): CheckAnswer {
  const headers = [...decision.identityHeaders, 'set-cookie', setCookie, 'x-accel-expires', '0', 'cache-control', 'no-store', ...ALLOW_FRAMING];
  return { status: 200, headers, body: '' };
}

export interface CheckAnswerWriterDeps {
  readonly config: Config;
  readonly decideAccess: DecideAccess;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Where denials are logged: bounded in size and rate. */
  readonly denyLog: DenyLog;
  readonly lifecycle: Lifecycle;
}

export interface CheckAnswerWriter {
  /** Decides one /check request and writes the answer to node's response, counted and logged. Never throws. */
  writeCheckAnswer(req: IncomingMessage, res: ServerResponse, query: string): void;
  /**
   * The deny for a /check request node's parser refused (`parserError`: its HPE_ code or 'other'),
   * counted and logged, as bytes for the bare socket.
   */
  refusedCheckAnswer(parserError: string): RawAnswer;
}

export function createCheckAnswerWriter({ config, decideAccess, metrics, logger, denyLog, lifecycle }: CheckAnswerWriterDeps): CheckAnswerWriter {
  const answerFor = createCheckAnswers(config);
  const recorded = metrics.check;
  // When even writing the answer fails: still a deny, never a 5xx that nginx would turn into its 500.
  const failed = buildDenyAnswer('check_failed', config.check);
  const malformed = buildDenyAnswer('request_malformed', config.check);
  const malformedRaw = rawAnswer(malformed.status, malformed.headers, malformed.body);

  const respond = (req: IncomingMessage, res: ServerResponse, decision: AccessDecision, started: number): void => {
    // The client may have gone while a refetch of keys was awaited.
    if (res.destroyed) return;
    const answer = answerFor(decision);
    // While draining, ask nginx to reconnect (the Koa app's errorResponder does the same for every other route).
    res.writeHead(answer.status, lifecycle.shuttingDown ? ['connection', 'close', ...answer.headers] : (answer.headers as string[]));
    res.end(answer.body);

    const seconds = (performance.now() - started) / 1000;
    if (decision.code === undefined) {
      recorded.allow(seconds);
      // pid: with WORKERS > 1, which worker answered.
      if (logger.isLevelEnabled('debug'))
        logger.debug(
          { event: 'check', result: 'allow', sub: decision.claims.sub, requestId: loggable(req.headers['x-request-id']), pid: process.pid },
          'allowed',
        );
      return;
    }
    recorded.deny(decision.code, seconds);
    const { issuer } = decision;
    if (issuer === undefined) {
      denyLog.deny(decision.code, () => deniedRequest(req), decision.cause);
      return;
    }
    metrics.issuerDenials.inc({ issuer: issuer.configured ? (issuer.name ?? 'unknown') : 'unknown', reason: decision.code });
    // The issuer a token claims is the client's text: bounded like every other field of the line.
    denyLog.deny(decision.code, () => ({ ...deniedRequest(req), issuer: issuer.name === undefined ? undefined : clip(issuer.name) }), decision.cause);
  };

  const write = (req: IncomingMessage, res: ServerResponse, query: string): void => {
    const started = performance.now();
    const decision = decideAccess({ rawHeaders: req.rawHeaders, query, method: req.method ?? 'GET' });
    if (decision instanceof Promise) void decision.then((settled) => guarded(res, () => respond(req, res, settled, started)));
    else respond(req, res, decision, started);
  };

  // decideAccess turns every failure into a deny; this only guards the writing and logging around
  // it (on the path before Koa nothing else would, and an exception there would end the process).
  const guarded = (res: ServerResponse, run: () => void): void => {
    try {
      run();
    } catch (error) {
      logger.error({ event: 'check', result: 'deny', code: 'check_failed', err: error }, 'check failed unexpectedly');
      if (!res.headersSent && !res.destroyed) res.writeHead(failed.status, failed.headers as string[]).end(failed.body);
    }
  };

  return {
    writeCheckAnswer(req, res, query) {
      guarded(res, () => write(req, res, query));
    },
    refusedCheckAnswer(parserError) {
      recorded.deny('request_malformed');
      // The refused bytes are never logged: they may hold a token or a cookie.
      denyLog.deny('request_malformed', () => ({ event: 'check', result: 'deny', parserError, status: malformed.status }));
      return malformedRaw;
    },
  };
}

/** A client-sent header value cut to a loggable size; undefined when absent or empty. */
function loggable(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text ? clip(text) : undefined;
}

/** What a deny line says about the request: every field sent by the client, each bounded. */
function deniedRequest(req: IncomingMessage): Record<string, string | undefined> {
  // The query string is left out of the log: some applications still put tokens in URLs.
  const uri = req.headers['x-original-uri'];
  const query = typeof uri === 'string' ? uri.indexOf('?') : -1;
  return {
    requestId: loggable(req.headers['x-request-id']),
    method: loggable(req.headers['x-original-method']) ?? clip(req.method ?? ''),
    uri: typeof uri === 'string' ? loggable(query < 0 ? uri : uri.slice(0, query)) : undefined,
  };
}
