/**
 * The smoke mark (core/smoke.ts) through the intake: a record with the dispatch_smoke attribute keeps its
 * run id in the envelope that the workflow carries to the forward (which marks the regional copy:
 * test/tools/ops/smoke.test.ts reads the copies), and is left out of the dispatch counts.
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { pending, placementSchema } from '../../core/placement.js';
import { SMOKE_ATTRIBUTE } from '../../core/smoke.js';
import { recordOutcomes, triage } from '../../functions/intake.js';
import { MetricsRecorder } from '../../functions/metrics.js';
import { parseEmfLine } from '../../tools/local/metrics.js';
import { request } from '../support/local-aws.js';
import { sqsRecord } from '../support/sqs-event.js';

const ARN = 'arn:aws:sqs:us-east-1:000000000000:master';
const marked = (record: SQSRecord, value: string): SQSRecord => ({
  ...record,
  messageAttributes: { [SMOKE_ATTRIBUTE]: { stringValue: value, dataType: 'String' } },
});

describe('the intake and the smoke mark', () => {
  it('carries the run id of a marked record in its envelope, through to the placements the forward gets', () => {
    const smoke = marked(sqsRecord(JSON.stringify(request('req-smoke-1')), { queueArn: ARN }), 'smoke-run-a');
    const plain = sqsRecord(JSON.stringify(request('req-plain-1')), { queueArn: ARN });
    const odd = marked(sqsRecord(JSON.stringify(request('req-odd-1')), { queueArn: ARN }), 'not a run id!');
    const { valid, invalid } = triage([smoke, plain, odd]);
    expect(invalid).toEqual([]);
    expect(valid.map((e) => e.smoke)).toEqual(['smoke-run-a', undefined, undefined]);
    // The Select task builds placements from the envelopes; the forward parses them with this schema.
    expect(placementSchema.parse(pending(valid[0]!)).smoke).toBe('smoke-run-a');
    expect('smoke' in placementSchema.parse(pending(valid[1]!))).toBe(false);
  });

  it('leaves smoke requests out of Dispatched, DeadLettered and Retried (BatchSize still counts every record)', () => {
    const lines: string[] = [];
    const metrics = new MetricsRecorder('intake', undefined, { namespace: 'InferenceDispatch/test', write: (line) => lines.push(line) });
    recordOutcomes(
      metrics,
      4,
      [
        { messageId: 'a', outcome: 'dispatched' },
        { messageId: 'b', outcome: 'dispatched' },
        { messageId: 'c', outcome: 'retry', reason: 'busy' },
        { messageId: 'd', outcome: 'dead-lettered', reason: 'no region accepted the message: x' },
      ],
      new Set(['b', 'c', 'd']),
    );
    metrics.flush();
    const values = Object.fromEntries(lines.flatMap(parseEmfLine).map((d) => [d.name + (d.dimensions.ReasonClass ? `/${d.dimensions.ReasonClass}` : ''), d.value]));
    expect(values).toMatchObject({ Dispatched: 1, Retried: 0, DuplicatesDropped: 0, BatchSize: 4 });
    expect(values['DeadLettered/no-region']).toBeUndefined();
  });
});
