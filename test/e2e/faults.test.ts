/**
 * A total-queue check under faults: requests flow through the whole embedded stack while regions go down
 * and come back (whole outages and send-only outages). Afterwards every valid request must be in exactly
 * one regional queue, or in the dispatch DLQ with a reason: none lost, none twice.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HOME_REGION } from '../../core/topology.js';
import { isStateEvent } from '../../tools/local/emulators/asl-runner.js';
import { sqsAt } from '../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../tools/local/stack.js';
import { makeRequest } from '../../tools/ops/requests.js';
import { STATE } from '../../workflows/dispatch.js';
import { drain, queueEmpty, until } from '../support/local-aws.js';

let stack: LocalStack;

beforeAll(async () => {
  // Visibility above the slowest execution here (retries of a failing region take up to 3 s), as the
  // deployment keeps it above 6 x the intake timeout: a redelivery mid-execution would only come back busy.
  stack = await startLocalStack({ masterVisibilitySeconds: 10, pollers: 2, batchWindowSeconds: 0.2 });
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
  const schedule: Array<[number, () => unknown]> = [
    [0, () => west2?.failActions(['SendMessageBatch'])], // readable, refuses sends all run: retry, then failover
    [400, () => west1?.setAvailable(false)], // gone entirely: unreadable, so avoided
    [2000, () => west1?.setAvailable(true)],
    [2400, () => west1?.failActions(['SendMessageBatch'])], // a short send outage: retried until it is back
    [3200, () => west1?.setAvailable(true)],
  ];
  const started = Date.now();
  const faults = (async () => {
    for (const [at, act] of schedule) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + at - Date.now())));
      await act();
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

  // Done when the master queue holds nothing, visible or in flight.
  expect(await until(() => queueEmpty(home, stack.description.masterQueueUrl), 60_000, 200)).toBe(true);
  await west2?.setAvailable(true);

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
  // The faults were real: forwards failed, the workflow retried them, and us-west-2's messages failed over.
  const executions = stack.stepFunctions.executions();
  const retried = executions.flatMap((e) => e.events).filter((event) => isStateEvent(event, 'StateRetried', STATE.forward));
  expect(retried.length).toBeGreaterThan(0);
  expect(executions.filter((e) => JSON.stringify(e.output ?? '').includes('"failedOver":true')).length).toBeGreaterThan(0);
  expect(delivered.length).toBe(ids.length); // with two regions still up, nothing needed the DLQ
}, 90_000);
