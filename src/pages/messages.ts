/**
 * What a person reads when signing in fails: one sentence per kind of failure, never a code.
 * API clients keep the codes (README, Endpoints); these are for the pages only.
 */
import type { ErrorCode } from '../errors.js';

/** "2 minutes", "1 minute", "30 seconds": how long Retry-After asks to wait, for people. */
export function waitFor(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return 'a moment';
  if (seconds < 60) return seconds === 1 ? '1 second' : `${Math.ceil(seconds)} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** The authenticator refused the credentials (its 4xx): 401/403 are a wrong username or password. */
export function rejectedSentence(status: number): string {
  return status === 401 || status === 403
    ? 'The username or password is not right. Check them and try again.'
    : 'The sign-in details were not accepted. Check them and try again.';
}

/** The service refused to sign in (an AppError code), with Retry-After's seconds when it sent one. */
export function refusedSentence(code: ErrorCode, retryAfterSeconds: number | undefined): string {
  switch (code) {
    case 'rate_limited':
      return `Too many sign-in attempts. Please wait ${waitFor(retryAfterSeconds ?? 60)} and try again.`;
    case 'authenticator_unavailable':
    case 'authenticator_bad_response':
    case 'authenticator_timeout':
      return 'Signing in is not possible right now: the account service is not answering. Please try again in a few minutes.';
    case 'cross_site_request':
      return 'This sign-in form was sent from another site, so it was refused. Open the sign-in page of this site and try again.';
    case 'body_malformed':
    case 'body_invalid':
    case 'body_too_large':
    case 'username_missing':
    case 'unsupported_media_type':
      return 'Enter your username and password, then try again.';
    case 'issued_token_too_long':
      return "Your account holds more details than a sign-in can carry. Please tell the site's administrator.";
    case 'not_found':
      return 'Signing in is not available on this site.';
    default:
      return 'Signing in did not work. Please try again.';
  }
}
