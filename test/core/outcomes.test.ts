/** core/outcomes.ts: from an execution's output back to one outcome per master-queue message. */
import { describe, expect, it } from 'vitest';
import {
  countOutcomes,
  executionOutputSchema,
  failedExecutionOutcomes,
  flattenOutcomes,
  isDone,
  OUTCOMES,
  type ExecutionOutput,
  type Outcome,
} from '../../core/outcomes.js';

const output = (skipped: Outcome[], forwarded: Outcome[][]): ExecutionOutput => ({
  batchId: 'b20251202T102300-1a2b3c4d',
  executionName: 'b20251202T102300-1a2b3c4d',
  skipped,
  forwarded,
});

const dispatched = (id: string, region: string): Outcome => ({ messageId: id, requestId: `req-${id}`, outcome: 'dispatched', region, failedOver: false });

describe('flattenOutcomes', () => {
  it('returns one outcome per message id, in the order of the ids given, from skipped and every branch', () => {
    const out = output(
      [{ messageId: 'm2', outcome: 'duplicate', reason: 'duplicate request_id' }],
      [[dispatched('m4', 'us-east-1')], [], [dispatched('m1', 'us-west-1'), { messageId: 'm3', outcome: 'dead-lettered', reason: 'no region accepted the message' }]],
    );
    const outcomes = flattenOutcomes(['m1', 'm2', 'm3', 'm4'], out);
    expect(outcomes.map((o) => [o.messageId, o.outcome])).toEqual([
      ['m1', 'dispatched'],
      ['m2', 'duplicate'],
      ['m3', 'dead-lettered'],
      ['m4', 'dispatched'],
    ]);
    expect(outcomes[0]).toEqual(dispatched('m1', 'us-west-1'));
  });

  it('turns a message the output does not mention into a retry with a reason, never drops it', () => {
    const outcomes = flattenOutcomes(['m1', 'm2', 'm3'], output([], [[dispatched('m2', 'us-east-1')]]));
    expect(outcomes).toHaveLength(3);
    expect(outcomes[0]).toEqual({ messageId: 'm1', outcome: 'retry', reason: 'execution reported no outcome for this message' });
    expect(outcomes[2]).toMatchObject({ messageId: 'm3', outcome: 'retry' });
    expect(outcomes[2]?.reason).toBeTruthy();
  });

  it('retries everything for an empty output', () => {
    expect(flattenOutcomes(['a', 'b'], output([], [])).map((o) => o.outcome)).toEqual(['retry', 'retry']);
  });

  it('ignores outcomes for messages it was not asked about', () => {
    const outcomes = flattenOutcomes(['m1'], output([{ messageId: 'stranger', outcome: 'duplicate' }], [[dispatched('m1', 'us-east-1')]]));
    expect(outcomes).toEqual([dispatched('m1', 'us-east-1')]);
  });

  it('keeps the first outcome when a message is reported twice', () => {
    const outcomes = flattenOutcomes(['m1'], output([], [[dispatched('m1', 'us-east-1')], [dispatched('m1', 'us-west-2')]]));
    expect(outcomes).toEqual([dispatched('m1', 'us-east-1')]);
  });

  it('returns nothing for no ids', () => {
    expect(flattenOutcomes([], output([], [[dispatched('m1', 'us-east-1')]]))).toEqual([]);
  });
});

describe('failedExecutionOutcomes', () => {
  it('retries every message of the execution with its error as the reason, in order', () => {
    expect(failedExecutionOutcomes(['m1', 'm2'], 'execution b-1 FAILED: States.Timeout')).toEqual([
      { messageId: 'm1', outcome: 'retry', reason: 'execution b-1 FAILED: States.Timeout' },
      { messageId: 'm2', outcome: 'retry', reason: 'execution b-1 FAILED: States.Timeout' },
    ]);
    expect(failedExecutionOutcomes([], 'x')).toEqual([]);
  });
});

describe('isDone and countOutcomes', () => {
  it('treats dispatched, duplicate and dead-lettered as done, retry as not done', () => {
    expect(OUTCOMES.filter((outcome) => isDone({ messageId: 'm', outcome }))).toEqual(['dispatched', 'duplicate', 'dead-lettered']);
    expect(isDone({ messageId: 'm', outcome: 'retry' })).toBe(false);
  });

  it('counts every kind, zeros included', () => {
    expect(countOutcomes([])).toEqual({ dispatched: 0, duplicate: 0, 'dead-lettered': 0, retry: 0 });
    const outcomes: Outcome[] = [
      dispatched('a', 'us-east-1'),
      dispatched('b', 'us-west-2'),
      { messageId: 'c', outcome: 'retry' },
      { messageId: 'd', outcome: 'dead-lettered' },
      dispatched('e', 'us-west-1'),
      { messageId: 'f', outcome: 'duplicate' },
    ];
    expect(countOutcomes(outcomes)).toEqual({ dispatched: 3, duplicate: 1, 'dead-lettered': 1, retry: 1 });
  });
});

describe('executionOutputSchema', () => {
  it('accepts what flattenOutcomes consumes and rejects an unknown outcome', () => {
    expect(executionOutputSchema.safeParse(output([], [[dispatched('m1', 'us-east-1')]])).success).toBe(true);
    expect(executionOutputSchema.safeParse({ ...output([], []), skipped: [{ messageId: 'm', outcome: 'lost' }] }).success).toBe(false);
    expect(executionOutputSchema.safeParse({ batchId: 'b', executionName: 'b', skipped: [] }).success).toBe(false);
  });
});
