/**
 * State names of the dispatch definition. AWS requires them unique across the whole definition, and the
 * local runner binds Tasks by name at every depth, so every per-region state carries its region (or the
 * dead-letter-again branch's label).
 */

/** Names of the states that tests and the local runner refer to. */
export const STATE = {
  claim: 'Claim requests',
  putClaim: 'Put claim',
  readClaim: 'Read claim',
  snapshot: 'Read queue depths',
  select: 'Choose regions',
  forwardAll: 'Forward to regions',
  report: 'Report outcomes',
  forward: (region: string) => `Forward ${region}`,
  forwardAgain: (region: string) => `Forward ${region} again`,
  failover: (region: string) => `Failover from ${region}`,
  settle: (region: string) => `Settle ${region}`,
  markDispatched: (region: string) => `Mark dispatched ${region}`,
  deadLetter: (region: string) => `Dead-letter ${region}`,
  deadLetterAgain: (region: string) => `Dead-letter ${region} again`,
  markDeadLettered: (region: string) => `Mark dead-lettered ${region}`,
  releaseUnconfirmed: (region: string) => `Release unconfirmed ${region}`,
  releaseUndeliverable: (region: string) => `Release undeliverable ${region}`,
  releaseUnanswered: (region: string) => `Release unanswered ${region}`,
} as const;

/** The states of one region's Forward branch (workflows/forward-branch.ts, workflows/failover.ts). */
export const forwardBranchNames = (region: string) => ({
  any: `Anything for ${region}?`,
  forward: STATE.forward(region),
  pause: `Back off ${region}`,
  again: STATE.forwardAgain(region),
  failed: `Region ${region} refused`,
  unanswered: `Region ${region} unanswered`,
  pending: `Anything pending ${region}?`,
  failover: STATE.failover(region),
  failoverUnanswered: `Failover from ${region} unanswered`,
  settle: STATE.settle(region),
  nothing: `Nothing for ${region}`,
});
export type ForwardBranchNames = ReturnType<typeof forwardBranchNames>;

/** The states of one iteration of a Settle map (workflows/settle.ts, workflows/dead-letter.ts). */
export const settleNames = (region: string) => ({
  path: `Settle path ${region}`,
  mark: STATE.markDispatched(region),
  dispatched: `Dispatched via ${region}`,
  commitFailed: `Dispatched via ${region}, commit failed`,
  deadLetter: STATE.deadLetter(region),
  deadLetterAgain: STATE.deadLetterAgain(region),
  markDeadLettered: STATE.markDeadLettered(region),
  deadLettered: `Dead-lettered from ${region}`,
  releaseUnconfirmed: STATE.releaseUnconfirmed(region),
  unconfirmed: `Unconfirmed from ${region}`,
  releaseUndeliverable: STATE.releaseUndeliverable(region),
  undeliverable: `Undeliverable from ${region}`,
  releaseUnanswered: STATE.releaseUnanswered(region),
  releaseFailoverUnanswered: `Release failover unanswered ${region}`,
  releaseDeadLetterUnanswered: `Release dead-letter unanswered ${region}`,
  deadLetterUnanswered: `Dead-letter unanswered from ${region}`,
  unanswered: `Unanswered from ${region}`,
});
export type SettleNames = ReturnType<typeof settleNames>;
