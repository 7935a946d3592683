/**
 * One region's Forward branch: send the region's assignments (functions/forward.ts), retry refusals with
 * back-off, then fail over what the region refused (workflows/failover.ts); a send without an answer is
 * sent once more to the same region after a pause, never elsewhere; every path ends in the branch's
 * Settle map (workflows/settle.ts).
 */
import { REGION_UNAVAILABLE, REGION_UNCONFIRMED } from '../core/errors.js';
import { UNANSWERED } from '../core/placement.js';
import { regionKey } from '../core/topology.js';
import { LAMBDA_ANSWER_LOST, LAMBDA_NOT_RUN, type State } from './asl.js';
import { failoverStates } from './failover.js';
import { DEFAULT_REGION_RETRY, forwardTask, type DispatchRefs } from './refs.js';
import { branchContext, settleMap } from './settle.js';
import { forwardBranchNames } from './state-names.js';

export function forwardBranch(region: string, refs: DispatchRefs): State {
  const key = regionKey(region);
  const retry = refs.regionRetry ?? DEFAULT_REGION_RETRY;
  const names = forwardBranchNames(region);
  const send = forwardTask(refs);

  return {
    StartAt: names.any,
    States: {
      [names.any]: {
        Type: 'Choice',
        Choices: [{ Variable: `$.assignments.${key}[0]`, IsPresent: true, Next: names.forward }],
        Default: names.nothing,
      },
      [names.nothing]: { Type: 'Pass', Result: { outcomes: [] }, End: true },
      [names.forward]: {
        ...send,
        Parameters: { ...branchContext, region, 'placements.$': `$.assignments.${key}` },
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
        Parameters: { ...branchContext, region, afterUnanswered: true, 'placements.$': `$.assignments.${key}` },
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.forwardError', Next: names.unanswered }],
        Next: names.settle,
      },
      [names.failed]: {
        Type: 'Pass',
        Comment: 'The region refused every send: nothing is there, so every message of this branch fails over.',
        Parameters: {
          ...branchContext,
          'placements.$': `$.assignments.${key}`,
          'reason.$': `States.Format('${region}: {}', $.forwardError.Error)`,
          'failure.$': '$.forwardError',
        },
        Next: names.failover,
      },
      [names.unanswered]: {
        Type: 'Pass',
        Comment: 'Some sends may have arrived: never failed over nor dead-lettered; released for a later retry.',
        Parameters: {
          ...branchContext,
          'placements.$': `$.assignments.${key}`,
          unanswered: UNANSWERED.forward,
          'reason.$': `States.Format('${region}: no answer from the forward ({}); the messages may be in the queue', $.forwardError.Error)`,
        },
        Next: names.settle,
      },
      [names.pending]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.pendingCount', NumericGreaterThan: 0, Next: names.failover }],
        Default: names.settle,
      },
      ...failoverStates(region, names, refs),
      [names.settle]: settleMap(region, refs),
    },
  };
}
