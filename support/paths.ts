/** Repository paths, from the compiled location dist/support/*.js. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NGINX_CONFIG_DIR = join(REPO_ROOT, 'nginx');
export const SERVICE_CLI = join(REPO_ROOT, 'dist', 'src', 'cli.js');
export const FLASK_APP = join(REPO_ROOT, 'examples', 'flask-authenticator', 'app.py');
export const DEMO_USERS_FILE = join(REPO_ROOT, 'examples', 'flask-authenticator', 'users.json');
export const NODE_AUTHENTICATOR = join(REPO_ROOT, 'examples', 'node-authenticator', 'server.mjs');
