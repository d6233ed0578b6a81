/** How much the service logs. */
import type { EnvReader } from './env-reader.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LoggingConfig {
  readonly level: (typeof LEVELS)[number];
  /** Deny log lines per second before they are summarised (0: every deny is logged). */
  readonly denyRate: number;
}

export function readLogging(env: EnvReader): LoggingConfig {
  return {
    level: env.oneOf('LOG_LEVEL', LEVELS, 'info'),
    denyRate: env.integer('LOG_DENY_RATE', 20, 0, 1_000_000),
  };
}
