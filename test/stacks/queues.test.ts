/** Queues, dead-letter queues, the idempotency table and the intake's subscription to the master queue. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS, MAX_RECEIVE_COUNT, resourceNames, SQS_BATCH_SIZE, TIMEOUTS } from '../../core/topology.js';
import { allStates, type Definition } from './harness/definition.js';
import type { SynthResource } from './harness/model.js';
import { useSynth } from './harness/use-synth.js';

const synth = useSynth();
const names = resourceNames('ci');
const queue = (name: string) => synth().byState('aws:sqs/queue:Queue', 'name', name);
const intake = () => synth().byState('aws:lambda/function:Function', 'name', 'inference-dispatch-intake-ci');
const redrive = (q: SynthResource) => JSON.parse(q.inputs.redrivePolicy as string) as { deadLetterTargetArn: string; maxReceiveCount: number };

describe('master queue', () => {
  it('has a visibility timeout of at least 6 x the intake timeout + the batching window (AWS advice for SQS event sources)', () => {
    const master = queue(names.masterQueue);
    const window = synth().ofType('aws:lambda/eventSourceMapping:EventSourceMapping')[0]?.inputs.maximumBatchingWindowInSeconds as number;
    expect(window).toBeGreaterThan(0);
    expect(master.inputs.visibilityTimeoutSeconds).toBe(TIMEOUTS.masterVisibilitySeconds);
    expect(master.inputs.visibilityTimeoutSeconds as number).toBeGreaterThanOrEqual(6 * (intake().inputs.timeout as number) + window);
  });

  it(`moves a message to its own DLQ after ${MAX_RECEIVE_COUNT} receives`, () => {
    expect(redrive(queue(names.masterQueue))).toEqual({
      deadLetterTargetArn: queue(names.masterDeadLetterQueue).state.arn,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });
  });

  it('has a high lane with the same settings and a DLQ of its own', () => {
    const [normal, high] = [queue(names.masterQueue).inputs, queue(names.masterHighQueue).inputs];
    expect(high.visibilityTimeoutSeconds).toBe(normal.visibilityTimeoutSeconds);
    expect(high.messageRetentionSeconds).toBe(normal.messageRetentionSeconds);
    expect(redrive(queue(names.masterHighQueue))).toEqual({ deadLetterTargetArn: queue(names.masterHighDeadLetterQueue).state.arn, maxReceiveCount: MAX_RECEIVE_COUNT });
  });

  it('keeps dead letters longer than the master queue keeps messages (a message keeps its age in the DLQ)', () => {
    expect(queue(names.masterDeadLetterQueue).inputs.messageRetentionSeconds as number).toBeGreaterThan(
      queue(names.masterQueue).inputs.messageRetentionSeconds as number,
    );
  });
});

describe('regional queues', () => {
  for (const { region } of DEFAULT_REGIONS) {
    it(`${region}: visibility 3600 s, retention 14 days, its own DLQ after ${MAX_RECEIVE_COUNT} receives`, () => {
      const q = queue(names.regionalQueue(region));
      const dlq = queue(names.regionalDeadLetterQueue(region));
      expect(q.inputs.visibilityTimeoutSeconds).toBe(TIMEOUTS.regionalVisibilitySeconds);
      expect(q.inputs.messageRetentionSeconds).toBe(TIMEOUTS.regionalRetentionSeconds);
      expect(redrive(q)).toEqual({ deadLetterTargetArn: dlq.state.arn, maxReceiveCount: MAX_RECEIVE_COUNT });
      // SQS redrives only within a region.
      expect([q.region, dlq.region]).toEqual([region, region]);
      // Its high lane: the same settings, a DLQ of its own, in the same region.
      const high = queue(names.regionalHighQueue(region));
      const highDlq = queue(names.regionalHighDeadLetterQueue(region));
      expect(high.inputs.visibilityTimeoutSeconds).toBe(TIMEOUTS.regionalVisibilitySeconds);
      expect(redrive(high)).toEqual({ deadLetterTargetArn: highDlq.state.arn, maxReceiveCount: MAX_RECEIVE_COUNT });
      expect([high.region, highDlq.region]).toEqual([region, region]);
    });
  }
});

describe('every queue', () => {
  // Encryption at rest and the TLS-only policy of every queue: security.test.ts.
  it('is one of the master queue and its high lane, their DLQs, the dispatch DLQ, and per region both lanes and their DLQs', () => {
    const expected = [
      names.masterQueue,
      names.masterDeadLetterQueue,
      names.masterHighQueue,
      names.masterHighDeadLetterQueue,
      names.dispatchDeadLetterQueue,
      ...DEFAULT_REGIONS.flatMap((r) => [
        names.regionalQueue(r.region),
        names.regionalDeadLetterQueue(r.region),
        names.regionalHighQueue(r.region),
        names.regionalHighDeadLetterQueue(r.region),
      ]),
    ];
    expect(synth().ofType('aws:sqs/queue:Queue').map((q) => q.state.name).sort()).toEqual(expected.sort());
  });

  it('has a stage-scoped name', () => {
    for (const q of synth().ofType('aws:sqs/queue:Queue')) expect(q.state.name as string, q.name).toMatch(/-ci$/);
  });
});

describe('idempotency table', () => {
  const table = () => synth().byState('aws:dynamodb/table:Table', 'name', names.idempotencyTable);

  it('is keyed by request_id (string), on demand', () => {
    expect(table().inputs).toMatchObject({
      hashKey: 'request_id',
      attributes: [{ name: 'request_id', type: 'S' }],
      billingMode: 'PAY_PER_REQUEST',
    });
    expect(table().inputs.rangeKey).toBeUndefined();
  });

  it('expires records by TTL on the attribute the workflow writes, and has point-in-time recovery', () => {
    const { ttl, pointInTimeRecovery } = table().inputs as { ttl: { attributeName: string; enabled: boolean }; pointInTimeRecovery: { enabled: boolean } };
    expect(ttl.enabled).toBe(true);
    expect(pointInTimeRecovery.enabled).toBe(true);
    const machine = synth().byState('aws:sfn/stateMachine:StateMachine', 'name', names.stateMachine);
    const definition = JSON.parse(machine.inputs.definition as string) as Definition;
    // The claim (an UpdateItem) sets the TTL attribute, as a number.
    const claims = allStates(definition).filter(
      ([, s]) => s.Resource === 'arn:aws:states:::dynamodb:updateItem' && String((s.Parameters as { UpdateExpression?: string }).UpdateExpression).includes(`${ttl.attributeName} = :`),
    );
    expect(claims.length).toBeGreaterThan(0);
    for (const [, claim] of claims) {
      const { UpdateExpression, ExpressionAttributeValues } = claim.Parameters as { UpdateExpression: string; ExpressionAttributeValues: Record<string, { 'N.$'?: string }> };
      const placeholder = new RegExp(`${ttl.attributeName} = (:\\w+)`).exec(UpdateExpression)?.[1] as string;
      expect(ExpressionAttributeValues[placeholder], 'the claim carries the TTL attribute as a number').toHaveProperty('N.$');
    }
  });
});

describe('intake subscriptions', () => {
  const mappings = () => synth().ofType('aws:lambda/eventSourceMapping:EventSourceMapping');
  const mapping = () => mappings().find((m) => m.inputs.eventSourceArn === queue(names.masterQueue).state.arn)!.inputs;
  const highMapping = () => mappings().find((m) => m.inputs.eventSourceArn === queue(names.masterHighQueue).state.arn)!.inputs;

  it('connect both lanes of the master queue to the intake function, each with pollers and concurrency of its own', () => {
    expect(mappings()).toHaveLength(2);
    expect(mapping().functionName).toBe(intake().state.arn);
    expect(highMapping().functionName).toBe(intake().state.arn);
    // A high request does not wait for a batch of normal ones to fill.
    expect(highMapping().maximumBatchingWindowInSeconds as number).toBeLessThan(mapping().maximumBatchingWindowInSeconds as number);
    expect(highMapping().functionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const { maximumConcurrency } = highMapping().scalingConfig as { maximumConcurrency: number };
    expect(maximumConcurrency).toBeGreaterThanOrEqual(2);
  });

  it(`reports batch item failures, in batches of ${SQS_BATCH_SIZE} with a batching window`, () => {
    expect(mapping().functionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping().batchSize).toBe(SQS_BATCH_SIZE);
    expect(mapping().maximumBatchingWindowInSeconds as number).toBeGreaterThan(0);
    expect(mapping().maximumBatchingWindowInSeconds as number).toBeLessThanOrEqual(300);
  });

  it('caps the intake concurrency within what SQS event sources accept (2..1000)', () => {
    const { maximumConcurrency } = mapping().scalingConfig as { maximumConcurrency: number };
    expect(maximumConcurrency).toBeGreaterThanOrEqual(2);
    expect(maximumConcurrency).toBeLessThanOrEqual(1000);
  });
});
