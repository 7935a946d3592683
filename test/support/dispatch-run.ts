/**
 * Running one execution of the dispatch definition in a test, and reading where its copies went: shared
 * by the workflow tests that inject faults at the wire.
 */
import { expect } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import type { ExecutionInput } from '../../core/placement.js';
import type { DefinitionRunner } from '../../tools/local/emulators/asl-runner.js';
import { drainRegions, type LocalAws } from './local-aws.js';

/** Runs the execution under its own name; it must succeed. Returns its record and one outcome per message. */
export async function runDispatch(runner: DefinitionRunner, input: ExecutionInput) {
  const record = await runner.run(input, { name: input.executionName });
  expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
  const outcomes = flattenOutcomes(
    input.messages.map((m) => m.messageId),
    executionOutputSchema.parse(record.output),
  );
  return { record, outcomes };
}

/** Drains every regional queue: request_id -> the regions holding a copy (one entry per copy). */
export async function copiesByRequest(aws: LocalAws): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const [region, messages] of Object.entries(await drainRegions(aws))) {
    for (const m of messages) {
      const id = m.MessageAttributes?.request_id?.StringValue ?? '?';
      found.set(id, [...(found.get(id) ?? []), region]);
    }
  }
  return found;
}
