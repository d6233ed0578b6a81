/**
 * Rotating the service's own key files without a restart: on SIGHUP the files are read and checked
 * again exactly as at start, and the new keys replace the old ones only when every check passes.
 * A bad file is refused with its reasons and the old keys keep serving. Only keys change: every
 * other setting is read once, at start.
 */
import { ConfigError, loadConfig } from './config/index.js';
import type { Env } from './config/env-reader.js';
import type { ReplaceableKeySource } from './key-source.js';
import { loadKeys } from './keys.js';
import type { Logger } from './logging.js';

export type KeyReloadResult =
  { readonly reloaded: true; readonly kids: readonly string[] } | { readonly reloaded: false; readonly problems: readonly string[] };

export function reloadKeys(source: ReplaceableKeySource, env: Env, logger: Logger): KeyReloadResult {
  const result = tryReload(source, env);
  if (result.reloaded) logger.info({ event: 'keys_reloaded', kids: result.kids }, 'key files reloaded');
  else logger.error({ event: 'keys_reload_refused', problems: result.problems }, 'key reload refused: the current keys stay');
  return result;
}

function tryReload(source: ReplaceableKeySource, env: Env): KeyReloadResult {
  let keys;
  try {
    keys = loadKeys(loadConfig(env).jwt);
  } catch (error) {
    if (error instanceof ConfigError) return { reloaded: false, problems: error.problems };
    throw error;
  }
  const before = source.current();
  // A reload rotates keys; it does not turn the service into another kind of service.
  if (before.signing !== undefined && keys.signing === undefined) {
    return { reloaded: false, problems: ['the new key files hold no signing key: /login would stop issuing tokens'] };
  }
  if (before.verification.length > 0 && keys.verification.length === 0) {
    return { reloaded: false, problems: ['the new key files hold no verification key'] };
  }
  source.replace(keys);
  return { reloaded: true, kids: keys.verification.map((key) => key.kid) };
}
