/**
 * Smoke copies (core/smoke.ts, worker/smoke.ts) at the wire: a copy marked dispatch_smoke, received from
 * a real regional queue (fauxqs), is neither accepted (no fence write in dynalite) nor processed by
 * `fenced` or `fenceMiddleware`; it is visible again at once, for the smoke command to take; an
 * ordinary copy beside it is processed as before.
 */
import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGE_ATTRIBUTE } from '../../core/record.js';
import { SMOKE_ATTRIBUTE } from '../../core/smoke.js';
import { Fence, fenced, fenceMiddleware, SmokeCopyError, smokeRunOfCopy, sqsVisibility } from '../../worker/index.js';
import { claimRecord, drain, request, startLocalAws, type LocalAws } from '../support/local-aws.js';
import { copyRecord } from '../support/sqs-event.js';

const REGION = 'us-west-2';
let aws: LocalAws;
let fence: Fence;
let queueUrl: string;

beforeAll(async () => {
  aws = await startLocalAws();
  fence = Fence.dynamo(aws.dynamo, aws.resources.tableName);
  queueUrl = aws.resources.regions.find((r) => r.region === REGION)!.queueUrl;
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  await drain(aws.sqs(REGION), queueUrl);
});

const newId = () => `req-${randomUUID().slice(0, 12)}`;

/** A copy as the forward sends it; with `smoke`, marked as a smoke run's. */
async function sendCopy(requestId: string, smoke?: string): Promise<void> {
  await aws.sqs(REGION).send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(request(requestId)),
      MessageAttributes: {
        [MESSAGE_ATTRIBUTE.requestId]: { DataType: 'String', StringValue: requestId },
        [MESSAGE_ATTRIBUTE.dispatchToken]: { DataType: 'String', StringValue: randomUUID() },
        ...(smoke ? { [SMOKE_ATTRIBUTE]: { DataType: 'String', StringValue: smoke } } : {}),
      },
    }),
  );
}

/** One receive, as a worker makes it (a 60 s visibility: only a hand-back makes it visible again soon). */
async function receiveAll(): Promise<Message[]> {
  const answer = await aws.sqs(REGION).send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60, MessageAttributeNames: ['All'] }),
  );
  return answer.Messages ?? [];
}

describe('smokeRunOfCopy', () => {
  it('reads the mark from an SDK message and from a Lambda record; a value that is no run id is no mark', () => {
    const message = (value?: string): Message => ({ MessageId: 'm', Body: '{}', ...(value === undefined ? {} : { MessageAttributes: { [SMOKE_ATTRIBUTE]: { DataType: 'String', StringValue: value } } }) });
    expect(smokeRunOfCopy(message('smoke-1'))).toBe('smoke-1');
    expect(smokeRunOfCopy(message())).toBeUndefined();
    expect(smokeRunOfCopy(message(''))).toBeUndefined();
    expect(smokeRunOfCopy(message('#not a run'))).toBeUndefined();
    const record: SQSRecord = copyRecord('req-a', 'tok');
    expect(smokeRunOfCopy(record)).toBeUndefined();
    const marked: SQSRecord = { ...record, messageAttributes: { ...record.messageAttributes, [SMOKE_ATTRIBUTE]: { stringValue: 'smoke-2', dataType: 'String' } } };
    expect(smokeRunOfCopy(marked)).toBe('smoke-2');
  });
});

describe('fenced', () => {
  it('leaves a smoke copy: not accepted, not processed, visible again at once; processes the ordinary copy beside it', async () => {
    const smokeId = newId();
    const plainId = newId();
    await sendCopy(smokeId, 'smoke-run-1');
    await sendCopy(plainId);
    const processed: string[] = [];
    const work = fenced(async (_message: Message, { requestId }) => void processed.push(requestId), {
      fence,
      workerId: 'w-1',
      leaseSeconds: 30,
      extendVisibility: sqsVisibility(aws.sqs(REGION), queueUrl),
      onWarning: () => undefined,
    });
    const received = await receiveAll();
    expect(received).toHaveLength(2);
    const outcomes = await Promise.allSettled(received.map((m) => work(m)));
    const smokeAt = received.findIndex((m) => m.MessageAttributes?.[SMOKE_ATTRIBUTE]);
    const smokeOutcome = outcomes[smokeAt]!;
    expect(smokeOutcome.status).toBe('rejected');
    const error = (smokeOutcome as PromiseRejectedResult).reason as SmokeCopyError;
    expect(error).toBeInstanceOf(SmokeCopyError);
    expect(error).toMatchObject({ runId: 'smoke-run-1', handedBack: true });
    expect(outcomes[1 - smokeAt]).toMatchObject({ status: 'fulfilled', value: { skipped: false, requestId: plainId } });
    expect(processed).toEqual([plainId]);
    // No fence write for the smoke copy; the ordinary one completed.
    expect(await claimRecord(aws, smokeId)).toBeUndefined();
    expect((await claimRecord(aws, plainId))?.workStatus?.S).toBe('COMPLETED');
    // Visible again at once (its visibility was 60 s): the smoke command's next receive gets it.
    const again = await receiveAll();
    expect(again.map((m) => m.MessageAttributes?.[MESSAGE_ATTRIBUTE.requestId]?.StringValue)).toContain(smokeId);
  });

  it('without extendVisibility, still neither accepts nor processes it (it comes back after its visibility timeout)', async () => {
    const smokeId = newId();
    await sendCopy(smokeId, 'smoke-run-2');
    const [message] = await receiveAll();
    let ran = false;
    const work = fenced(async () => void (ran = true), { fence, workerId: 'w-2', leaseSeconds: 30 });
    await expect(work(message!)).rejects.toMatchObject({ name: 'SmokeCopyError', handedBack: false });
    expect(ran).toBe(false);
    expect(await claimRecord(aws, smokeId)).toBeUndefined();
  });
});

describe('fenceMiddleware', () => {
  it('takes a smoke record out of the batch, reports it failed (not deleted) and makes it visible again', async () => {
    const smokeId = newId();
    await sendCopy(smokeId, 'smoke-run-3');
    const [message] = await receiveAll();
    const arn = `arn:aws:sqs:${REGION}:000000000000:${queueUrl.split('/').at(-1)}`;
    const record: SQSRecord = {
      ...copyRecord(smokeId, message!.MessageAttributes![MESSAGE_ATTRIBUTE.dispatchToken]!.StringValue!, { region: REGION, messageId: message!.MessageId! }),
      receiptHandle: message!.ReceiptHandle!,
      eventSourceARN: arn,
    };
    record.messageAttributes[SMOKE_ATTRIBUTE] = { stringValue: 'smoke-run-3', dataType: 'String' };
    const plain = copyRecord(newId(), 'tok-plain', { region: REGION });
    const seen: string[] = [];
    const handler = middy(async (event: SQSEvent) => {
      for (const r of event.Records) seen.push(r.messageId);
    }).use(
      fenceMiddleware({
        fence,
        leaseSeconds: 30,
        workerId: 'lambda-1',
        // The local queue's URL, not the one an ARN would name on AWS.
        extendVisibility: sqsVisibility(aws.sqs(REGION), queueUrl),
        onWarning: () => undefined,
      }),
    );
    const response = await handler({ Records: [record, plain] }, { functionName: 'worker', awsRequestId: 'r1' } as Context);
    expect(seen).toEqual([plain.messageId]);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(await claimRecord(aws, smokeId)).toBeUndefined();
    const again = await receiveAll();
    expect(again.map((m) => m.MessageId)).toContain(message!.MessageId);
  });
});
