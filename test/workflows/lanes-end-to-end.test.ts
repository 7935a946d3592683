/**
 * Priority lanes end to end on the local stack (core/lanes.ts): a high request sent to the master
 * queue's high lane is taken by the intake's own subscription, placed and sent to a region's high lane;
 * normal and low requests travel the normal lanes. Real servers, real SDK clients, the real definition.
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOME_REGION } from '../../core/topology.js';
import { sqsAt } from '../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../tools/local/stack.js';
import { drain, request } from '../support/local-aws.js';

let stack: LocalStack;
let home: SQSClient;

beforeAll(async () => {
  stack = await startLocalStack({ masterVisibilitySeconds: 5, batchWindowSeconds: 0.2, pollers: 1 });
  home = sqsAt(HOME_REGION, stack.description.endpoints.sqs[HOME_REGION] as string);
}, 60_000);
afterAll(async () => {
  home?.destroy();
  await stack?.stop();
});

const send = (queueUrl: string, requestId: string, priority: string) =>
  home.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ ...request(requestId), priority }) }));

/** Where each request_id is, as lane "region/normal" or "region/high", after draining every regional lane. */
async function lanesOf(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const r of stack.resources.regions) {
    const client = sqsAt(r.region, stack.description.endpoints.sqs[r.region] as string);
    for (const [lane, url] of [['normal', r.queueUrl], ['high', r.highQueueUrl as string]] as const) {
      for (const m of await drain(client, url)) {
        const id = m.MessageAttributes?.request_id?.StringValue ?? '?';
        found.set(id, [...(found.get(id) ?? []), `${r.region}/${lane}`]);
      }
    }
    client.destroy();
  }
  return found;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const depth = async (client: SQSClient, url: string) => {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
};

describe('priority lanes', () => {
  it('exist in the master queue and in every region, as deployed', () => {
    expect(stack.description.masterHighQueueUrl).toMatch(/master-high-queue-local$/);
    for (const r of stack.description.regions) expect(r.highQueueUrl).toMatch(new RegExp(`queue-${r.region}-high-local$`));
  });

  it('carry a high request through the high lanes and normal and low ones through the normal lanes', async () => {
    await send(stack.description.masterHighQueueUrl as string, 'lane-high-1', 'high');
    await send(stack.description.masterQueueUrl, 'lane-normal-1', 'normal');
    await send(stack.description.masterQueueUrl, 'lane-low-1', 'low');
    const found = await waitFor(async () => {
      const regionalDepth = await Promise.all(
        stack.resources.regions.flatMap((r) => {
          const client = sqsAt(r.region, stack.description.endpoints.sqs[r.region] as string);
          return [depth(client, r.queueUrl), depth(client, r.highQueueUrl as string)].map((p) => p.finally(() => client.destroy()));
        }),
      );
      return regionalDepth.reduce((a, b) => a + b, 0) >= 3 ? lanesOf() : undefined;
    }, 'three copies in the regions');
    expect(found.get('lane-high-1')).toHaveLength(1);
    expect(found.get('lane-high-1')?.[0]).toMatch(/\/high$/);
    expect(found.get('lane-normal-1')?.[0]).toMatch(/\/normal$/);
    expect(found.get('lane-low-1')?.[0]).toMatch(/\/normal$/);
  });

  it('send a high request that came by the normal master queue to a high lane all the same', async () => {
    await send(stack.description.masterQueueUrl, 'lane-high-2', 'high');
    const found = await waitFor(async () => {
      const lanes = await lanesOf();
      return lanes.has('lane-high-2') ? lanes : undefined;
    }, 'the request in a region');
    expect(found.get('lane-high-2')?.[0]).toMatch(/\/high$/);
  });

  it('dispatch a high request while a backlog of normal ones still waits in the master queue', async () => {
    // A backlog the one normal poller takes seconds to work through.
    for (let i = 0; i < 20; i++) {
      await home.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.description.masterQueueUrl,
          Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify(request(`lane-backlog-${i}-${j}`)) })),
        }),
      );
    }
    await send(stack.description.masterHighQueueUrl as string, 'lane-high-3', 'high');
    const lanes = await waitFor(async () => {
      const found = await lanesOf();
      return found.has('lane-high-3') ? found : undefined;
    }, 'the high request in a region');
    // The high request did not wait for the backlog: normal requests are still in the master queue.
    const left = await depth(home, stack.description.masterQueueUrl);
    expect(left, 'normal requests still in the master queue when the high one was dispatched').toBeGreaterThan(0);
    expect(lanes.get('lane-high-3')?.[0]).toMatch(/\/high$/);
  }, 60_000);
});
