/** Cross-site request protection, in force only when the token may come from a cookie (TOKEN_COOKIE). */
import type { EnvReader } from './env-reader.js';

export interface CsrfConfig {
  readonly protection: boolean;
  /** Serialized origins (`scheme://host[:port]`, lower case, default port left out) treated as our own. */
  readonly allowedOrigins: readonly string[];
}

/**
 * CSRF_ALLOWED_ORIGINS, each written as a browser writes the Origin header (RFC 6454 §6.2):
 * scheme://host[:port], nothing after it. Stored in that serialization, so a comparison is exact.
 */
function readAllowedOrigins(env: EnvReader): string[] {
  const origins: string[] = [];
  for (const entry of env.list('CSRF_ALLOWED_ORIGINS', '')) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    // href is origin + "/" exactly when there is no user, path, query or fragment.
    if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.href !== `${url.origin}/` || entry.endsWith('/')) {
      env.problem(`CSRF_ALLOWED_ORIGINS: "${entry}" is not an origin such as https://app.example or http://localhost:8080`);
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}

export function readCsrf(env: EnvReader): CsrfConfig {
  return {
    protection: env.boolean('CSRF_PROTECTION', true),
    allowedOrigins: readAllowedOrigins(env),
  };
}
