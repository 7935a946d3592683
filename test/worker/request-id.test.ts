/**
 * A copy whose request_id names no request (issue 16, case 8a): the intake refuses such ids
 * (core/request.ts), so no forwarded copy carries one, yet the table holds other items under ids that
 * start with '#' (capacity, region health, intake dead letters). The fence refuses them with a typed
 * error and writes nothing, through every way in. Against dynalite through the real DynamoDBClient.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { capacityKey, intakeDeadLetterKey, MESSAGE_ATTRIBUTE, regionHealthKey } from '../../core/record.js';
import { parseRequest } from '../../core/request.js';
import { dispatchIdentity, Fence, fenced, fenceMiddleware, InvalidRequestIdError, NoDispatchIdentityError } from '../../worker/index.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;
let fence: Fence;
beforeAll(async () => {
  aws = await startLocalAws();
  fence = Fence.dynamo(aws.dynamo, aws.resources.tableName);
});
afterAll(async () => {
  await aws?.stop();
});

const INTERNAL: ReadonlyArray<[string, Record<string, AttributeValue>]> = [
  [capacityKey('us-west-2'), { capacity: { N: '8' } }],
  [regionHealthKey('us-east-1'), { unhealthyUntil: { N: '1800000000' } }],
  [intakeDeadLetterKey('master-message-1'), { reason: { S: 'body is not JSON' } }],
];

async function item(key: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await aws.dynamo.send(new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: key } }, ConsistentRead: true }));
  return Item;
}

async function seed(): Promise<void> {
  for (const [key, attributes] of INTERNAL) await aws.dynamo.send(new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: key }, ...attributes } }));
}

const message = (requestId: string): Message => ({
  MessageId: randomUUID(),
  ReceiptHandle: randomUUID(),
  Body: JSON.stringify({ request_id: requestId }),
  MessageAttributes: {
    [MESSAGE_ATTRIBUTE.requestId]: { DataType: 'String', StringValue: requestId },
    [MESSAGE_ATTRIBUTE.dispatchToken]: { DataType: 'String', StringValue: 'tok-a' },
  },
});

const record = (requestId: string): SQSRecord =>
  ({
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify({ request_id: requestId }),
    attributes: {},
    messageAttributes: {
      [MESSAGE_ATTRIBUTE.requestId]: { stringValue: requestId, dataType: 'String', stringListValues: [], binaryListValues: [] },
      [MESSAGE_ATTRIBUTE.dispatchToken]: { stringValue: 'tok-a', dataType: 'String', stringListValues: [], binaryListValues: [] },
    },
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-west-2:000000000000:q',
    awsRegion: 'us-west-2',
  }) as unknown as SQSRecord;

describe('request ids the intake would refuse', () => {
  it.each(INTERNAL.map(([key]) => [key]))('%s: accept, complete, release and extend are refused and the item is left as it was', async (key) => {
    await seed();
    const before = await item(key);
    const holder = { requestId: key, token: 'tok-a', workerId: 'w1' };
    for (const attempt of [
      () => fence.accept({ ...holder, leaseSeconds: 30 }),
      () => fence.complete(holder),
      () => fence.release(holder),
      () => fence.extend({ ...holder, seconds: 30 }),
      () => fence.get(key),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidRequestIdError);
      expect(error).toMatchObject({ requestId: key });
      expect(String((error as Error).message)).toMatch(/request_id may hold only letters, digits/);
    }
    expect(await item(key)).toEqual(before);
  });

  it('the rule is the intake\'s own: what parseRequest refuses for its request_id, the fence refuses', async () => {
    for (const id of ['#capacity#x', 'with space', 'a'.repeat(129), 'é', 'ok-id.1:2_3']) {
      const intake = parseRequest(JSON.stringify({ request_id: id, model_name: 'm', input_data_url: 's3://b/k' }));
      const fenceSays = await fence.accept({ requestId: id, token: `tok-${randomUUID()}`, workerId: 'w1', leaseSeconds: 30 }).then(
        () => 'accepted',
        (e: unknown) => (e instanceof InvalidRequestIdError ? 'refused' : `other: ${String(e)}`),
      );
      expect([id.slice(0, 20), fenceSays]).toEqual([id.slice(0, 20), intake.ok ? 'accepted' : 'refused']);
    }
  });

  it('fenced(): the copy is not handed to the handler, nothing is written, and the error is typed', async () => {
    await seed();
    const before = await item(capacityKey('us-west-2'));
    const handler = vi.fn(async () => 'processed');
    const run = fenced(handler, { fence, workerId: 'w1', leaseSeconds: 30 });
    const error = await run(message(capacityKey('us-west-2'))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidRequestIdError);
    expect(error).toBeInstanceOf(NoDispatchIdentityError);
    expect(handler).not.toHaveBeenCalled();
    expect(await item(capacityKey('us-west-2'))).toEqual(before);
    // A body that names one (no attributes) is refused the same way.
    expect(() => dispatchIdentity({ MessageId: 'm', Body: JSON.stringify({ request_id: regionHealthKey('us-east-1') }) })).toThrow(InvalidRequestIdError);
  });

  it('fenceMiddleware(): the record is reported as failed, the handler never sees it, nothing is written', async () => {
    await seed();
    const before = await item(regionHealthKey('us-east-1'));
    const good = `req-${randomUUID().slice(0, 8)}`;
    const seen: string[] = [];
    const warnings: string[] = [];
    const handler = middy(async (event: { Records: SQSRecord[] }) => {
      seen.push(...event.Records.map((r) => r.body));
    }).use(fenceMiddleware({ fence, leaseSeconds: 30, onWarning: (m, detail) => warnings.push(`${m} ${String(detail.error)}`) }));
    const bad = record(regionHealthKey('us-east-1'));
    const response = (await handler({ Records: [bad, record(good)] }, { functionName: 'f', awsRequestId: 'r' } as unknown as Context)) as unknown as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    expect(seen).toEqual([JSON.stringify({ request_id: good })]);
    expect(warnings.join(' ')).toMatch(/InvalidRequestIdError/);
    expect(await item(regionHealthKey('us-east-1'))).toEqual(before);
  });
});
