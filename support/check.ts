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

/** The synchronous outcome: a decision that waits (for fetched keys) fails the test. */
export function checkOutcomes(decideAccess: DecideAccess, answerFor: AnswerFor): (request: AccessRequest) => CheckOutcome {
  return (request) => {
    const decision = decideAccess(request);
    assert.ok(!(decision instanceof Promise), 'expected a synchronous decision');
    return { ...decision, ...answerFor(decision) };
  };
}

/** The outcome, waited for when the decision waits. */
export function settledCheckOutcomes(decideAccess: DecideAccess, answerFor: AnswerFor): (request: AccessRequest) => Promise<CheckOutcome> {
  return async (request) => {
    const decision = await decideAccess(request);
    return { ...decision, ...answerFor(decision) };
  };
}

function codeOfError(error: unknown): ErrorCode {
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
  return error.code;
}

/** The claims of a token the verifier accepts synchronously; anything else fails the test. */
export function claimsOf(verify: TokenVerifier, token: string): Claims {
  const verified = verify(token);
  assert.ok(!(verified instanceof Promise), 'expected a synchronous verification');
  return verified.claims;
}

/**
 * The error code the verifier refuses `token` with synchronously, or 'ok'; a verification that waits,
 * or anything but an AppError, fails the test.
 */
export function codeOf(verify: TokenVerifier, token: string): ErrorCode | 'ok' {
  try {
    const verified = verify(token);
    assert.ok(!(verified instanceof Promise), 'expected a synchronous verification');
    return 'ok';
  } catch (error) {
    return codeOfError(error);
  }
}

/** The code of `token`'s verdict (the verifier's non-throwing side, /check's), or 'ok'. */
export function verdictCodeOf(verify: TokenVerifier, token: string): ErrorCode | 'ok' {
  const verdict = verify.verdict(token);
  assert.ok(!(verdict instanceof Promise), 'expected a synchronous verification');
  return verdict instanceof AppError ? verdict.code : 'ok';
}

/** The error code the verifier refuses `token` with, waiting when it waits, or 'ok'. */
export async function settledCodeOf(verify: TokenVerifier, token: string): Promise<ErrorCode | 'ok'> {
  try {
    await verify(token);
    return 'ok';
  } catch (error) {
    return codeOfError(error);
  }
}
