/**
 * The branch beside the regions' Forward branches for messages whose earlier dead-letter send had no
 * answer: sent to the DLQ again (never to a region, so a request is never both dead-lettered and
 * dispatched), then marked DEAD_LETTERED.
 */
import { UNANSWERED } from '../core/placement.js';
import { DEAD_LETTER_KEY } from '../core/select.js';
import type { State } from './asl.js';
import type { DispatchRefs } from './refs.js';
import { branchContext, settleMap } from './settle.js';
import { STATE } from './state-names.js';

/** The extra Forward branch's label and its key in the select step's assignments. */
export const DEAD_LETTER_AGAIN = { label: 'again', key: DEAD_LETTER_KEY } as const;

export function deadLetterAgainBranch(refs: DispatchRefs): State {
  const { label, key } = DEAD_LETTER_AGAIN;
  const names = { any: 'Anything to dead-letter again?', take: 'Messages to dead-letter again', nothing: 'Nothing to dead-letter again' };
  return {
    StartAt: names.any,
    States: {
      [names.any]: {
        Type: 'Choice',
        Choices: [{ Variable: `$.assignments.${key}[0]`, IsPresent: true, Next: names.take }],
        Default: names.nothing,
      },
      [names.nothing]: { Type: 'Pass', Result: { outcomes: [] }, End: true },
      [names.take]: {
        Type: 'Pass',
        Parameters: { ...branchContext, 'placements.$': `$.assignments.${key}`, unanswered: UNANSWERED.none, reason: 'dead-letter again' },
        Next: STATE.settle(label),
      },
      [STATE.settle(label)]: settleMap(label, refs, true),
    },
  };
}
