/**
 * What /check says for one request, without a socket: the pure decision (src/check/decision.ts) and
 * the answer it is written as (src/check/answer.ts), side by side.
 */
import type { CheckAnswer, AnswerFor } from '../src/check/answer.js';
import type { AccessRequest, DecideAccess } from '../src/check/decision.js';
import type { ErrorCode } from '../src/errors.js';
import type { Claims } from '../src/token/verify.js';

export interface CheckOutcome extends CheckAnswer {
  /** The deny code; undefined on allow. */
  readonly code: ErrorCode | undefined;
  readonly claims: Claims | undefined;
  /** The unexpected error behind a check_failed denial. */
  readonly cause?: unknown;
}

export function checkOutcomes(decideAccess: DecideAccess, answerFor: AnswerFor): (request: AccessRequest) => CheckOutcome {
  return (request) => {
    const decision = decideAccess(request);
    return { ...decision, ...answerFor(decision) };
  };
}
