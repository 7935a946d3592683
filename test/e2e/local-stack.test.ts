/**
 * End to end on the embedded stack: producer -> master queue -> event source emulation -> intake ->
 * local Step Functions endpoint -> regional queues, with duplicates and malformed messages mixed in.
 * Checked like a total-queue checker: nothing lost, nothing duplicated, everything accounted for.
 */
import { ReceiveMessageCommand, SendMessageBatchCommand, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS, HOME_REGION } from '../../core/topology.js';
import { sqsAt } from '../../tools/local/resources.js';
import { startLocalStack, type LocalStack, type StackFaults } from '../../tools/local/stack.js';
import { demoLoad } from '../../tools/cli/commands/demo.js';
import { drain, queueEmpty, until } from '../support/local-aws.js';

let stack: LocalStack;

beforeAll(async () => {
  // No workers: the regional queues keep what they receive, for counting.
  stack = await startLocalStack({ masterVisibilitySeconds: 2, pollers: 2, batchWindowSeconds: 0.2, faults: true });
});
afterAll(async () => {
  await stack?.stop();
});

describe('the embedded stack', () => {
  it('dispatches every valid request exactly once, drops repeats, dead-letters malformed ones with reasons', async () => {
    const { bodies, uniqueIds } = demoLoad(45, 8, 5);
    const home = sqsAt(HOME_REGION, stack.description.endpoints.sqs[HOME_REGION] as string);
    for (let i = 0; i < bodies.length; i += 10) {
      await home.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.description.masterQueueUrl,
          Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
        }),
      );
    }
    // Done when the master queue holds nothing, visible or in flight.
    expect(await until(() => queueEmpty(home, stack.description.masterQueueUrl), 25_000)).toBe(true);

    const perRegion: Record<string, Message[]> = {};
    for (const region of stack.description.regions) {
      const client = sqsAt(region.region, stack.description.endpoints.sqs[region.region] as string);
      // Both lanes (core/lanes.ts): the high-priority requests are in the high lanes.
      perRegion[region.region] = [...(await drain(client, region.queueUrl)), ...(region.highQueueUrl ? await drain(client, region.highQueueUrl) : [])];
      client.destroy();
    }
    const delivered = Object.values(perRegion).flat().map((m) => JSON.parse(m.Body as string).request_id as string);
    // Lost: none. Duplicated: none.
    expect(delivered.sort()).toEqual([...uniqueIds].sort());
    expect(new Set(delivered).size).toBe(delivered.length);
    // Spread over every region.
    for (const { region } of DEFAULT_REGIONS) expect(perRegion[region]?.length).toBeGreaterThan(0);

    const dead = await drain(home, stack.description.dispatchDeadLetterQueueUrl);
    expect(dead).toHaveLength(5);
    for (const message of dead) expect(message.MessageAttributes?.reason?.StringValue).toMatch(/^invalid request: /);
    const { Messages = [] } = await home.send(new ReceiveMessageCommand({ QueueUrl: stack.description.masterDeadLetterQueueUrl }));
    expect(Messages).toHaveLength(0);
    home.destroy();

    // Every batch ran as an Express execution on the local endpoint, and each succeeded.
    const executions = stack.stepFunctions.executions();
    expect(executions.length).toBeGreaterThan(0);
    expect(executions.every((e) => e.status === 'SUCCEEDED')).toBe(true);
  });

  it('redrives a message that keeps failing to the master DLQ after 3 receives', async () => {
    // Step Functions down: every execution start fails, so the intake reports every message failed.
    await stack.sqsServers[HOME_REGION]?.setAvailable(true);
    await (stack.faults as StackFaults).stepFunctions.setDown(true);
    const home = sqsAt(HOME_REGION, stack.description.endpoints.sqs[HOME_REGION] as string);
    await home.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.description.masterQueueUrl,
        Entries: [{ Id: '0', MessageBody: JSON.stringify({ request_id: 'req-poison', model_name: 'm', input_data_url: 's3://b/k' }) }],
      }),
    );
    const arrived = await until(async () => {
      const { Messages = [] } = await home.send(
        new ReceiveMessageCommand({ QueueUrl: stack.description.masterDeadLetterQueueUrl, VisibilityTimeout: 30, MessageAttributeNames: ['All'], AttributeNames: ['All'] }),
      );
      return Messages.some((m) => m.Body?.includes('req-poison'));
    }, 20_000);
    expect(arrived).toBe(true);
    home.destroy();
  });
});
