/**
 * pino JSON lines. The service logs codes and identities, never credentials; redaction is the second
 * line of defence for any object that reaches a log by mistake.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths pino censors wherever they appear, at the top level or one object down. */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  'cookie',
  'password',
  'token',
  'secret',
  'passphrase',
  '*.authorization',
  '*.Authorization',
  '*.cookie',
  '*.Cookie',
  '*["set-cookie"]',
  '*["Set-Cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.passphrase',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** What a redacted value is written as, by every logger of the service. */
const CENSOR = '[redacted]';

/** The paths without a wildcard: the top-level names and the request and response headers. */
const EXPLICIT_PATHS: readonly string[] = REDACTED_PATHS.filter((path) => !path.startsWith('*'));

/**
 * A child for hot lines whose fields the service builds itself (codes, ids, subjects, bounded
 * strings), never a request's headers or body, an answer or an error object. It still censors the
 * explicit paths (a `password` or `token` field put on such a line by mistake), but skips the wildcard
 * ones (one object down): those cost ~15 µs a line, three times the rest of the line.
 */
export function ownFieldsLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: [...EXPLICIT_PATHS], censor: CENSOR } });
}

/**
 * Standard output, written synchronously. pino's default asynchronous destination flushes on exit by
 * retrying a failed write until it succeeds, so a process whose reader has gone (`serve | head -1`, a
 * log shipper that died) never exits. Synchronous writes have nothing left to flush; a closed pipe
 * (EPIPE) turns logging off, and any other write error is reported once on stderr: a log line that
 * cannot be written never stops the service.
 */
export function stdoutDestination(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: true });
  let reported = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || reported) return;
    reported = true;
    process.stderr.write(`nginx-jwt-auth: cannot write the log to stdout (${error.code ?? error.message})\n`);
  });
  return stream;
}

export function createLogger(level: string, destination: DestinationStream = stdoutDestination()): Logger {
  return pino(
    {
      level,
      base: { service: 'nginx-jwt-auth' },
      redact: { paths: [...REDACTED_PATHS], censor: CENSOR },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
