/**
 * State names of the dispatch definition. AWS requires them unique across the whole definition, and the
 * local runner binds Tasks by name at every depth. No name carries a region: one generic iteration of
 * the "Forward to regions" Map serves every region, which comes from the item (its `region` field), so a
 * name never claims a region a message did not go to (an outcome names the region it went to).
 */

/** Names of the states that tests and the local runner refer to. */
export const STATE = {
  claim: 'Claim requests',
  putClaim: 'Put claim',
  readClaim: 'Read claim',
  snapshot: 'Read queue depths',
  select: 'Choose regions',
  /** The Map over the groups of the select step (core/select.ts RegionGroup): one iteration per region with work. */
  forwardAll: 'Forward to regions',
  report: 'Report outcomes',
  forward: 'Forward',
  forwardAgain: 'Forward again',
  failover: 'Failover',
  settle: 'Settle',
  markDispatched: 'Mark dispatched',
  deadLetter: 'Dead-letter',
  deadLetterAgain: 'Dead-letter again',
  markDeadLettered: 'Mark dead-lettered',
  releaseUnconfirmed: 'Release unconfirmed',
  releaseUndeliverable: 'Release undeliverable',
  releaseUnanswered: 'Release unanswered',
} as const;

/** The states of one iteration of the "Forward to regions" Map (workflows/forward-branch.ts, workflows/failover.ts). */
export const FORWARD_BRANCH = {
  route: 'To a region?',
  deadLetterAgain: 'Messages to dead-letter again',
  forward: STATE.forward,
  pause: 'Back off',
  again: STATE.forwardAgain,
  failed: 'Region refused',
  unanswered: 'Region unanswered',
  pending: 'Anything pending?',
  failover: STATE.failover,
  failoverUnanswered: 'Failover unanswered',
  settle: STATE.settle,
} as const;
export type ForwardBranchNames = typeof FORWARD_BRANCH;

/** The states of one iteration of the Settle map (workflows/settle.ts, workflows/dead-letter.ts). */
export const SETTLE = {
  path: 'Settle path',
  mark: STATE.markDispatched,
  dispatched: 'Dispatched',
  commitFailed: 'Dispatched, commit failed',
  deadLetter: STATE.deadLetter,
  deadLetterAgain: STATE.deadLetterAgain,
  markDeadLettered: STATE.markDeadLettered,
  deadLettered: 'Dead-lettered',
  releaseUnconfirmed: STATE.releaseUnconfirmed,
  unconfirmed: 'Unconfirmed',
  releaseUndeliverable: STATE.releaseUndeliverable,
  undeliverable: 'Undeliverable',
  releaseUnanswered: STATE.releaseUnanswered,
  releaseFailoverUnanswered: 'Release failover unanswered',
  releaseDeadLetterUnanswered: 'Release dead-letter unanswered',
  deadLetterUnanswered: 'Dead-letter unanswered',
  unanswered: 'Unanswered',
} as const;
export type SettleNames = typeof SETTLE;
