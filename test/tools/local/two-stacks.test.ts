/**
 * Two embedded stacks in one process at the same time, each with its own resources and settings (stage,
 * regions, selection policy): every request ends in its own stack's regional queues and table, and
 * each stack's metrics count its own requests only. The functions of each stack are built from that
 * stack's config, so nothing one stack sets reaches the other.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricNamespace } from '../../../core/metrics.js';
import { HOME_REGION } from '../../../core/topology.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { drain, queueEmpty, request, until } from '../../support/local-aws.js';

const REQUESTS = 12;
const fast = { masterVisibilitySeconds: 2, pollers: 1, batchWindowSeconds: 0.2, retryIntervalMs: 5, quickStop: true } as const;

interface Running {
  readonly stack: LocalStack;
  readonly home: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly ids: readonly string[];
}

let a: Running;
let b: Running;

function connect(stack: LocalStack, label: string): Running {
  const { endpoints } = stack.description;
  return {
    stack,
    home: sqsAt(HOME_REGION, endpoints.sqs[HOME_REGION] as string),
    dynamo: new DynamoDBClient({ region: HOME_REGION, endpoint: endpoints.dynamodb, credentials: LOCAL_CREDENTIALS }),
    ids: Array.from({ length: REQUESTS }, (_, i) => `req-${label}-${i}`),
  };
}

async function send({ stack, home, ids }: Running): Promise<void> {
  for (let i = 0; i < ids.length; i += 10) {
    await home.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.description.masterQueueUrl,
        Entries: ids.slice(i, i + 10).map((id, j) => ({ Id: String(j), MessageBody: JSON.stringify(request(id)) })),
      }),
    );
  }
}

/** request_ids in each regional queue (both lanes) of a stack, drained. */
async function delivered({ stack }: Running): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const region of stack.description.regions) {
    const client = sqsAt(region.region, stack.description.endpoints.sqs[region.region] as string);
    const messages = [...(await drain(client, region.queueUrl)), ...(region.highQueueUrl ? await drain(client, region.highQueueUrl) : [])];
    client.destroy();
    found[region.region] = messages.map((m) => JSON.parse(m.Body as string).request_id as string);
  }
  return found;
}

const status = async ({ stack, dynamo }: Running, requestId: string) =>
  (await dynamo.send(new GetItemCommand({ TableName: stack.description.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true })))
    .Item?.status?.S;

beforeAll(async () => {
  // Started together: the second one's functions are configured while the first one's start up.
  const [first, second] = await Promise.all([
    startLocalStack({ ...fast, stage: 'two-a' }),
    startLocalStack({ ...fast, stage: 'two-b', regions: [{ region: 'us-west-2', capacity: 1 }], env: { policy: 'seed-inverse' } }),
  ]);
  a = connect(first, 'a');
  b = connect(second, 'b');
  // Both stacks take requests at the same time.
  await Promise.all([send(a), send(b)]);
  const drained = ({ stack, home }: Running) => until(() => queueEmpty(home, stack.description.masterQueueUrl), 25_000);
  expect(await Promise.all([drained(a), drained(b)])).toEqual([true, true]);
}, 60_000);

afterAll(async () => {
  for (const running of [a, b]) {
    running?.home.destroy();
    running?.dynamo.destroy();
  }
  await Promise.all([a?.stack.stop(), b?.stack.stop()]);
});

describe('two local stacks in one process', () => {
  it('dispatch each request into its own stack\'s regional queues, once, by that stack\'s regions', async () => {
    const [inA, inB] = await Promise.all([delivered(a), delivered(b)]);
    expect(Object.values(inA).flat().sort()).toEqual([...a.ids].sort());
    expect(Object.values(inB).flat().sort()).toEqual([...b.ids].sort());
    // B has one region only: its functions read B's config, not A's three regions.
    expect(Object.keys(inB)).toEqual(['us-west-2']);
    expect(Object.keys(inA).sort()).toEqual(['us-east-1', 'us-west-1', 'us-west-2']);
  });

  it("record each request in its own stack's table, and none in the other's", async () => {
    for (const [own, other] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const id of own.ids) {
        expect(await status(own, id), id).toBe('DISPATCHED');
        expect(await status(other, id), id).toBeUndefined();
      }
    }
  });

  it("count each stack's requests in its own metrics, under its own stage", () => {
    for (const { stack } of [a, b]) {
      expect(stack.metrics.sum('Dispatched'), stack.description.stage).toBe(REQUESTS);
      const namespaces = new Set(stack.metrics.report().rows.map((row) => row.namespace));
      expect([...namespaces]).toEqual([metricNamespace(stack.description.stage)]);
    }
  });
});
