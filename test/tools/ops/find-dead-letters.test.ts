/**
 * ops/dlq-search.ts findDeadLetters against the real local servers (dynalite + fauxqs): a request's copies
 * in the DLQs as `status` reports them (no bodies), and with their bodies when asked (`bodyBytes`, what the
 * console's request story shows), the DLQs left as they were either way.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOME_REGION } from '../../../core/topology.js';
import type { DlqDeps } from '../../../tools/ops/dlq.js';
import { findDeadLetters } from '../../../tools/ops/dlq-search.js';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import { request, startLocalAws, type LocalAws } from '../../support/local-aws.js';

let aws: LocalAws;
let deps: DlqDeps;
let home: SQSClient;

/** Short polls: the local server answers at once. */
const FAST = { waitSeconds: 0, idleReceives: 2 } as const;
const workflowBody = JSON.stringify(request('req-find-1'));
// Invalid (no such priority) yet naming its request_id: found by its body.
const intakeBody = JSON.stringify({ ...request('req-find-1'), priority: 'urgent', note: 'é'.repeat(20) });

const attributes = (values: Record<string, string>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]));

beforeAll(async () => {
  aws = await startLocalAws();
  home = aws.sqs(HOME_REGION);
  deps = {
    homeRegion: HOME_REGION,
    masterDeadLetterQueueUrl: aws.resources.masterDeadLetterQueueUrl,
    dispatchDeadLetterQueueUrl: aws.resources.dispatchDeadLetterQueueUrl,
    tableName: aws.resources.tableName,
    sqs: (region) => aws.sqs(region),
    dynamo: () => aws.dynamo,
  };
  const dlq = aws.resources.dispatchDeadLetterQueueUrl;
  await home.send(
    new SendMessageCommand({
      QueueUrl: dlq,
      MessageBody: workflowBody,
      MessageAttributes: attributes({ reason: 'no region accepted the message', request_id: 'req-find-1', execution: 'exec-1' }),
    }),
  );
  await home.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: intakeBody, MessageAttributes: attributes({ reason: 'invalid request: priority' }) }));
  await home.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: JSON.stringify(request('req-find-other')) }));
});
afterAll(async () => {
  await aws?.stop();
});

describe('findDeadLetters', () => {
  it("as `status` asks: each copy described, without its body", async () => {
    const found = await findDeadLetters(deps, ['dispatch', 'master'], 'req-find-1', FAST);
    expect(found.dlqs.map((d) => [d.queue, d.read])).toEqual([
      ['dispatch', 3],
      ['master', 0],
    ]);
    expect(found.deadLetters.map((c) => [c.by, c.matchedBy])).toEqual(
      expect.arrayContaining([
        ['workflow', 'attribute'],
        ['intake', 'body'],
      ]),
    );
    expect(found.deadLetters).toHaveLength(2);
    for (const copy of found.deadLetters) expect(copy).not.toHaveProperty('preview');
  });

  it('with bodyBytes: each copy keeps its body and attributes, cut to that many bytes, the DLQ left as it was', async () => {
    const before = await queueDepth(home, aws.resources.dispatchDeadLetterQueueUrl);
    const found = await findDeadLetters(deps, ['dispatch'], 'req-find-1', { ...FAST, bodyBytes: 64 });
    const byWorkflow = found.deadLetters.find((c) => c.by === 'workflow');
    const byIntake = found.deadLetters.find((c) => c.by === 'intake');
    expect(byWorkflow?.preview.attributes).toContainEqual({ name: 'request_id', text: 'req-find-1', moreBytes: 0 });
    expect(byWorkflow?.preview.body).toMatchObject({ text: workflowBody.slice(0, 64), bytes: Buffer.byteLength(workflowBody), json: true });
    const intakeBytes = Buffer.byteLength(intakeBody);
    expect(byIntake?.preview.body).toMatchObject({ bytes: intakeBytes, moreBytes: intakeBytes - Buffer.byteLength(byIntake?.preview.body.text ?? ''), json: true });
    expect(intakeBody.startsWith(byIntake?.preview.body.text ?? '-')).toBe(true);
    expect(byIntake?.preview.attributes).toContainEqual({ name: 'reason', text: 'invalid request: priority', moreBytes: 0 });
    expect(await queueDepth(home, aws.resources.dispatchDeadLetterQueueUrl)).toEqual(before);
  });
});
