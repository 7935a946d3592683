/**
 * A total-queue check under faults: requests flow through the whole embedded stack while regions go down
 * and come back (whole outages and send-only outages). Afterwards every valid request must be in exactly
 * one regional queue, or in the dispatch DLQ with a reason: none lost, none twice.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HOME_REGION } from '../../core/topology.js';
import { sqsAt } from '../../local/resources.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { makeRequest } from '../../cli/requests.js';
import { drain } from '../support/local-aws.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ masterVisibilitySeconds: 2, pollers: 2, batchWindowSeconds: 0.2 });
});
afterAll(async () => {
  await stack?.stop();
});

it('loses nothing and duplicates nothing while regions fail and recover', async () => {
  const ids = Array.from({ length: 80 }, (_, i) => `req-fault-${i}`);
  const home = sqsAt(HOME_REGION, stack.description.endpoints.sqs[HOME_REGION] as string);
  const west2 = stack.sqsServers['us-west-2'];
  const west1 = stack.sqsServers['us-west-1'];

  // A fixed schedule of faults, so the run is repeatable: [after ms, action].
  const schedule: Array<[number, () => void]> = [
    [0, () => west2?.failActions(['SendMessageBatch'])], // readable, refuses sends: retry, then failover
    [400, () => west1?.setAvailable(false)], // gone entirely: unreadable, so avoided
    [1200, () => west2?.setAvailable(true)],
    [2000, () => west1?.setAvailable(true)],
    [2400, () => west1?.failActions(['SendMessageBatch'])],
    [3200, () => west1?.setAvailable(true)],
  ];
  const started = Date.now();
  const faults = (async () => {
    for (const [at, act] of schedule) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + at - Date.now())));
      act();
    }
  })();

  for (let i = 0; i < ids.length; i += 10) {
    await home.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.description.masterQueueUrl,
        Entries: ids.slice(i, i + 10).map((id, j) => ({ Id: String(j), MessageBody: JSON.stringify(makeRequest(i + j, { requestId: id })) })),
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  await faults;

  const end = Date.now() + 45_000;
  while (stack.eventSource.stats().succeeded < ids.length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  expect(stack.eventSource.stats().succeeded).toBeGreaterThanOrEqual(ids.length);

  const delivered: string[] = [];
  for (const region of stack.description.regions) {
    const client = sqsAt(region.region, stack.description.endpoints.sqs[region.region] as string);
    delivered.push(...(await drain(client, region.queueUrl)).map((m) => JSON.parse(m.Body as string).request_id as string));
    client.destroy();
  }
  const dead = await drain(home, stack.description.dispatchDeadLetterQueueUrl);
  home.destroy();
  for (const message of dead) expect(message.MessageAttributes?.reason?.StringValue).toBeTruthy();
  const deadIds = dead.map((m) => JSON.parse(m.Body as string).request_id as string);

  // Each request exactly once, across the regional queues and the DLQ together.
  const all = [...delivered, ...deadIds].sort();
  expect(all).toEqual([...ids].sort());
  // The faults were real: forwards failed and the workflow retried them (then succeeded or failed over).
  const retried = stack.stepFunctions
    .executions()
    .flatMap((e) => e.events)
    .filter((event) => event.type === 'StateRetried' && event.state.name.startsWith('Forward '));
  expect(retried.length).toBeGreaterThan(0);
}, 90_000);
