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
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
