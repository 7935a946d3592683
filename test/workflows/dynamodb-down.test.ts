/** The idempotency table unreachable: nothing is forwarded, every message is retried, nothing lost. */
import { expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import { STATE } from '../../workflows/dispatch.js';
import { drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';

const local = useLocalDispatch();

it('reports every message as retry with the reason, after retrying the claim, and forwards nothing', async () => {
  await local.aws.dynamoServer.stop();
  const messages = [envelope('req-ddb-1'), envelope('req-ddb-2')];
  const record = await local.runner.run(executionInput(messages));
  expect(record.status).toBe('SUCCEEDED');
  const outcomes = flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output));
  expect(outcomes.map((o) => o.outcome)).toEqual(['retry', 'retry']);
  for (const outcome of outcomes) expect(outcome.reason).toMatch(/^idempotency table unavailable: DynamoDB\./);
  // Two retries per claim before giving up, as the definition says.
  expect(record.events.filter((e) => e.type === 'StateRetried' && e.state.name === STATE.putClaim)).toHaveLength(4);
  const queues = await drainRegions(local.aws);
  expect(Object.values(queues).flat()).toHaveLength(0);
});
