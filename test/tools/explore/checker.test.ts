/**
 * The explorer's checks, each shown to fail on a run that breaks it and to pass on one that does not.
 */
import { describe, expect, it } from 'vitest';
import { checkRun } from '../../../tools/explore/checker.js';
import type { AttemptLog, CopyView, RunView } from '../../../tools/explore/observation.js';
import { WINDOWS } from '../../../tools/explore/windows.js';

const ids = ['r0', 'r1', 'r2'];
const regions = ['us-east-1', 'us-west-2', 'us-west-1'];

function attempt(seq: number, fields: Partial<AttemptLog> & Pick<AttemptLog, 'state' | 'role'>): AttemptLog {
  return { seq, execution: 0, item: '-', attempt: 1, holds: [], unanswered: [], sent: [], answerLost: false, ...fields };
}

/** Three requests, each forwarded once to its own region, committed and completed by one worker. */
function cleanRun(): RunView {
  return {
    combo: 'none',
    messages: ids.map((requestId, i) => ({ messageId: `m${i}`, requestId })),
    executions: [
      {
        index: 0,
        name: 'e0',
        status: 'SUCCEEDED',
        outcomes: ids.map((requestId, i) => ({ messageId: `m${i}`, requestId, outcome: 'dispatched' as const, region: regions[i] })),
      },
    ],
    attempts: ids.map((requestId, i) =>
      attempt(i + 1, { state: 'Forward', item: regions[i] as string, role: 'forward', holds: [requestId], sent: [{ region: regions[i] as string, requestId, token: `t${i}` }] }),
    ),
    copies: ids.map((requestId, i) => ({ queue: 'region' as const, region: regions[i], messageId: `q${i}`, requestId, token: `t${i}`, execution: 'e0' })),
    records: ids.map((requestId, i) => ({ requestId, status: 'DISPATCHED', token: `t${i}`, tokens: [`t${i}`], workStatus: 'COMPLETED' })),
    work: ids.map((requestId, i) => ({ requestId, token: `t${i}`, workerId: `w${i}`, result: 'completed' as const })),
    evidence: { storedUnanswered: [], deadLettersUnanswered: [] },
  };
}

const checks = (run: RunView) => checkRun(run).violations.map((v) => `${v.check} ${v.requestId}`);

describe('the explorer checker', () => {
  it('passes a run where every request is in one region, once, committed and completed once', () => {
    expect(checkRun(cleanRun())).toEqual({ violations: [], extraCopies: [] });
  });

  it('finds a lost message: taken, dispatched by the outcome, yet in no queue and not retried', () => {
    const run = { ...cleanRun(), copies: cleanRun().copies.filter((c) => c.requestId !== 'r1') };
    expect(checks(run)).toEqual(['lost r1']);
  });

  it('does not count a message sent back to the master queue as lost', () => {
    const base = cleanRun();
    const run: RunView = {
      ...base,
      copies: base.copies.filter((c) => c.requestId !== 'r1'),
      executions: [{ ...base.executions[0]!, outcomes: base.executions[0]!.outcomes.map((o) => (o.requestId === 'r1' ? { ...o, outcome: 'retry' as const } : o)) }],
    };
    expect(checks(run)).toEqual([]);
  });

  it('finds a failover after an unanswered forward in the same execution, and not after a refused one', () => {
    const base = cleanRun();
    const failover = (unanswered: string[]): RunView => ({
      ...base,
      attempts: [
        ...base.attempts.filter((a) => !(a.state === 'Forward' && a.item === 'us-west-1')),
        attempt(3, { state: 'Forward', item: 'us-west-1', role: 'forward', holds: ['r2'], unanswered }),
        attempt(4, { state: 'Forward', item: 'us-west-1', role: 'forward', attempt: 2, holds: ['r2'] }),
        attempt(5, { state: 'Failover', item: 'us-west-1', role: 'failover', holds: ['r2'], sent: [{ region: 'us-west-1', requestId: 'r2', token: 't2' }] }),
      ],
    });
    expect(checks(failover(['r2']))).toEqual(['failover-after-unanswered r2']);
    expect(checks(failover([]))).toEqual([]);
  });

  it('finds a dead-letter send after an unanswered forward, but allows a failover on the next delivery', () => {
    const base = cleanRun();
    const unanswered = attempt(3, { state: 'Forward', item: 'us-west-1', role: 'forward', holds: ['r2'], unanswered: ['r2'] });
    const deadLetter = attempt(6, { state: 'Dead-letter', role: 'dead-letter', item: 'm2', holds: ['r2'] });
    expect(checks({ ...base, attempts: [unanswered, deadLetter] })).toEqual(['failover-after-unanswered r2']);
    const nextDelivery = attempt(9, { execution: 1, state: 'Failover', item: 'us-west-1', role: 'failover', holds: ['r2'] });
    expect(checks({ ...base, attempts: [unanswered, nextDelivery] })).toEqual([]);
  });

  it('finds a request both in a regional queue and in the dispatch DLQ', () => {
    const base = cleanRun();
    const run = { ...base, copies: [...base.copies, { queue: 'dlq' as const, messageId: 'd0', requestId: 'r0', reason: 'no region' }] };
    expect(checks(run)).toEqual(['dispatched-and-dead-lettered r0', 'unexplained-copy r0']);
  });

  it('finds a request accepted by two workers', () => {
    const base = cleanRun();
    const run: RunView = { ...base, work: [...base.work, { requestId: 'r0', token: 't9', workerId: 'w9', result: 'accepted' }] };
    expect(checks(run)).toEqual(['accepted-twice r0']);
  });

  it('finds a DEAD_LETTERED record that a worker completed', () => {
    const base = cleanRun();
    const run: RunView = { ...base, records: base.records.map((r) => (r.requestId === 'r1' ? { ...r, status: 'DEAD_LETTERED' } : r)) };
    expect(checks(run)).toEqual(['dead-lettered-completed r1']);
  });

  describe('extra copies', () => {
    const second = (fields: Partial<CopyView>): CopyView => ({ queue: 'region', region: 'us-west-2', messageId: 'q9', requestId: 'r1', token: 't9', execution: 'e0', ...fields });

    it('flags a second copy that no evidence explains', () => {
      const base = cleanRun();
      const report = checkRun({ ...base, copies: [...base.copies, second({})] });
      expect(report.violations.map((v) => v.check)).toEqual(['unexplained-copy']);
      expect(report.extraCopies[0]?.token).toBe('t9');
    });

    it('names an unconfirmed send in the same region, with the stored-without-answer evidence', () => {
      const base = cleanRun();
      const run: RunView = { ...base, copies: [...base.copies, second({})], evidence: { storedUnanswered: [{ region: 'us-west-2', requestId: 'r1', token: 't9' }], deadLettersUnanswered: [] } };
      const report = checkRun(run);
      expect(report.violations).toEqual([]);
      expect(report.extraCopies).toEqual([expect.objectContaining({ requestId: 'r1', window: WINDOWS.unconfirmedSend })]);
    });

    it('allows another region only when the kept copy came on a later delivery', () => {
      const base = cleanRun();
      const evidence = { storedUnanswered: [{ region: 'us-west-1', requestId: 'r1', token: 't9' }], deadLettersUnanswered: [] };
      const executions = [...base.executions, { index: 1, name: 'e1', status: 'SUCCEEDED', outcomes: [] }];
      const later: RunView = {
        ...base,
        executions,
        copies: [...base.copies.map((c) => (c.requestId === 'r1' ? { ...c, execution: 'e1' } : c)), second({ region: 'us-west-1' })],
        evidence,
      };
      expect(checkRun(later).extraCopies.map((x) => x.window)).toEqual([WINDOWS.ambiguousFailover]);
      const same: RunView = { ...later, copies: [...base.copies, second({ region: 'us-west-1' })] };
      expect(checks(same)).toEqual(['unexplained-copy r1']);
    });

    it('names a forward whose answer was lost after it sent', () => {
      const base = cleanRun();
      const lostAnswer = attempt(7, { state: 'Forward', item: 'us-west-2', role: 'forward', holds: ['r1'], unanswered: ['r1'], fault: 'ran-crash', answerLost: true, sent: [{ region: 'us-west-2', requestId: 'r1', token: 't9' }] });
      const report = checkRun({ ...base, attempts: [...base.attempts, lostAnswer], copies: [...base.copies, second({})] });
      expect(report.violations).toEqual([]);
      expect(report.extraCopies.map((x) => x.window)).toEqual([WINDOWS.forwardCrash]);
    });

    it('allows a second DLQ copy only when a dead-letter send lost its answer', () => {
      const base = cleanRun();
      const dlq = (id: string): CopyView => ({ queue: 'dlq', messageId: id, requestId: 'r3', reason: 'no region' });
      const run: RunView = {
        ...base,
        messages: [...base.messages, { messageId: 'm3', requestId: 'r3' }],
        copies: [...base.copies, dlq('d1'), dlq('d2')],
        records: [...base.records, { requestId: 'r3', status: 'DEAD_LETTERED' }],
      };
      expect(checks(run)).toEqual(['unexplained-copy r3']);
      const explained = checkRun({ ...run, evidence: { storedUnanswered: [], deadLettersUnanswered: ['r3'] } });
      expect(explained.violations).toEqual([]);
      expect(explained.extraCopies.map((x) => x.window)).toEqual([WINDOWS.deadLetterResent]);
    });
  });
});
