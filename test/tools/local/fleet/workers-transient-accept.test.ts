/**
 * A fence acceptance that fails with a transient error (a throttle) must not burn one of the copy's
 * receives: at the wire, DynamoDB (behind a fault proxy) throttles UpdateItem with p 0.5 for a window,
 * workers die while processing with some probability (once per copy), and the regional queue moves a
 * copy to its DLQ after 3 receives, as deployed. Every request is processed exactly once, and nothing
 * reaches the DLQ: a throttled acceptance is retried in process while the copy's visibility is extended.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOME_REGION } from '../../../../core/topology.js';
import { mulberry32 } from '../../../../tools/local/faults/prng.js';
import { startWorkers, type WorkerEvent } from '../../../../tools/local/fleet/workers.js';
import { LOCAL_CREDENTIALS } from '../../../../tools/local/resources.js';
import { drain, queueEmpty, sendCopy, startLocalAws, until, type LocalAws, type LocalFaults } from '../../../support/local-aws.js';

let aws: LocalAws & { readonly faults: LocalFaults };
let faulted: DynamoDBClient;

beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
  // The workers' DynamoDB client goes through the fault proxy, one attempt per call: every throttle reaches the fence.
  faulted = new DynamoDBClient({ region: HOME_REGION, endpoint: aws.codeEndpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
});
afterAll(async () => {
  faulted?.destroy();
  await aws?.stop();
});

const REGION = 'us-west-1';

/** A queue as deployed (visibility 1 s here, maxReceiveCount 3 into a DLQ of its own). */
async function redrivenQueue(): Promise<{ queueUrl: string; dlqUrl: string }> {
  const sqs = aws.sqs(REGION);
  const name = `transient-${randomUUID().slice(0, 8)}`;
  const { QueueUrl: dlqUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 3 }) },
    }),
  );
  return { queueUrl: QueueUrl as string, dlqUrl: dlqUrl as string };
}

describe('workers whose fence acceptance is throttled', () => {
  it('DynamoDB throttles UpdateItem with p 0.5 for a window, workers die with p 0.3 once per copy: every request processed once, nothing in the DLQ', async () => {
    const { queueUrl, dlqUrl } = await redrivenQueue();
    const requests = 12;
    const ids = Array.from({ length: requests }, () => `req-${randomUUID().slice(0, 8)}`);
    const random = mulberry32(7);
    const died = new Set<string>();
    const events: WorkerEvent[] = [];
    const throttle = aws.faults.dynamodb.rules.add({ name: 'throttle writes', mode: 'error', error: 'throttle', actions: ['UpdateItem'], probability: 0.5, seed: 11 });
    for (const id of ids) await sendCopy(aws.sqs(REGION), queueUrl, id, `tok-${id}`);
    const workers = startWorkers({
      region: REGION,
      client: aws.sqs(REGION),
      queueUrl,
      workers: 3,
      secondsPerRequest: 0.1,
      fence: { tableName: aws.resources.tableName, client: faulted, leaseSeconds: 1 },
      crash: (copy) => {
        const token = copy.token ?? '';
        if (died.has(token) || random() >= 0.3) return false;
        died.add(token);
        return true;
      },
      onEvent: (event) => events.push(event),
    });
    const processedIds = () => events.filter((e) => e.kind === 'processed').map((e) => e.requestId);
    try {
      // The throttling window: long enough for every copy to meet it several times.
      await new Promise((resolve) => setTimeout(resolve, 8000));
      aws.faults.dynamodb.rules.remove(throttle);
      await until(() => processedIds().length >= requests, 30_000);
      // Long enough for a copy left in the queue to come back and be received again.
      await new Promise((resolve) => setTimeout(resolve, 2500));
    } finally {
      aws.faults.dynamodb.rules.clear();
      await workers.stop();
    }
    expect(aws.faults.dynamodb.stats.faults({ action: 'UpdateItem' }).length).toBeGreaterThan(0);
    expect(died.size).toBeGreaterThan(0);
    // Nothing in the DLQ (told before the counts, so that a failure names the lost requests).
    const dead = await drain(aws.sqs(REGION), dlqUrl);
    expect(dead.map((m) => m.MessageAttributes?.request_id?.StringValue ?? m.Body)).toEqual([]);
    // Every request processed exactly once, and recorded COMPLETED or at least accepted by the worker that did it.
    expect([...processedIds()].sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const stored = (await aws.dynamo.send(new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: id } }, ConsistentRead: true }))).Item;
      expect(stored?.acceptedToken?.S).toBe(`tok-${id}`);
    }
    expect(await queueEmpty(aws.sqs(REGION), queueUrl)).toBe(true);
  }, 90_000);
});
