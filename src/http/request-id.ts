import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';

/** nginx's $request_id is 32 hex digits; anything tame up to 128 characters is kept as sent. */
const TAME_ID = /^[\w.:-]{1,128}$/;

/** The caller's X-Request-ID when it is safe to log and forward, else a new one. */
export function requestIdOf(ctx: Context): string {
  const sent = ctx.get('x-request-id');
  return TAME_ID.test(sent) ? sent : randomUUID();
}
