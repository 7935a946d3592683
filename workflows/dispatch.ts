/**
 * The dispatch state machine, in Amazon States Language (JSONPath), as a typed function of the
 * resources it calls. The SAME object is deployed by stacks/ and executed by the tests and the local
 * stack (tools/local/emulators/asl-runner.ts), so what is tested is what runs on AWS.
 *
 * Execution input (built by the intake, core/batching.ts):
 *   { batchId, executionName, now, leaseUntil, expiresAt, messages: [{ messageId, requestId, body, priority }] }
 * Execution output: { batchId, executionName, skipped: [outcome], forwarded: [[outcome] per group], forwardedGroups:
 * [the region of each group, null for the dead-letter-again one] }, where an
 * outcome is { messageId, requestId, outcome: dispatched|duplicate|dead-lettered|retry, region?, reason? }
 * (core/outcomes.ts flattens it to one outcome per message).
 *
 * This module assembles the sub-machines: Claim (workflows/claim.ts), the select step, and the "Forward
 * to regions" Map, one iteration per group the select step made (core/select.ts RegionGroup: a region with
 * work, or the messages to dead-letter again, workflows/dead-letter-again.ts). Every iteration runs the
 * same states (workflows/forward-branch.ts, its failover in workflows/failover.ts), ending in a Settle map
 * (workflows/settle.ts, workflows/dead-letter.ts): the region comes from the item, so the definition has
 * the same states whatever the number of regions, and a region without work costs no state at all. Each
 * iteration is handed only its group (its region, its placements) and what the forward and its failover
 * read (the snapshot). Every message moves through an iteration as a "placement" (core/placement.ts):
 * { messageId, requestId, body, priority, status: pending|dispatched|unconfirmed, region?, token?, reason?, ... }.
 *
 * Retries and dead-lettering are here, not hidden in code. A region that refused a send (known not
 * delivered) is retried once and then failed over; a send without an answer (it may have arrived) is
 * retried once in the same region and then released for a later retry, never failed over or
 * dead-lettered, so that a message is in at most one region unless a send was ambiguous. Everything
 * after the first forward is caught, so a message once forwarded is always committed, never forwarded
 * again by this execution. Every Task has a TimeoutSeconds: the worst case is bounded by construction
 * (workflows/time-budget.ts).
 */
import { regionKey, TASK_TIMEOUTS, TIMEOUTS } from '../core/topology.js';
import { lambdaRetry, type Definition } from './asl.js';
import { claimMap } from './claim.js';
import { forwardBranch } from './forward-branch.js';
import type { DispatchRefs } from './refs.js';
import { STATE } from './state-names.js';

// What other modules import from here; the names shared with functions/ live in core/errors.ts.
export { REGION_UNAVAILABLE, REGION_UNCONFIRMED } from '../core/errors.js';
export { LAMBDA_NOT_RUN, type Definition } from './asl.js';
export { DEAD_LETTER_AGAIN } from './dead-letter-again.js';
export { DEAD_LETTER_REFUSED } from './dead-letter.js';
export type { DispatchRefs, RetryPolicy } from './refs.js';
export { STATE } from './state-names.js';
export { CLAIM_STATUS } from './table.js';

export function dispatchDefinition(refs: DispatchRefs): Definition {
  if (refs.regions.length === 0) throw new Error('dispatchDefinition: at least one region is required');
  if (new Set(refs.regions.map(regionKey)).size !== refs.regions.length) {
    throw new Error(`dispatchDefinition: regions must be distinct: ${refs.regions.join(', ')}`);
  }
  return {
    Comment: 'Claim, place, forward and commit one batch of inference requests (workflows/dispatch.ts).',
    StartAt: STATE.claim,
    TimeoutSeconds: TIMEOUTS.dispatchTimeoutSeconds,
    States: {
      [STATE.claim]: claimMap(refs.tableName),
      [STATE.snapshot]: {
        Type: 'Task',
        Resource: refs.functions.snapshot,
        Parameters: { 'now.$': '$.now' },
        ResultPath: '$.snapshot',
        TimeoutSeconds: TASK_TIMEOUTS.snapshotSeconds,
        // Not retried: without readings the policy still places by capacity, better than waiting.
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.snapshotError', Next: 'No depth readings' }],
        Next: STATE.select,
      },
      'No depth readings': {
        Type: 'Pass',
        Result: { readings: [], health: [] },
        ResultPath: '$.snapshot',
        Next: STATE.select,
      },
      [STATE.select]: {
        Type: 'Task',
        Resource: refs.functions.select,
        Parameters: {
          'batchId.$': '$.batchId',
          'executionName.$': '$.executionName',
          'messages.$': '$.messages',
          'claims.$': '$.claims',
          'snapshot.$': '$.snapshot',
        },
        TimeoutSeconds: TASK_TIMEOUTS.selectSeconds,
        Retry: lambdaRetry(1),
        Next: STATE.forwardAll,
      },
      [STATE.forwardAll]: {
        Type: 'Map',
        Comment: 'One iteration per region with work (and one for the messages to dead-letter again), all at once.',
        ItemsPath: '$.groups',
        ItemSelector: {
          'batchId.$': '$.batchId',
          'executionName.$': '$.executionName',
          'region.$': '$$.Map.Item.Value.region',
          'placements.$': '$$.Map.Item.Value.placements',
          // The forward notes a region healthy again and the failover weighs the other regions by it.
          'snapshot.$': '$.snapshot',
        },
        // Every group at once, as the regions' branches of a Parallel would run: no limit (0) lets Inline
        // Map run up to 40 iterations together, and there are at most as many groups as messages (10) or
        // regions + 1. The time budget counts it so: one wave of the worst iteration (workflows/time-budget.ts).
        // A number here would tie the definition to the region count, which it no longer depends on.
        MaxConcurrency: 0,
        ItemProcessor: forwardBranch(refs),
        ResultPath: '$.forwarded',
        Next: STATE.report,
      },
      [STATE.report]: {
        Type: 'Pass',
        Parameters: {
          'batchId.$': '$.batchId',
          'executionName.$': '$.executionName',
          'skipped.$': '$.skipped',
          'forwarded.$': '$.forwarded',
          'forwardedGroups.$': '$.groupRegions',
        },
        End: true,
      },
    },
  };
}
