/** The login app /login forwards credentials to. */
import type { EnvReader } from './env-reader.js';

export interface AuthenticatorConfig {
  readonly url: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly passCookies: boolean;
}

export function readAuthenticator(env: EnvReader): AuthenticatorConfig {
  const url = env.string('AUTHENTICATOR_URL') ?? 'http://127.0.0.1:5000/login';
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) env.problem(`AUTHENTICATOR_URL: expected an http(s) URL, got "${url}"`);
  return {
    url,
    timeoutMs: env.durationMs('AUTHENTICATOR_TIMEOUT', '5s', 1),
    maxResponseBytes: env.bytes('AUTHENTICATOR_MAX_RESPONSE', '64kb'),
    passCookies: env.boolean('AUTHENTICATOR_PASS_COOKIES', false),
  };
}
