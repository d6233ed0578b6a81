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

export function createLogger(level: string, destination?: DestinationStream): Logger {
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
