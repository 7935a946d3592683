/**
 * Marking DISPATCHED under DynamoDB throttling (issue 16, case 5): the commit must outlast a throttle of
 * several seconds, as long as the time budget allows, not give up within a second as a fully jittered
 * backoff can. Step Functions' retry timing at 1/10 scale (every interval, cap and backoff as AWS computes
 * them, only ten times shorter: tools/local/emulators/asl-runner.ts retryScale): the table answers every commit with
 * ProvisionedThroughputExceededException (at the wire, through the fault proxy) for 0.8 s (8 s deployed),
 * then recovers. The commit's backoff without jitter (1 + 2 + 4 + 6 s, scaled) reaches past it; the
 * earlier 1 + 2 + 4 s with full jitter never could.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import { createDispatchRunner, type RunnerSetup } from '../../tools/local/dispatch.js';
import { claimRecord, drainRegions, envelope, executionInput, startLocalAws, type LocalAws, type LocalFaults } from '../support/local-aws.js';

/** 8 s deployed. */
const THROTTLE_MS = 800;
const SCALE = 0.1;

let aws: LocalAws & { readonly faults: LocalFaults };
let setup: RunnerSetup;
beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
  // AWS's timing for every Retry, ten times shorter: what is under test is how long the commit keeps trying.
  setup = createDispatchRunner(aws.resources, aws.codeEndpoints, { retryScale: SCALE });
});
afterAll(async () => {
  setup?.close();
  await aws?.stop();
});

/** Only the commit: an UpdateItem that sets the DISPATCHED status. */
const isCommit = (body: unknown) => JSON.stringify((body as { ExpressionAttributeValues?: unknown })?.ExpressionAttributeValues ?? {}).includes('"DISPATCHED"');

it('marks DISPATCHED after a throttle of 8 s (deployed time): the record is committed, so no later duplicate can be forwarded again', async () => {
  const rules = aws.faults.dynamodb.rules;
  let throttle: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  // The throttle starts at the first commit and lasts THROTTLE_MS from there.
  const start = rules.add({ actions: ['UpdateItem'], mode: 'error', error: 'throttle', times: 1, when: (body) => {
    if (isCommit(body) && !throttle) {
      throttle = rules.add({ actions: ['UpdateItem'], mode: 'error', error: 'throttle', when: isCommit });
      timer = setTimeout(() => rules.remove(throttle as string), THROTTLE_MS);
      return true;
    }
    return false;
  } });
  try {
    const messages = [envelope('req-commit-throttled')];
    const input = executionInput(messages);
    const record = await setup.runner.run(input, { name: input.executionName });
    expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
    const [outcome] = flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output));
    expect(outcome?.outcome).toBe('dispatched');
    expect(outcome?.reason ?? '', outcome?.reason).not.toMatch(/marking DISPATCHED failed/);
    expect(aws.faults.dynamodb.stats.faults({ mode: 'error' }).length).toBeGreaterThanOrEqual(3);
    expect((await claimRecord(aws, 'req-commit-throttled'))?.status?.S).toBe('DISPATCHED');
  } finally {
    clearTimeout(timer);
    rules.remove(start);
    if (throttle) rules.remove(throttle);
    await drainRegions(aws);
  }
});
