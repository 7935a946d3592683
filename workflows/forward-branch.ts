/**
 * The Forward branch: one iteration of the "Forward to regions" Map per group of the select step (core/select.ts
 * RegionGroup), the same states for every region, the region taken from the item. Send the group's
 * placements (functions/forward.ts), retry refusals with back-off, then fail over what the region refused
 * (workflows/failover.ts); a send without an answer is sent once more to the same region after a pause,
 * never elsewhere; every path ends in the Settle map (workflows/settle.ts).
 *
 * The messages to dead-letter again (their earlier DLQ send had no answer) are a group of their own,
 * region null, which the first Choice sends straight to the Settle map's dead-letter path, never to a
 * Forward. Kept in this Map rather than as a second branch of a Parallel beside it: an execution without
 * such messages (nearly all) then spends no state and no log record on them, and the definition holds
 * no Parallel whose only purpose is that branch (workflows/dead-letter-again.ts).
 */
import { REGION_UNAVAILABLE, REGION_UNCONFIRMED } from '../core/errors.js';
import { UNANSWERED } from '../core/placement.js';
import { LAMBDA_ANSWER_LOST, LAMBDA_NOT_RUN, type State } from './asl.js';
import { deadLetterAgainStates } from './dead-letter-again.js';
import { failoverStates } from './failover.js';
import { DEFAULT_REGION_RETRY, forwardTask, type DispatchRefs } from './refs.js';
import { branchContext, settleMap } from './settle.js';
import { FORWARD_BRANCH as names } from './state-names.js';

/** What a Forward call is given: the group's region and placements, with the snapshot its health note reads. */
const sendGroup = { ...branchContext, 'snapshot.$': '$.snapshot', 'region.$': '$.region', 'placements.$': '$.placements' };

/** The ItemProcessor of the "Forward to regions" Map. */
export function forwardBranch(refs: DispatchRefs): State {
  const retry = refs.regionRetry ?? DEFAULT_REGION_RETRY;
  const send = forwardTask(refs);

  return {
    ProcessorConfig: { Mode: 'INLINE' },
    StartAt: names.route,
    States: {
      [names.route]: {
        Type: 'Choice',
        Comment: 'A group without a region holds the messages to dead-letter again: they never reach a region.',
        Choices: [{ Variable: '$.region', IsNull: true, Next: names.deadLetterAgain }],
        Default: names.forward,
      },
      ...deadLetterAgainStates(),
      [names.forward]: {
        ...send,
        Parameters: sendGroup,
        // Refusals only (known not delivered). Step Functions hands a Catch the LAST attempt's error: one
        // retrier for refusals and unanswered sends would fail over a message an earlier attempt left in
        // the queue whenever the retry was refused (docs/architecture.md, invariant 10).
        Retry: [
          {
            ErrorEquals: [REGION_UNAVAILABLE, ...LAMBDA_NOT_RUN],
            IntervalSeconds: retry.intervalSeconds,
            MaxAttempts: retry.maxAttempts,
            BackoffRate: retry.backoffRate,
            JitterStrategy: 'FULL',
          },
        ],
        Catch: [
          { ErrorEquals: [REGION_UNAVAILABLE, ...LAMBDA_NOT_RUN], ResultPath: '$.forwardError', Next: names.failed },
          // SQS or Lambda left an answer out: sent once more to the same region.
          { ErrorEquals: [REGION_UNCONFIRMED, ...LAMBDA_ANSWER_LOST], ResultPath: '$.forwardError', Next: names.pause },
          // Anything else (a timeout, a runtime that died after it ran) may have sent: released as it is.
          { ErrorEquals: ['States.ALL'], ResultPath: '$.forwardError', Next: names.unanswered },
        ],
        Next: names.pending,
      },
      [names.pause]: {
        Type: 'Wait',
        Comment: 'A send may have arrived: back off, then send once more to the same region, never to another.',
        Seconds: retry.intervalSeconds,
        Next: names.again,
      },
      [names.again]: {
        ...send,
        Comment:
          'The same region once more, after an attempt without an answer: what it takes is dispatched; what it refuses or ' +
          'leaves unanswered is released for a later delivery (never failed over nor dead-lettered in this execution).',
        Parameters: { ...sendGroup, afterUnanswered: true },
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.forwardError', Next: names.unanswered }],
        Next: names.settle,
      },
      [names.failed]: {
        Type: 'Pass',
        Comment: 'The region refused every send: nothing is there, so every message of this group fails over.',
        Parameters: {
          ...sendGroup,
          'reason.$': "States.Format('{}: {}', $.region, $.forwardError.Error)",
          'failure.$': '$.forwardError',
        },
        Next: names.failover,
      },
      [names.unanswered]: {
        Type: 'Pass',
        Comment: 'Some sends may have arrived: never failed over nor dead-lettered; released for a later retry.',
        Parameters: {
          ...branchContext,
          'region.$': '$.region',
          'placements.$': '$.placements',
          unanswered: UNANSWERED.forward,
          'reason.$': "States.Format('{}: no answer from the forward ({}); the messages may be in the queue', $.region, $.forwardError.Error)",
        },
        Next: names.settle,
      },
      [names.pending]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.pendingCount', NumericGreaterThan: 0, Next: names.failover }],
        Default: names.settle,
      },
      ...failoverStates(refs),
      [names.settle]: settleMap(refs),
    },
  };
}
