/**
 * What /check says for one request, without a socket: the pure decision (src/check/decision.ts) and
 * the answer it is written as (src/check/answer.ts), side by side; and what the token verifier
 * alone says of a token.
 */
import assert from 'node:assert/strict';
import type { CheckAnswer, AnswerFor } from '../src/check/answer.js';
import type { AccessRequest, DecideAccess } from '../src/check/decision.js';
import { AppError, type ErrorCode } from '../src/errors.js';
import type { Claims, TokenVerifier } from '../src/token/verify.js';

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

/** The error code the verifier refuses `token` with, or 'ok'; anything but an AppError fails the test. */
export function codeOf(verify: TokenVerifier, token: string): ErrorCode | 'ok' {
  try {
    verify(token);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return error.code;
  }
}
