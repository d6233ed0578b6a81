/** Where the service listens, how many processes serve, and how long slow clients and a shutdown may take. */
import { isIP } from 'node:net';
import type { EnvReader } from './env-reader.js';

/** RFC 1123 labels; a name whose last label is all digits would be read as a (bad) IPv4 address, so it is none. */
const HOST_NAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/;
const ALL_DIGITS_LAST_LABEL = /(?:^|\.)\d+\.?$/;

function readHost(env: EnvReader): string {
  const host = env.string('HOST') ?? '127.0.0.1';
  if (isIP(host) !== 0 || (HOST_NAME.test(host) && !ALL_DIGITS_LAST_LABEL.test(host))) return host;
  env.problem(`HOST: expected an IP address (127.0.0.1, ::1, 0.0.0.0) or a host name, got "${host}"`);
  return '127.0.0.1';
}

/** sun_path holds 108 bytes on Linux, its terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * SOCKET_PATH: a unix socket to listen on instead of HOST:PORT, for an nginx on the same machine
 * (`server unix:/path;` in its upstream). It skips the TCP stack on both sides: 7-13 % less
 * CPU per protected request in BENCHMARKS.md's A/B runs.
 */
function readSocketPath(env: EnvReader): string | undefined {
  const path = env.string('SOCKET_PATH');
  if (path === undefined) return undefined;
  if (!path.startsWith('/') || path.includes('\0') || Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    env.problem(`SOCKET_PATH: expected an absolute path of at most ${MAX_SOCKET_PATH_BYTES} bytes, got "${path}"`);
    return undefined;
  }
  return path;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** A unix socket to listen on instead of host and port. */
  readonly socketPath: string | undefined;
  readonly workers: number;
  readonly shutdownTimeoutMs: number;
  /** How long a client may take to send the request headers (node's server.headersTimeout). */
  readonly headersTimeoutMs: number;
  /** How long a client may take to send the whole request, body included (node's server.requestTimeout). */
  readonly requestTimeoutMs: number;
}

export function readServer(env: EnvReader): ServerConfig {
  // Slow clients: both bounds are needed, and node refuses a header bound longer than the request bound.
  const headersTimeoutMs = env.durationMs('SERVER_HEADERS_TIMEOUT', '10s', 100);
  const requestTimeoutMs = env.durationMs('SERVER_REQUEST_TIMEOUT', '30s', 100);
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) env.problem('SERVER_HEADERS_TIMEOUT must not be longer than SERVER_REQUEST_TIMEOUT');
  return {
    host: readHost(env),
    port: env.integer('PORT', 8000, 0, 65_535),
    socketPath: readSocketPath(env),
    workers: env.integer('WORKERS', 1, 1, 256),
    shutdownTimeoutMs: env.durationMs('SHUTDOWN_TIMEOUT', '10s'),
    headersTimeoutMs,
    requestTimeoutMs,
  };
}
