/** ops/dlq-model.ts: the pure decisions of `dlq` and `redrive` (no queue, no table). */
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  baseReason,
  groupByReason,
  listingReason,
  MASTER_DLQ_REASON,
  NO_REASON,
  parseQueueKind,
  queueName,
  queueRegion,
  readDlqMessage,
  readRecord,
  redriveAttributes,
  redriveVerdict,
  REDRIVE_REASON_CHARS,
  selects,
  truncate,
  type RecordRead,
} from '../../../tools/ops/dlq-model.js';

const NOW = 1_800_000_000;
const VALID_BODY = JSON.stringify({ request_id: 'req-body', model_name: 'm', input_data_url: 's3://b/k' });

const attr = (value: string) => ({ DataType: 'String', StringValue: value });

function message(body: string, attributes: Record<string, string> = {}, extra: Partial<Message> = {}): Message {
  return {
    MessageId: 'm-1',
    ReceiptHandle: 'rh-1',
    Body: body,
    MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, attr(v)])),
    ...extra,
  };
}

/** A record as GetItem returns it. */
function item(fields: Record<string, string | number>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries({ request_id: 'req-1', ...fields }).map(([k, v]) => [k, typeof v === 'number' ? { N: String(v) } : { S: v }]),
  );
}
const record = (fields: Record<string, string | number>): RecordRead => readRecord(item({ expiresAt: NOW + 3600, ...fields }));

describe('readDlqMessage', () => {
  it('takes reason, request_id and source message from the attributes, and the system attributes', () => {
    const m = readDlqMessage(
      'dispatch',
      message(VALID_BODY, { reason: 'no region accepted the message: x', request_id: 'req-attr', source_message_id: 'src-1' }, {
        Attributes: { ApproximateReceiveCount: '2', SentTimestamp: '1700000000000' },
      }),
    );
    expect(m).toMatchObject({
      queue: 'dispatch',
      messageId: 'm-1',
      receiptHandle: 'rh-1',
      body: VALID_BODY,
      reason: 'no region accepted the message: x',
      requestId: 'req-attr',
      requestIdFrom: 'attribute',
      sourceMessageId: 'src-1',
      receiveCount: 2,
      sentAt: new Date(1_700_000_000_000).toISOString(),
    });
  });

  it("falls back to the body's request_id, valid request or not, and to none for a body that names none", () => {
    expect(readDlqMessage('master', message(VALID_BODY))).toMatchObject({ requestId: 'req-body', requestIdFrom: 'body' });
    const invalid = readDlqMessage('dispatch', message('not json', { reason: 'invalid request: body is not JSON' }));
    expect(invalid.requestId).toBeUndefined();
    expect(invalid.requestIdFrom).toBeUndefined();
    // An invalid request still names its request: listed, looked up and redriven by that id.
    expect(readDlqMessage('dispatch', message(JSON.stringify({ request_id: 'r', model_name: 1 })))).toMatchObject({ requestId: 'r', requestIdFrom: 'body' });
    // A request_id that breaks the request_id rules names none.
    expect(readDlqMessage('dispatch', message(JSON.stringify({ request_id: 'bad id!', model_name: 1 }))).requestId).toBeUndefined();
  });
});

describe('reasons', () => {
  it('a master-DLQ message without reason is "failed 3 receives", a dispatch one without is flagged', () => {
    expect(MASTER_DLQ_REASON).toBe('failed 3 receives (master queue redrive policy)');
    expect(baseReason({ queue: 'master' })).toBe(MASTER_DLQ_REASON);
    expect(baseReason({ queue: 'dispatch' })).toBe(NO_REASON);
    expect(baseReason({ queue: 'dispatch', reason: 'r' })).toBe('r');
  });

  it('a master-DLQ message is listed with what its record says, when there is one', () => {
    expect(listingReason({ queue: 'master' }, { found: false })).toBe(MASTER_DLQ_REASON);
    expect(listingReason({ queue: 'master' }, record({ status: 'DISPATCHED', region: 'us-west-2' }))).toBe(
      `${MASTER_DLQ_REASON}; record says DISPATCHED`,
    );
    expect(listingReason({ queue: 'master' }, record({ status: 'DEAD_LETTERED', reason: 'all regions down' }))).toBe(
      `${MASTER_DLQ_REASON}; record says DEAD_LETTERED: all regions down`,
    );
    // The dispatch DLQ's own reason is never replaced.
    expect(listingReason({ queue: 'dispatch', reason: 'r' }, record({ status: 'DISPATCHED' }))).toBe('r');
  });

  it('groupByReason counts messages, lists distinct request_ids and counts those without, largest group first', () => {
    const groups = groupByReason([
      { reason: 'b', requestId: 'r1', messageId: '1' },
      { reason: 'a', requestId: 'r2', messageId: '2' },
      { reason: 'b', requestId: 'r1', messageId: '3' },
      { reason: 'b', messageId: '4' },
      { reason: 'c', messageId: '5' },
    ]);
    expect(groups).toEqual([
      { reason: 'b', count: 3, requestIds: ['r1'], withoutRequestId: 1, messageIds: ['1', '3', '4'] },
      { reason: 'a', count: 1, requestIds: ['r2'], withoutRequestId: 0, messageIds: ['2'] },
      { reason: 'c', count: 1, requestIds: [], withoutRequestId: 1, messageIds: ['5'] },
    ]);
    expect(groupByReason([])).toEqual([]);
  });
});

describe('selects', () => {
  const dispatch = { queue: 'dispatch' as const, reason: 'No region accepted the message: us-east-1: timeout', requestId: 'req-1' };

  it('--reason matches a case-insensitive substring of the reason', () => {
    expect(selects(dispatch, { reason: 'NO REGION' })).toBe(true);
    expect(selects(dispatch, { reason: 'invalid' })).toBe(false);
    expect(selects({ queue: 'master' }, { reason: '3 receives' })).toBe(true);
  });

  it('--request-id matches only those ids; a message without request_id never matches it', () => {
    expect(selects(dispatch, { requestIds: ['req-1', 'req-2'] })).toBe(true);
    expect(selects(dispatch, { requestIds: ['req-2'] })).toBe(false);
    expect(selects({ queue: 'dispatch', reason: 'invalid' }, { requestIds: ['req-1'] })).toBe(false);
  });

  it('with no filter everything is selected; with both, both must match', () => {
    expect(selects({ queue: 'dispatch' }, {})).toBe(true);
    expect(selects(dispatch, { requestIds: [] })).toBe(true);
    expect(selects(dispatch, { reason: 'timeout', requestIds: ['req-1'] })).toBe(true);
    expect(selects(dispatch, { reason: 'invalid', requestIds: ['req-1'] })).toBe(false);
  });
});

describe('redriveVerdict: what the record means for a redrive', () => {
  it('no request_id or no record: move, nothing to change in the table', () => {
    expect(redriveVerdict(undefined, { found: false }, NOW, false)).toMatchObject({ action: 'move', note: expect.stringMatching(/no request_id/) });
    expect(redriveVerdict('req-1', { found: false }, NOW, false)).toMatchObject({ action: 'move', note: expect.stringMatching(/no record/) });
  });

  it('DEAD_LETTERED, or REDRIVEN by an interrupted redrive: reopen', () => {
    expect(redriveVerdict('req-1', record({ status: 'DEAD_LETTERED' }), NOW, false).action).toBe('reopen');
    expect(redriveVerdict('req-1', record({ status: 'REDRIVEN' }), NOW, false)).toMatchObject({
      action: 'reopen',
      note: expect.stringMatching(/interrupted/),
    });
  });

  it('DISPATCHED: a duplicate, skipped and left in the DLQ; --force moves it and leaves the record alone', () => {
    const dispatched = record({ status: 'DISPATCHED', region: 'us-west-2', dispatchedAt: '2027-01-01T00:00:00Z' });
    const skipped = redriveVerdict('req-1', dispatched, NOW, false);
    expect(skipped.action).toBe('skip');
    expect(skipped.note).toMatch(/DISPATCHED to us-west-2.*duplicate.*left in the DLQ/);
    const forced = redriveVerdict('req-1', dispatched, NOW, true);
    expect(forced).toMatchObject({ action: 'move', forced: true });
    expect(forced.note).toMatch(/status left alone.*outlive/);
  });

  it('a worker completed or accepted the request: skipped unless --force, whatever the dispatch status', () => {
    expect(redriveVerdict('req-1', record({ status: 'DEAD_LETTERED', workStatus: 'COMPLETED' }), NOW, false).action).toBe('skip');
    expect(redriveVerdict('req-1', record({ status: 'IN_PROGRESS', acceptedToken: 't', acceptedBy: 'w1' }), NOW, false)).toMatchObject({
      action: 'skip',
      note: expect.stringMatching(/worker w1 accepted/),
    });
    expect(redriveVerdict('req-1', record({ status: 'DEAD_LETTERED', acceptedToken: 't' }), NOW, false).action).toBe('skip');
    expect(redriveVerdict('req-1', record({ status: 'DISPATCHED', workStatus: 'COMPLETED' }), NOW, true).action).toBe('move');
  });

  it('IN_PROGRESS: moved with the record left alone (the claim decides: busy, or taken over)', () => {
    const live = redriveVerdict('req-1', record({ status: 'IN_PROGRESS', owner: 'exec-1', leaseUntil: NOW + 60 }), NOW, false);
    expect(live).toMatchObject({ action: 'move', note: expect.stringMatching(/claimed by exec-1.*left alone/) });
    const released = redriveVerdict('req-1', record({ status: 'IN_PROGRESS', owner: 'exec-1', leaseUntil: 0 }), NOW, false);
    expect(released).toMatchObject({ action: 'move', note: expect.stringMatching(/lease over/) });
  });

  // docs/architecture.md, invariant 11: what the request became is read before its expiry. A record past expiresAt
  // that DynamoDB has not deleted yet still says whether the request went out or was done.
  describe('work status before expiry: a record past expiresAt', () => {
    const expired = (fields: Record<string, string | number>) => readRecord(item({ ...fields, expiresAt: NOW - 1 }));

    it('dispatched and completed by a worker: skipped (left in the DLQ), never moved as "expired"', () => {
      const verdict = redriveVerdict('req-1', expired({ status: 'DISPATCHED', region: 'us-west-2', acceptedToken: 't', workStatus: 'COMPLETED', completedAt: NOW - 86_400 }), NOW, false);
      expect(verdict.action).toBe('skip');
      expect(verdict.note).toMatch(/completed the request.*duplicate.*left in the DLQ/);
      expect(verdict.note).not.toMatch(/takes it as new/);
    });

    it('DISPATCHED, accepted, or dead-lettered and completed: skipped', () => {
      expect(redriveVerdict('req-1', expired({ status: 'DISPATCHED', region: 'us-west-2' }), NOW, false)).toMatchObject({
        action: 'skip',
        note: expect.stringMatching(/DISPATCHED to us-west-2/),
      });
      expect(redriveVerdict('req-1', expired({ status: 'DISPATCHED', acceptedToken: 't', acceptedBy: 'w1' }), NOW, false).action).toBe('skip');
      expect(redriveVerdict('req-1', expired({ status: 'DEAD_LETTERED', workStatus: 'COMPLETED' }), NOW, false).action).toBe('skip');
    });

    it('DEAD_LETTERED: reopened, as if it had not expired (the reopen writes a new expiry)', () => {
      expect(redriveVerdict('req-1', expired({ status: 'DEAD_LETTERED' }), NOW, false).action).toBe('reopen');
    });

    it('IN_PROGRESS nobody accepted: moved, the claim takes it over', () => {
      expect(redriveVerdict('req-1', expired({ status: 'IN_PROGRESS', leaseUntil: 0 }), NOW, false)).toMatchObject({ action: 'move' });
    });

    it('--force still moves a done request, saying that its record is made to outlive the copy', () => {
      const forced = redriveVerdict('req-1', expired({ status: 'DISPATCHED', workStatus: 'COMPLETED' }), NOW, true);
      expect(forced).toMatchObject({ action: 'move', forced: true });
      expect(forced.note).toMatch(/outlive/);
    });
  });

  it('an unreadable record or one without status: skipped unless --force', () => {
    const unknown = readRecord({ request_id: { S: 'req-1' }, status: { S: 'SOMETHING_NEW' } });
    expect(unknown).toMatchObject({ found: true, invalid: expect.any(String) });
    expect(redriveVerdict('req-1', unknown, NOW, false).action).toBe('skip');
    expect(redriveVerdict('req-1', unknown, NOW, true).action).toBe('move');
    expect(redriveVerdict('req-1', record({}), NOW, false)).toMatchObject({ action: 'skip', note: expect.stringMatching(/without a status/) });
  });
});

describe('redriveAttributes', () => {
  it('names the queue and carries the old reason, cut to a few hundred characters without splitting a character', () => {
    const long = `${'x'.repeat(REDRIVE_REASON_CHARS - 2)}😀😀😀`;
    const attributes = redriveAttributes('inference-dispatch-dlq-dev', long);
    expect(attributes.redriven_from).toEqual({ DataType: 'String', StringValue: 'inference-dispatch-dlq-dev' });
    const reason = attributes.redrive_reason?.StringValue as string;
    expect(Array.from(reason)).toHaveLength(REDRIVE_REASON_CHARS);
    expect(reason.endsWith('…')).toBe(true);
    expect(reason).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
    expect(redriveAttributes('q', 'short').redrive_reason?.StringValue).toBe('short');
    // SQS refuses empty attribute values.
    expect(redriveAttributes('', '').redrive_reason?.StringValue).not.toBe('');
  });

  it('truncate leaves short text alone', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
  });
});

describe('queue URLs and flags', () => {
  it('reads the name and region of AWS and local queue URLs', () => {
    expect(queueName('https://sqs.us-east-1.amazonaws.com/123/inference-dispatch-dlq-dev')).toBe('inference-dispatch-dlq-dev');
    expect(queueRegion('https://sqs.eu-west-1.amazonaws.com/123/q')).toBe('eu-west-1');
    expect(queueRegion('http://sqs.us-west-2.localhost:4566/000000000000/q')).toBe('us-west-2');
    expect(queueRegion('http://127.0.0.1:4566/000000000000/q')).toBeUndefined();
  });

  it('parseQueueKind accepts only the listed kinds', () => {
    expect(parseQueueKind('master', ['dispatch', 'master'] as const)).toBe('master');
    expect(parseQueueKind('all', ['dispatch', 'master'] as const)).toBeUndefined();
    expect(parseQueueKind('Dispatch', ['dispatch', 'master'] as const)).toBeUndefined();
  });
});
