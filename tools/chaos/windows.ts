/**
 * The named windows: the only ways a request may reach the queues more than once (README's guarantee,
 * issue 7). The checker (tools/chaos/checker.ts) attributes every copy beyond the first to one of them, from
 * evidence; a copy that none explains is UNEXPLAINED and fails its scenario. Pure data.
 */

export const WINDOWS = {
  unconfirmedSend: 'unconfirmed send',
  ambiguousFailover: 'failover after an ambiguous forward',
  forwardCrash: 'forward crashed after sending',
  sdkResend: 'SDK resend of one entry',
  commitLost: 'commit lost, claim lapsed',
  deadLetterResent: 'dead-letter sent again',
} as const;

export type WindowName = (typeof WINDOWS)[keyof typeof WINDOWS];

export const UNEXPLAINED = 'UNEXPLAINED';
export type Attribution = WindowName | typeof UNEXPLAINED;

/** What each window is and what evidence the checker wants before it names it (docs/chaos.md repeats this). */
export const WINDOW_EVIDENCE: Readonly<Record<WindowName, string>> = {
  [WINDOWS.unconfirmedSend]:
    'SQS took the send but its answer was lost (or came too late): the workflow retried in the SAME region with a new token. ' +
    "Evidence: the copy's token is in a SendMessageBatch that reached the queue without its answer reaching the caller, as " +
    "the region's fault proxy logged it (an injected lose-answer or delay, or a caller whose own request timeout fired while " +
    "SQS worked), or in a placement the forward reported unconfirmed, or is the record's triedToken; the copy is in the " +
    'region of the kept copy.',
  [WINDOWS.ambiguousFailover]:
    'A send without an answer, then the message placed in ANOTHER region on a later delivery of the master message (the ' +
    "tried region was unhealthy, or it was the message's last try before the master DLQ). Evidence: as for an unconfirmed " +
    'send, with the copy in another region than the kept copy, and the two sent by different executions (each delivery ' +
    'runs under an execution name of its own). The same execution failing over after its own unanswered attempt is no ' +
    'window: a violation.',
  [WINDOWS.forwardCrash]:
    "The forward function sent, then failed before it answered (its runtime died): the workflow cannot know what was sent, " +
    "releases the claim and the redelivery sends again. Evidence: the copy's token is in the output of a forward the chaos " +
    'hook crashed after it ran; a kept copy in another region must come from a later execution, as for a failover.',
  [WINDOWS.sdkResend]:
    'The same entry (same dispatch token) twice: an SDK resent a request whose answer was lost. Evidence: two copies with one ' +
    'token, and that token in a faulted request that reached the queue.',
  [WINDOWS.commitLost]:
    'Forwarded and confirmed by SQS, but marking DISPATCHED failed (DynamoDB unreachable through every retry); the claim then ' +
    "lapsed and a repeat or a redelivery forwarded it again. Evidence: the copy's token was confirmed by a forward and is " +
    "missing from the record's tokens, which hold the kept copy's.",
  [WINDOWS.deadLetterResent]:
    'A dead-letter send whose answer was lost was sent again (the SDK, or the workflow Retry); or the intake\'s copy of an ' +
    "invalid message sent again by a later delivery before the earlier one's marker was written or could be read. Evidence: " +
    'the DLQ send for that message is in a faulted request that reached the queue; or the copies carry two batch ids and a ' +
    'receive count above 1.',
};
