/**
 * The chaos suite's total-queue checker (tools/chaos/checker.ts) on hand-made observations: what counts as
 * completed, lost, pending, processed twice, dead-lettered with or without a reason, and how every copy
 * beyond the first is attributed to a named window, or reported UNEXPLAINED, from evidence.
 */
import { describe, expect, it } from 'vitest';
import { SAME_EXECUTION_DEAD_LETTER, SAME_EXECUTION_FAILOVER, checkScenario, type Evidence, type ObservedMessage, type Observations, type RecordView, type SentMessage, type WorkEvent } from '../../../tools/chaos/checker.js';
import { fromFaultLog } from '../../../tools/chaos/evidence.js';
import { UNEXPLAINED, WINDOWS } from '../../../tools/chaos/windows.js';
import type { FaultRecord } from '../../../tools/local/faults/stats.js';

const sentRequest = (requestId: string, masterMessageId = `m-${requestId}`, kind: SentMessage['kind'] = 'request'): SentMessage => ({
  masterMessageId,
  kind,
  requestId,
});

const copy = (requestId: string, region: string, token: string, extra: Partial<ObservedMessage> = {}): ObservedMessage => ({
  queue: 'region',
  region,
  messageId: `sqs-${region}-${token}`,
  requestId,
  token,
  leftAtEnd: false,
  ...extra,
});

const processed = (requestId: string, region: string, token: string, workerId = 'w-1'): WorkEvent => ({
  kind: 'processed',
  region,
  workerId,
  messageId: `sqs-${region}-${token}`,
  requestId,
  token,
});

const noEvidence: Evidence = { unansweredSends: [], crashedForwards: [], confirmedSends: [], unansweredDeadLetters: [] };

function observe(parts: Omit<Partial<Observations>, 'evidence'> & { evidence?: Partial<Evidence> }): Observations {
  return {
    messages: parts.messages ?? [],
    work: parts.work ?? [],
    records: parts.records ?? [],
    evidence: { ...noEvidence, ...parts.evidence },
    ...(parts.drainMs === undefined ? {} : { drainMs: parts.drainMs }),
  };
}

const dispatched = (requestId: string, token: string, more: Partial<RecordView> = {}): RecordView => ({
  requestId,
  status: 'DISPATCHED',
  token,
  tokens: [token],
  workStatus: 'COMPLETED',
  ...more,
});

describe('accounting', () => {
  it('counts requests processed once, with repeats counted as messages sent but not as requests', () => {
    const sent = [sentRequest('a'), sentRequest('b'), sentRequest('a', 'm-a-2', 'repeat')];
    const result = checkScenario(
      sent,
      observe({
        messages: [copy('a', 'us-east-1', 't-a'), copy('b', 'us-west-2', 't-b')],
        work: [processed('a', 'us-east-1', 't-a'), processed('b', 'us-west-2', 't-b')],
        records: [dispatched('a', 't-a'), dispatched('b', 't-b')],
        drainMs: 1234,
      }),
    );
    expect(result).toMatchObject({ sent: 3, uniqueRequests: 2, repeats: 1, acceptedOnce: 2, lost: [], acceptedTwice: [], extraCopies: [], pending: [], drainMs: 1234, ok: true });
  });

  it('reports a request found nowhere as lost', () => {
    const result = checkScenario([sentRequest('a'), sentRequest('b')], observe({ work: [processed('a', 'us-east-1', 't-a')], messages: [copy('a', 'us-east-1', 't-a')] }));
    expect(result.lost).toEqual(['b']);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/lost 1: b/);
  });

  it('counts a COMPLETED record as completed even without a worker event', () => {
    const result = checkScenario([sentRequest('a')], observe({ records: [dispatched('a', 't-a')] }));
    expect(result.acceptedOnce).toBe(1);
    expect(result.lost).toEqual([]);
  });

  it('reports a request still in the master queue, or unprocessed in a regional queue, as pending, not lost', () => {
    const result = checkScenario(
      [sentRequest('a'), sentRequest('b')],
      observe({
        messages: [
          { queue: 'master', messageId: 'm-a', requestId: 'a', leftAtEnd: true },
          copy('b', 'us-west-1', 't-b', { leftAtEnd: true }),
        ],
      }),
    );
    expect(result.pending).toEqual(['a', 'b']);
    expect(result.lost).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('reports a request processed twice (two tokens, two workers) as accepted twice', () => {
    const result = checkScenario(
      [sentRequest('a')],
      observe({
        messages: [copy('a', 'us-east-1', 't1'), copy('a', 'us-east-1', 't2')],
        work: [processed('a', 'us-east-1', 't1', 'w-1'), processed('a', 'us-east-1', 't2', 'w-2')],
        records: [dispatched('a', 't2')],
        evidence: { unansweredSends: [{ region: 'us-east-1', requestId: 'a', token: 't1' }] },
      }),
    );
    expect(result.acceptedTwice).toEqual(['a']);
    expect(result.acceptedOnce).toBe(0);
    expect(result.ok).toBe(false);
  });

  it('counts the same token accepted again after its worker died, and does not call it twice', () => {
    const result = checkScenario(
      [sentRequest('a')],
      observe({
        messages: [copy('a', 'us-east-1', 't1')],
        work: [{ kind: 'crashed', region: 'us-east-1', workerId: 'w-1', messageId: 'sqs-us-east-1-t1', requestId: 'a', token: 't1' }, processed('a', 'us-east-1', 't1', 'w-2')],
        records: [dispatched('a', 't1')],
      }),
    );
    expect(result).toMatchObject({ acceptedOnce: 1, acceptedTwice: [], reacceptedAfterCrash: 1, ok: true });
  });

  it('merges a copy a worker received with the same message drained at the end', () => {
    const result = checkScenario(
      [sentRequest('a')],
      observe({ messages: [copy('a', 'us-east-1', 't1'), copy('a', 'us-east-1', 't1', { leftAtEnd: true })], records: [{ requestId: 'a', status: 'DISPATCHED', token: 't1', tokens: ['t1'] }] }),
    );
    expect(result.extraCopies).toEqual([]);
    expect(result.pending).toEqual(['a']);
  });
});

describe('dead letters', () => {
  it('counts a request in the dispatch DLQ with a reason as dead-lettered, not lost', () => {
    const result = checkScenario(
      [sentRequest('a')],
      observe({ messages: [{ queue: 'dispatch-dlq', messageId: 'd1', requestId: 'a', reason: 'no region accepted the message', sourceMessageId: 'm-a', leftAtEnd: true }] }),
    );
    expect(result).toMatchObject({ deadLetteredWithReason: 1, lost: [], deadLetteredWithoutReason: [], ok: true });
  });

  it('reports a request only in the master DLQ, or in the dispatch DLQ without a reason, as lost and dead-lettered without a reason', () => {
    const result = checkScenario(
      [sentRequest('a'), sentRequest('b')],
      observe({
        messages: [
          { queue: 'master-dlq', messageId: 'm-a', leftAtEnd: true, body: '{"request_id":"a"}', requestId: 'a' },
          { queue: 'dispatch-dlq', messageId: 'd-b', requestId: 'b', reason: '  ', leftAtEnd: true },
        ],
      }),
    );
    expect(result.lost).toEqual(['a', 'b']);
    expect(result.deadLetteredWithoutReason).toEqual(['a', 'b']);
    expect(result.deadLetteredWithReason).toBe(0);
  });

  it('reports a copy moved to its regional DLQ (never processed) as lost without a reason', () => {
    const result = checkScenario([sentRequest('a')], observe({ messages: [{ ...copy('a', 'us-west-2', 't1', { leftAtEnd: true }), queue: 'regional-dlq' }] }));
    expect(result.lost).toEqual(['a']);
    expect(result.deadLetteredWithoutReason).toEqual(['a']);
  });

  it('finds a master-DLQ message of a completed request by its master message id, and counts it apart', () => {
    const result = checkScenario(
      [sentRequest('a', 'm-1')],
      observe({
        messages: [copy('a', 'us-east-1', 't1'), { queue: 'master-dlq', messageId: 'm-1', leftAtEnd: true }],
        work: [processed('a', 'us-east-1', 't1')],
        records: [dispatched('a', 't1')],
      }),
    );
    expect(result).toMatchObject({ masterDlqOfCompleted: 1, lost: [], deadLetteredWithoutReason: [], ok: true });
  });
});

describe('extra copies and their windows', () => {
  const twoCopies = (first: ObservedMessage, second: ObservedMessage, record: RecordView, evidence: Partial<Evidence> = {}) =>
    checkScenario([sentRequest('a')], observe({ messages: [first, second], work: [processed('a', record.token === first.token ? (first.region as string) : (second.region as string), record.token as string)], records: [record], evidence }));

  it('a second copy in the same region from a send whose answer was lost: unconfirmed send', () => {
    const result = twoCopies(copy('a', 'us-west-1', 't-lost'), copy('a', 'us-west-1', 't-kept'), dispatched('a', 't-kept'), {
      unansweredSends: [{ region: 'us-west-1', requestId: 'a', token: 't-lost' }],
    });
    expect(result.extraCopies).toEqual([expect.objectContaining({ item: 'a', token: 't-lost', window: WINDOWS.unconfirmedSend })]);
    expect(result.ok).toBe(true);
  });

  it('the same copy without any evidence: UNEXPLAINED, and the scenario fails', () => {
    const result = twoCopies(copy('a', 'us-west-1', 't-lost'), copy('a', 'us-west-1', 't-kept'), dispatched('a', 't-kept'));
    expect(result.unexplained).toEqual([expect.objectContaining({ token: 't-lost', window: UNEXPLAINED })]);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/UNEXPLAINED copy \(message sqs-us-west-1-t-lost\) of a in us-west-1: no evidence explains token t-lost/);
  });

  it('evidence for another region (or another request) explains nothing', () => {
    const result = twoCopies(copy('a', 'us-west-1', 't-lost'), copy('a', 'us-west-1', 't-kept'), dispatched('a', 't-kept'), {
      unansweredSends: [
        { region: 'us-west-2', requestId: 'a', token: 't-lost' },
        { region: 'us-west-1', requestId: 'b', token: 't-lost' },
      ],
    });
    expect(result.unexplained).toHaveLength(1);
  });

  it('an attempt that ended RegionUnconfirmed explains an uncommitted copy in its region, whose token nobody returned', () => {
    const result = twoCopies(copy('a', 'us-east-1', 't-unheard'), copy('a', 'us-east-1', 't-kept'), dispatched('a', 't-kept'), {
      unansweredAttempts: [{ region: 'us-east-1', requestId: 'a', execution: 'b1' }],
      confirmedSends: [{ region: 'us-east-1', requestId: 'a', token: 't-kept', execution: 'b1' }],
    });
    expect(result.extraCopies).toEqual([expect.objectContaining({ token: 't-unheard', window: WINDOWS.unconfirmedSend })]);
    expect(result.ok).toBe(true);
  });

  it('an unanswered attempt explains nothing in another region, for another request, or for the committed copy', () => {
    const elsewhere = twoCopies(copy('a', 'us-east-1', 't-unheard'), copy('a', 'us-east-1', 't-kept'), dispatched('a', 't-kept'), {
      unansweredAttempts: [
        { region: 'us-west-1', requestId: 'a', execution: 'b1' },
        { region: 'us-east-1', requestId: 'b', execution: 'b1' },
      ],
    });
    expect(elsewhere.unexplained).toEqual([expect.objectContaining({ token: 't-unheard', window: UNEXPLAINED })]);
    // Failed over by the execution whose own attempt went unanswered: still a violation.
    const sameExecution = twoCopies(copy('a', 'us-west-1', 't-unheard'), copy('a', 'us-east-1', 't-kept'), dispatched('a', 't-kept'), {
      unansweredAttempts: [{ region: 'us-west-1', requestId: 'a', execution: 'b1' }],
      confirmedSends: [{ region: 'us-east-1', requestId: 'a', token: 't-kept', execution: 'b1' }],
    });
    expect(sameExecution.unexplained).toEqual([expect.objectContaining({ why: expect.stringMatching(new RegExp(`^${SAME_EXECUTION_FAILOVER} \\(b1\\)`)) })]);
    expect(sameExecution.ok).toBe(false);
  });

  it("the record's triedToken is evidence of an unanswered send", () => {
    const result = twoCopies(copy('a', 'us-west-1', 't-tried'), copy('a', 'us-west-1', 't-kept'), dispatched('a', 't-kept', { triedRegion: 'us-west-1', triedToken: 't-tried' }));
    expect(result.extraCopies[0]?.window).toBe(WINDOWS.unconfirmedSend);
  });

  describe('failover after an ambiguous forward counts only on a later delivery', () => {
    const failover = (lostBy: string | undefined, keptBy: string | undefined) =>
      twoCopies(copy('a', 'us-west-1', 't-lost'), copy('a', 'us-east-1', 't-kept'), dispatched('a', 't-kept', { triedRegion: 'us-west-1' }), {
        unansweredSends: [{ region: 'us-west-1', requestId: 'a', token: 't-lost', ...(lostBy ? { execution: lostBy } : {}) }],
        confirmedSends: [{ region: 'us-east-1', requestId: 'a', token: 't-kept', ...(keptBy ? { execution: keptBy } : {}) }],
      });

    it('the kept copy placed in another region by a later execution: failover after an ambiguous forward', () => {
      const result = failover('b1', 'b2');
      expect(result.extraCopies).toEqual([expect.objectContaining({ region: 'us-west-1', window: WINDOWS.ambiguousFailover })]);
      expect(result.sameExecution).toEqual([]);
      expect(result.ok).toBe(true);
    });

    it('failed over by the execution whose own send went unanswered: a violation, not a window', () => {
      const result = failover('b1', 'b1');
      expect(result.unexplained).toEqual([expect.objectContaining({ region: 'us-west-1', why: expect.stringMatching(new RegExp(`^${SAME_EXECUTION_FAILOVER} \\(b1\\)`)) })]);
      expect(result.sameExecution).toEqual([expect.stringMatching(/^a: failed over after an unanswered attempt in the same execution b1 \(unanswered in us-west-1, then sent to us-east-1\)/)]);
      expect(result.ok).toBe(false);
      expect(result.problems.join('\n')).toMatch(/unanswered, then failed over or dead-lettered in the same execution 1/);
    });

    it('no evidence of which execution sent either copy: UNEXPLAINED (a later delivery must be shown)', () => {
      expect(failover(undefined, 'b2').unexplained).toHaveLength(1);
      expect(failover('b1', undefined).unexplained).toHaveLength(1);
    });

    it("reads a copy's execution from its own message attribute when no send names it", () => {
      const result = twoCopies(copy('a', 'us-west-1', 't-lost', { execution: 'b1' }), copy('a', 'us-east-1', 't-kept', { execution: 'b1' }), dispatched('a', 't-kept'), {
        unansweredSends: [{ region: 'us-west-1', requestId: 'a', token: 't-lost' }],
      });
      expect(result.unexplained[0]?.why).toMatch(SAME_EXECUTION_FAILOVER);
    });

    it('a retry in the same region by the same execution stays an unconfirmed send', () => {
      const result = twoCopies(copy('a', 'us-west-1', 't-lost'), copy('a', 'us-west-1', 't-kept'), dispatched('a', 't-kept'), {
        unansweredSends: [{ region: 'us-west-1', requestId: 'a', token: 't-lost', execution: 'b1' }],
        confirmedSends: [{ region: 'us-west-1', requestId: 'a', token: 't-kept', execution: 'b1' }],
      });
      expect(result.extraByWindow).toEqual({ [WINDOWS.unconfirmedSend]: 1 });
      expect(result.ok).toBe(true);
    });

    it('a forward that crashed after sending, then a failover in the same execution: a violation; on a later delivery: the crash window', () => {
      const crash = (keptBy: string) =>
        twoCopies(copy('a', 'us-west-2', 't-crash'), copy('a', 'us-east-1', 't-kept'), dispatched('a', 't-kept'), {
          crashedForwards: [{ region: 'us-west-2', requestId: 'a', token: 't-crash', execution: 'b1' }],
          confirmedSends: [{ region: 'us-east-1', requestId: 'a', token: 't-kept', execution: keptBy }],
        });
      expect(crash('b2').extraByWindow).toEqual({ [WINDOWS.forwardCrash]: 1 });
      const same = crash('b1');
      expect(same.unexplained[0]?.why).toMatch(SAME_EXECUTION_FAILOVER);
      expect(same.sameExecution).toHaveLength(1);
    });
  });

  it('keeps the committed copy even when another was seen first', () => {
    const result = twoCopies(copy('a', 'us-west-1', 't-lost'), copy('a', 'us-east-1', 't-kept'), dispatched('a', 't-kept'), {
      unansweredSends: [{ region: 'us-west-1', requestId: 'a', token: 't-lost' }],
    });
    expect(result.extraCopies.map((e) => e.token)).toEqual(['t-lost']);
  });

  it('a copy sent by a forward that crashed after sending: forward crashed after sending', () => {
    const result = twoCopies(copy('a', 'us-west-2', 't-crash'), copy('a', 'us-west-2', 't-kept'), dispatched('a', 't-kept', { triedRegion: 'us-west-2' }), {
      crashedForwards: [{ region: 'us-west-2', requestId: 'a', token: 't-crash' }],
    });
    expect(result.extraCopies[0]?.window).toBe(WINDOWS.forwardCrash);
  });

  it('two copies with one token: SDK resend when a request carrying it lost its answer, UNEXPLAINED otherwise', () => {
    const first = copy('a', 'us-east-1', 't1', { messageId: 'q1' });
    const second = copy('a', 'us-east-1', 't1', { messageId: 'q2' });
    const explained = checkScenario(
      [sentRequest('a')],
      observe({ messages: [first, second], records: [dispatched('a', 't1')], evidence: { unansweredSends: [{ region: 'us-east-1', requestId: 'a', token: 't1' }] } }),
    );
    expect(explained.extraCopies).toEqual([expect.objectContaining({ messageId: 'q2', window: WINDOWS.sdkResend })]);
    const unexplained = checkScenario([sentRequest('a')], observe({ messages: [first, second], records: [dispatched('a', 't1')] }));
    expect(unexplained.unexplained).toHaveLength(1);
  });

  it('a confirmed send whose mark never landed, then forwarded again: commit lost, claim lapsed', () => {
    const result = twoCopies(copy('a', 'us-west-2', 't-first'), copy('a', 'us-east-1', 't-second'), dispatched('a', 't-second'), {
      confirmedSends: [
        { region: 'us-west-2', requestId: 'a', token: 't-first' },
        { region: 'us-east-1', requestId: 'a', token: 't-second' },
      ],
    });
    expect(result.extraCopies[0]?.window).toBe(WINDOWS.commitLost);
    // A confirmed send that the record does hold is not a lost commit: two commits are unexplained.
    const both = twoCopies(copy('a', 'us-west-2', 't-first'), copy('a', 'us-east-1', 't-second'), dispatched('a', 't-second', { tokens: ['t-first', 't-second'] }), {
      confirmedSends: [{ region: 'us-west-2', requestId: 'a', token: 't-first' }],
    });
    expect(both.extraCopies[0]?.window).toBe(UNEXPLAINED);
  });

  it('two confirmed sends, neither committed (the commit failed twice): commit lost for the one not kept', () => {
    const result = checkScenario(
      [sentRequest('a')],
      observe({
        messages: [copy('a', 'us-west-2', 't-first'), copy('a', 'us-east-1', 't-second')],
        work: [processed('a', 'us-east-1', 't-second')],
        records: [{ requestId: 'a', status: 'IN_PROGRESS', workStatus: 'COMPLETED', acceptedToken: 't-second' }],
        evidence: {
          confirmedSends: [
            { region: 'us-west-2', requestId: 'a', token: 't-first' },
            { region: 'us-east-1', requestId: 'a', token: 't-second' },
          ],
        },
      }),
    );
    expect(result.extraCopies).toEqual([expect.objectContaining({ token: 't-first', window: WINDOWS.commitLost })]);
  });

  it('a request both forwarded and dead-lettered: UNEXPLAINED', () => {
    const result = checkScenario(
      [sentRequest('a')],
      observe({
        messages: [copy('a', 'us-east-1', 't1'), { queue: 'dispatch-dlq', messageId: 'd1', requestId: 'a', reason: 'x', leftAtEnd: true }],
        work: [processed('a', 'us-east-1', 't1')],
        records: [dispatched('a', 't1')],
      }),
    );
    expect(result.unexplained).toEqual([expect.objectContaining({ queue: 'dispatch-dlq', why: expect.stringMatching(/^in the dispatch DLQ and also forwarded to a region/) })]);
  });

  it('a request dead-lettered by the execution whose send went unanswered: in a region and in the DLQ, both violations', () => {
    const result = checkScenario(
      [sentRequest('a')],
      observe({
        messages: [copy('a', 'us-west-1', 't-lost'), { queue: 'dispatch-dlq', messageId: 'd1', requestId: 'a', reason: 'no region', execution: 'b1', leftAtEnd: true }],
        records: [{ requestId: 'a', status: 'DEAD_LETTERED', reason: 'no region' }],
        evidence: { unansweredSends: [{ region: 'us-west-1', requestId: 'a', token: 't-lost', execution: 'b1' }] },
      }),
    );
    expect(result.unexplained).toEqual([expect.objectContaining({ region: 'us-west-1', why: expect.stringMatching(new RegExp(`^${SAME_EXECUTION_DEAD_LETTER}`)) })]);
    expect(result.sameExecution).toEqual([expect.stringMatching(/^a: dead-lettered after an unanswered attempt in the same execution b1/)]);
    expect(result.dispatchedAndDeadLettered).toEqual(['a']);
    expect(result.ok).toBe(false);
  });

  it('nothing both dispatched and dead-lettered: a regional copy beside a DLQ copy fails the scenario, whichever was kept', () => {
    const dlq: ObservedMessage = { queue: 'dispatch-dlq', messageId: 'd1', requestId: 'a', reason: 'r', leftAtEnd: true };
    const regional = copy('a', 'us-east-1', 't1', { leftAtEnd: true });
    const result = checkScenario(
      [sentRequest('a'), sentRequest('b')],
      observe({ messages: [regional, dlq, { ...dlq, messageId: 'd2', requestId: 'b' }], records: [{ requestId: 'a', status: 'DEAD_LETTERED' }, { requestId: 'b', status: 'DEAD_LETTERED' }] }),
    );
    expect(result.dispatchedAndDeadLettered).toEqual(['a']);
    expect(result.problems.join('\n')).toMatch(/both dispatched and dead-lettered 1: a/);
    expect(result.ok).toBe(false);
    // A request only in the DLQ is dead-lettered, nothing more.
    const clean = checkScenario([sentRequest('b')], observe({ messages: [{ ...dlq, requestId: 'b' }], records: [{ requestId: 'b', status: 'DEAD_LETTERED' }] }));
    expect(clean).toMatchObject({ dispatchedAndDeadLettered: [], deadLetteredCompleted: [], ok: true });
  });

  it('no DEAD_LETTERED record completed by a worker (the record says so, or a worker processed it)', () => {
    const dlq: ObservedMessage = { queue: 'dispatch-dlq', messageId: 'd1', requestId: 'a', reason: 'r', leftAtEnd: true };
    const byRecord = checkScenario([sentRequest('a')], observe({ messages: [dlq], records: [{ requestId: 'a', status: 'DEAD_LETTERED', workStatus: 'COMPLETED', completedAt: 5 }] }));
    expect(byRecord.deadLetteredCompleted).toEqual(['a']);
    expect(byRecord.problems.join('\n')).toMatch(/DEAD_LETTERED yet completed by a worker 1: a/);
    expect(byRecord.ok).toBe(false);
    const byWorker = checkScenario([sentRequest('a')], observe({ messages: [dlq], work: [processed('a', 'us-east-1', 't1')], records: [{ requestId: 'a', status: 'DEAD_LETTERED' }] }));
    expect(byWorker.deadLetteredCompleted).toEqual(['a']);
    const redriven = checkScenario([sentRequest('a')], observe({ messages: [dlq], records: [{ requestId: 'a', status: 'REDRIVEN', workStatus: 'COMPLETED' }] }));
    expect(redriven.deadLetteredCompleted).toEqual([]);
  });

  it('two DLQ copies of one request: dead-letter sent again with evidence, UNEXPLAINED without', () => {
    const messages: ObservedMessage[] = [
      { queue: 'dispatch-dlq', messageId: 'd1', requestId: 'a', reason: 'r', leftAtEnd: true },
      { queue: 'dispatch-dlq', messageId: 'd2', requestId: 'a', reason: 'r', leftAtEnd: true },
    ];
    const record: RecordView = { requestId: 'a', status: 'DEAD_LETTERED' };
    const explained = checkScenario([sentRequest('a')], observe({ messages, records: [record], evidence: { unansweredDeadLetters: [{ requestId: 'a' }] } }));
    expect(explained.extraByWindow).toEqual({ [WINDOWS.deadLetterResent]: 1 });
    const unexplained = checkScenario([sentRequest('a')], observe({ messages, records: [record] }));
    expect(unexplained.ok).toBe(false);
  });
});

describe('bad input', () => {
  const deadLetterCase = (masterMessageId: string, reason: RegExp): SentMessage => ({
    masterMessageId,
    kind: 'malformed',
    caseName: `case-${masterMessageId}`,
    expected: { result: 'dead-letter', reason },
  });

  it('a malformed message in the dispatch DLQ with a matching reason is dead-lettered with a reason', () => {
    const result = checkScenario(
      [deadLetterCase('m1', /^invalid request: body is not JSON/)],
      observe({ messages: [{ queue: 'dispatch-dlq', messageId: 'd1', sourceMessageId: 'm1', reason: 'invalid request: body is not JSON: oops', leftAtEnd: true }] }),
    );
    expect(result).toMatchObject({ malformed: 1, uniqueRequests: 0, deadLetteredWithReason: 1, badInput: [], ok: true });
  });

  it('a reason that does not name the problem is a mismatch; a missing one is lost; one still queued is pending', () => {
    const result = checkScenario(
      [deadLetterCase('m1', /nested 33 levels/), deadLetterCase('m2', /x/), deadLetterCase('m3', /x/)],
      observe({
        messages: [
          { queue: 'dispatch-dlq', messageId: 'd1', sourceMessageId: 'm1', reason: 'invalid request: something else', leftAtEnd: true },
          { queue: 'master', messageId: 'm3', leftAtEnd: true },
        ],
      }),
    );
    expect(result.badInput).toEqual([expect.objectContaining({ caseName: 'case-m1' })]);
    expect(result.lost).toEqual(['message m2 (case-m2)']);
    expect(result.pending).toEqual(['message m3 (case-m3)']);
    expect(result.ok).toBe(false);
  });

  it('a corpus case the schema accepts must be dispatched unchanged and never dead-lettered', () => {
    const sent: SentMessage = { masterMessageId: 'm1', kind: 'malformed', caseName: 'proto', expected: { result: 'dispatch', requestId: 'req-c-proto' }, body: '{"request_id":"req-c-proto"}' };
    const good = checkScenario(
      [sent],
      observe({ messages: [copy('req-c-proto', 'us-east-1', 't1', { body: sent.body as string })], work: [processed('req-c-proto', 'us-east-1', 't1')] }),
    );
    expect(good).toMatchObject({ uniqueRequests: 1, acceptedOnce: 1, badInput: [], ok: true });
    const changed = checkScenario(
      [sent],
      observe({ messages: [copy('req-c-proto', 'us-east-1', 't1', { body: '{"request_id":"req-c-proto","x":1}' })], work: [processed('req-c-proto', 'us-east-1', 't1')] }),
    );
    expect(changed.badInput).toEqual([expect.objectContaining({ expected: 'the body forwarded unchanged' })]);
  });

  it('a malformed message dead-lettered twice: dead-letter sent again only with evidence on its source message', () => {
    const messages: ObservedMessage[] = [
      { queue: 'dispatch-dlq', messageId: 'd1', sourceMessageId: 'm1', reason: 'invalid request: x', leftAtEnd: true },
      { queue: 'dispatch-dlq', messageId: 'd2', sourceMessageId: 'm1', reason: 'invalid request: x', leftAtEnd: true },
    ];
    const explained = checkScenario([deadLetterCase('m1', /x/)], observe({ messages, evidence: { unansweredDeadLetters: [{ sourceMessageId: 'm1' }] } }));
    expect(explained.extraByWindow).toEqual({ [WINDOWS.deadLetterResent]: 1 });
    expect(explained.ok).toBe(true);
    expect(checkScenario([deadLetterCase('m1', /x/)], observe({ messages })).unexplained).toHaveLength(1);
  });

  it('a malformed message dead-lettered by two deliveries (another batch, a later receive): dead-letter sent again; by one batch twice: UNEXPLAINED', () => {
    const dlqCopy = (messageId: string, batchId: string, receiveCount: number): ObservedMessage => ({
      queue: 'dispatch-dlq',
      messageId,
      sourceMessageId: 'm1',
      reason: 'invalid request: x',
      batchId,
      receiveCount,
      leftAtEnd: true,
    });
    const redelivered = checkScenario([deadLetterCase('m1', /x/)], observe({ messages: [dlqCopy('d1', 'b1', 1), dlqCopy('d2', 'b2', 2)] }));
    expect(redelivered.extraByWindow).toEqual({ [WINDOWS.deadLetterResent]: 1 });
    expect(redelivered.ok).toBe(true);
    expect(checkScenario([deadLetterCase('m1', /x/)], observe({ messages: [dlqCopy('d1', 'b1', 1), dlqCopy('d2', 'b1', 1)] })).unexplained).toHaveLength(1);
  });
});

describe('evidence from a fault log', () => {
  const record = (partial: Partial<FaultRecord>): FaultRecord => ({ seq: 1, at: 0, action: 'SendMessageBatch', mode: 'lose-answer', ruleId: 'rule-1', applied: true, ...partial });
  const queues = { regional: new Map([['inference-dispatch-queue-us-west-1-chaos', 'us-west-1']]), deadLetter: new Set(['inference-dispatch-dlq-chaos']) };
  const batch = (queue: string, entries: Array<Record<string, string>>) =>
    JSON.stringify({
      QueueUrl: `http://sqs.us-west-1.localhost:1/000000000000/${queue}`,
      Entries: entries.map((attrs, i) => ({ Id: `m${i}`, MessageBody: '{}', MessageAttributes: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])) })),
    });

  it('reads each entry of an applied SendMessageBatch whose answer was lost', () => {
    const body = batch('inference-dispatch-queue-us-west-1-chaos', [
      { request_id: 'a', dispatch_token: 't1' },
      { request_id: 'b', dispatch_token: 't2' },
    ]);
    expect(fromFaultLog([record({ body })], queues).unansweredSends).toEqual([
      { region: 'us-west-1', requestId: 'a', token: 't1' },
      { region: 'us-west-1', requestId: 'b', token: 't2' },
    ]);
  });

  it('names the execution that sent each entry, from its execution attribute', () => {
    const body = batch('inference-dispatch-queue-us-west-1-chaos', [{ request_id: 'a', dispatch_token: 't1', execution: 'b1' }]);
    expect(fromFaultLog([record({ body })], queues).unansweredSends).toEqual([{ region: 'us-west-1', requestId: 'a', token: 't1', execution: 'b1' }]);
  });

  it('ignores requests the target never applied, faults that never forwarded, and other actions', () => {
    const body = batch('inference-dispatch-queue-us-west-1-chaos', [{ request_id: 'a', dispatch_token: 't1' }]);
    const log = [record({ body, applied: false }), record({ body, mode: 'hang', applied: undefined as never }), record({ body, action: 'ReceiveMessage' })];
    expect(fromFaultLog(log, queues).unansweredSends).toEqual([]);
  });

  it('reads requests whose caller hung up (its own timeout) while the target applied them, and not those the target refused', () => {
    const body = batch('inference-dispatch-queue-us-west-1-chaos', [{ request_id: 'a', dispatch_token: 't1' }]);
    const abandoned = [
      { seq: 1, at: 0, action: 'SendMessageBatch', targetStatus: 200, applied: true, body },
      { seq: 2, at: 0, action: 'SendMessageBatch', targetStatus: 400, applied: false, body: batch('inference-dispatch-queue-us-west-1-chaos', [{ request_id: 'b', dispatch_token: 't2' }]) },
    ];
    expect(fromFaultLog([], queues, abandoned).unansweredSends).toEqual([{ region: 'us-west-1', requestId: 'a', token: 't1' }]);
  });

  it('reads dead-letter sends (SendMessage of the workflow, SendMessageBatch of the intake)', () => {
    const single = JSON.stringify({
      QueueUrl: 'http://x/000000000000/inference-dispatch-dlq-chaos',
      MessageBody: '{}',
      MessageAttributes: { request_id: { DataType: 'String', StringValue: 'a' } },
    });
    const fromIntake = batch('inference-dispatch-dlq-chaos', [{ source_message_id: 'm9', reason: 'r' }]);
    expect(fromFaultLog([record({ action: 'SendMessage', body: single }), record({ body: fromIntake, mode: 'delay' })], queues).unansweredDeadLetters).toEqual([
      { requestId: 'a' },
      { sourceMessageId: 'm9' },
    ]);
  });
});
