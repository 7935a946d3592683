/** worker/lanes.ts against a real SQS server: a worker takes its region's lanes in priority order, without starving either. */
import { ReceiveMessageCommand, SendMessageBatchCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { STARVATION_LIMIT } from '../../core/lanes.js';
import { LaneReceiver, type ReceiveOne } from '../../worker/lanes.js';
import { drainRegions, useLocalDispatch } from '../support/local-aws.js';

const local = useLocalDispatch();

describe('LaneReceiver', () => {
  const region = () => local.aws.resources.regions[0]!;
  const client = () => local.aws.sqs(region().region);
  const fill = async (queueUrl: string, label: string, n: number) => {
    for (let i = 0; i < n; i += 10) {
      const entries = Array.from({ length: Math.min(10, n - i) }, (_, j) => ({ Id: String(j), MessageBody: `${label}-${i + j}` }));
      await client().send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    }
  };
  const receive: ReceiveOne = async (queueUrl, waitSeconds) => {
    const { Messages = [] } = await client().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: waitSeconds }));
    const message = Messages[0];
    if (message) await client().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    return message;
  };

  it(`takes the high lane first and the normal lane once every ${STARVATION_LIMIT + 1} messages while both have work`, async () => {
    const { queueUrl, highQueueUrl } = region();
    await fill(highQueueUrl as string, 'high', 20);
    await fill(queueUrl, 'normal', 20);
    const receiver = new LaneReceiver(receive, { normal: queueUrl, high: highQueueUrl as string }, { idleWaitSeconds: 0 });
    const lanes: string[] = [];
    for (let i = 0; i < 25; i++) lanes.push((await receiver.next())?.lane ?? 'none');
    const expected = Array.from({ length: 5 }, () => [...Array(STARVATION_LIMIT).fill('high'), 'normal']).flat();
    expect(lanes).toEqual(expected);
    await drainRegions(local.aws);
  });

  it('takes whichever lane has work when the other is empty, and nothing when both are', async () => {
    const { queueUrl, highQueueUrl } = region();
    await fill(queueUrl, 'normal', 3);
    const receiver = new LaneReceiver(receive, { normal: queueUrl, high: highQueueUrl as string }, { idleWaitSeconds: 0 });
    expect([(await receiver.next())?.lane, (await receiver.next())?.lane, (await receiver.next())?.lane]).toEqual(['normal', 'normal', 'normal']);
    expect(await receiver.next()).toBeUndefined();
  });

  it('reads one queue when the region has no high lane', async () => {
    const { queueUrl } = region();
    await fill(queueUrl, 'normal', 1);
    const receiver = new LaneReceiver(receive, { normal: queueUrl }, { idleWaitSeconds: 0 });
    expect((await receiver.next())?.message.Body).toBe('normal-0');
  });
});
