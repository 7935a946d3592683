/**
 * Failover of a Forward iteration: what its region did not take (known not delivered) is placed in the
 * other regions by the forward function (core/failover.ts). A failover that ran may have sent, so it is
 * never retried, and whatever it held when it failed is released, never dead-lettered (invariant 10,
 * docs/architecture.md). The region failed over from comes from the iteration's input, never a name.
 */
import { UNANSWERED } from '../core/placement.js';
import { LAMBDA_NOT_RUN, lambdaRetry, type State } from './asl.js';
import { forwardTask, type DispatchRefs } from './refs.js';
import { branchContext } from './settle.js';
import { FORWARD_BRANCH as names } from './state-names.js';

/** The failover states of the Forward iteration; both lead to its Settle map. */
export function failoverStates(refs: DispatchRefs): Record<string, State> {
  return {
    [names.failover]: {
      ...forwardTask(refs),
      Comment: 'Place what is pending in the other regions, least loaded first; what none takes stays pending.',
      Parameters: {
        ...branchContext,
        'snapshot.$': '$.snapshot',
        'exclude.$': 'States.Array($.region)',
        'placements.$': '$.placements',
        'reason.$': '$.reason',
        'failure.$': '$.failure',
      },
      // Only an invocation that never ran is retried: a failover that ran may have sent, and its retry could
      // place the same messages in another region, or dead-letter them.
      Retry: lambdaRetry(1, LAMBDA_NOT_RUN),
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failoverError', Next: names.failoverUnanswered }],
      Next: names.settle,
    },
    [names.failoverUnanswered]: {
      Type: 'Pass',
      Comment: 'The failover may have sent before it failed: its placements are released for a later retry.',
      Parameters: {
        ...branchContext,
        'region.$': '$.region',
        'placements.$': '$.placements',
        unanswered: UNANSWERED.failover,
        'reason.$': "States.Format('failover from {}: no answer ({})', $.region, $.failoverError.Error)",
      },
      Next: names.settle,
    },
  };
}
