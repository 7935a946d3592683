/**
 * The 256 KiB payload limit of Step Functions, which the local engine enforces as AWS does
 * (States.DataLimitExceeded): the fullest batch the intake plans still fits every state, even when
 * every message goes to the same region.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXECUTION_INPUT_BUDGET_BYTES, jsonBytes, planExecutions } from '../../core/batching.js';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import type { Envelope } from '../../core/placement.js';
import { PAYLOAD_LIMIT_BYTES } from '../../tools/local/emulators/asl-runner.js';
import { createDispatchRunner, type RunnerSetup } from '../../tools/local/dispatch.js';
import { drainRegions, executionInput, request, startLocalAws, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;
let setup: RunnerSetup;

beforeAll(async () => {
  // One region: the whole batch lands in one Forward branch, its largest possible state.
  aws = await startLocalAws({ regions: [{ region: 'us-east-1', capacity: 1 }] });
  setup = createDispatchRunner(aws.resources, aws.endpoints, { retryIntervalMs: 5 });
});
afterAll(async () => {
  setup?.close();
  await aws?.stop();
});

const big = (i: number, blobBytes: number): Envelope => ({
  messageId: `m-${i}`,
  requestId: `req-big-${i}`,
  body: JSON.stringify(request(`req-big-${i}`, { metadata: { blob: 'x'.repeat(blobBytes) } })),
  priority: 'normal',
});

it('runs the fullest planned execution (10 messages at the input budget, one region) within the limit', async () => {
  // The largest bodies for which the planner still puts all 10 messages in one execution.
  let blob = Math.floor(EXECUTION_INPUT_BUDGET_BYTES / 10);
  let messages = Array.from({ length: 10 }, (_, i) => big(i, blob));
  while (planExecutions(messages, { batchId: 'b', now: new Date(), claimLeaseSeconds: 300, idempotencyTtlSeconds: 604800 }).length > 1) {
    blob -= 64;
    messages = Array.from({ length: 10 }, (_, i) => big(i, blob));
  }
  const input = executionInput(messages);
  expect(jsonBytes(input)).toBeGreaterThan(EXECUTION_INPUT_BUDGET_BYTES - 1024);

  const record = await setup.runner.run(input);
  expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
  const outcomes = flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output));
  expect(outcomes.every((o) => o.outcome === 'dispatched' && o.region === 'us-east-1')).toBe(true);
  expect(Object.values(await drainRegions(aws)).flat()).toHaveLength(10);
});

it('fails an execution whose input passes 256 KiB with States.DataLimitExceeded, as AWS does', async () => {
  const messages = Array.from({ length: 3 }, (_, i) => big(100 + i, 90 * 1024));
  const input = executionInput(messages);
  expect(jsonBytes(input)).toBeGreaterThan(PAYLOAD_LIMIT_BYTES);
  const record = await setup.runner.run(input);
  expect(record.status).toBe('FAILED');
  expect(record.error).toBe('States.DataLimitExceeded');
  expect(record.cause).toMatch(/execution input is \d+ bytes, over the 262144-byte limit/);
});
