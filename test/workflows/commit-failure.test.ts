/**
 * The idempotency table fails after the messages were forwarded: they are in their regional queues, so
 * they must be reported dispatched (deleted from the master queue), not retried into a second forward.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import { createRunner } from '../../tools/local/emulators/asl-runner.js';
import { createTaskFunctions, localDefinition, localFunctionArns } from '../../tools/local/dispatch.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../tools/local/resources.js';
import { drainRegions, envelope, executionInput, startLocalAws, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

it('reports forwarded messages as dispatched, with the reason, when marking them DISPATCHED keeps failing', async () => {
  const arns = localFunctionArns(aws.resources);
  const definition = localDefinition(aws.resources);
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', endpoint: aws.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const sqs = sqsAt('us-east-1', aws.endpoints.sqs['us-east-1'] as string);
  const functions = createTaskFunctions(aws.resources, aws.endpoints);
  let stopped: Promise<void> | undefined;
  const runner = createRunner(
    definition,
    {
      lambdas: {
        [arns.snapshot]: functions.snapshot,
        [arns.select]: functions.select,
        // The table goes away right after the first forward: every commit after it fails.
        [arns.forward]: async (event: never) => {
          const result = await functions.forward(event);
          stopped ??= aws.dynamoServer.stop();
          await stopped;
          return result;
        },
      },
      dynamodb,
      sqs,
    },
    { retryIntervalMs: 5 },
  );

  const messages = Array.from({ length: 4 }, (_, i) => envelope(`req-commit-lost-${i}`));
  const record = await runner.run(executionInput(messages));
  dynamodb.destroy();
  sqs.destroy();
  functions.close();
  expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');

  const outcomes = flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output));
  expect(outcomes.map((o) => o.outcome)).toEqual(['dispatched', 'dispatched', 'dispatched', 'dispatched']);
  for (const outcome of outcomes) expect(outcome.reason).toMatch(/^forwarded, but marking DISPATCHED failed: DynamoDB\./);
  // Each mark was retried 4 times before giving up (as long as the time budget allows: workflows/time-budget.ts).
  const retries = record.events.filter((e) => e.type === 'StateRetried' && e.state.name.startsWith('Mark dispatched'));
  expect(retries).toHaveLength(4 * 4);
  // And each message is in exactly one regional queue.
  const delivered = Object.values(await drainRegions(aws)).flat().map((m) => m.MessageAttributes?.request_id?.StringValue);
  expect(delivered.sort()).toEqual(messages.map((m) => m.requestId).sort());
});
