/**
 * POST /refresh: a refresh token in (JSON `{"refresh_token": "…"}`, or RFC 6749 §6's form), a new
 * access token and the refresh token that replaces it out, in /login's body shape. The old refresh
 * token is spent; presenting it again revokes its family (src/refresh/tokens.ts). A session that was
 * revoked (a logout of one of its tokens, `revoke --sub` after its login) is refused: a refresh token
 * must not outlive the logout or the stolen laptop it was meant to end.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logging.js';
import { loginContentType, parseLoginBody } from '../../login/body.js';
import type { TokenIssuer } from '../../login/issue.js';
import type { RefreshTokens } from '../../refresh/tokens.js';
import type { RevocationStore } from '../../revocation/store.js';
import { requestIdOf } from '../request-id.js';

/** A refresh body holds one token of 66 characters (and a grant_type in a form): far below this. */
const BODY_LIMIT_BYTES = 4096;

export interface RefreshRouteDeps {
  readonly logger: Logger;
  /** Both absent unless REFRESH_TOKEN_TTL is set and the service can sign: /refresh then answers 404. */
  readonly issue: TokenIssuer | undefined;
  readonly refresh: RefreshTokens | undefined;
  readonly revocations: Pick<RevocationStore, 'list'>;
}

async function readBody(ctx: Context): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit: BODY_LIMIT_BYTES, length: ctx.get('content-length') || undefined });
  } catch (error) {
    const type = (error as { type?: string }).type;
    throw new AppError(type === 'entity.too.large' ? 'body_too_large' : 'body_invalid', type ?? 'unreadable body', { cause: error });
  }
}

export function refreshRoutes(router: Router, { logger, issue, refresh, revocations }: RefreshRouteDeps): void {
  router.post('/refresh', async (ctx) => {
    const requestId = requestIdOf(ctx);
    ctx.set('x-request-id', requestId);
    ctx.set('cache-control', 'no-store');
    if (issue === undefined || refresh === undefined) throw new AppError('not_found', 'refresh tokens are off (REFRESH_TOKEN_TTL)');
    const log = logger.child({ event: 'refresh', requestId });
    try {
      const type = loginContentType(ctx.req.headers['content-type']);
      // The login body's strict parser: one JSON object or form, the token field once and a string.
      const token = parseLoginBody(await readBody(ctx), type, 'refresh_token').username;
      if (token === undefined || token === '') throw new AppError('refresh_token_missing');
      const { record, next } = await refresh.redeem(token);
      // The session's login time stands for the issue time: `revoke --sub` ends every session begun before it.
      const { sid, authTime } = record.session;
      if (revocations.list.isRevoked({ sid, sub: record.subject, iat: authTime })) throw new AppError('refresh_token_revoked', 'the session was revoked');
      const issued = issue(record.subject, record.claims, log, 'token refreshed', record.session);
      ctx.set('pragma', 'no-cache');
      ctx.body = { ...issued.body, ...next };
    } catch (error) {
      if (error instanceof AppError) log.warn({ outcome: error.code, code: error.code, reason: error.message }, 'refresh refused');
      throw error;
    }
  });
  router.all('/refresh', (ctx) => {
    ctx.set('allow', 'POST');
    throw new AppError('method_not_allowed');
  });
}
