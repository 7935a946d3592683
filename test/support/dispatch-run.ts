/**
 * Running one execution of the dispatch definition in a test, and reading where its copies went: shared
 * by the workflow tests that inject faults at the wire.
 */
import { expect } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import type { ExecutionInput } from '../../core/placement.js';
import { handler as forward } from '../../functions/forward.js';
import { handler as select } from '../../functions/select.js';
import { handler as snapshot } from '../../functions/snapshot.js';
import type { DefinitionRunner, LambdaHandler } from '../../tools/local/emulators/asl-runner.js';
import { createDispatchRunner, type HandlerWrapper, type LocalFunctionName } from '../../tools/local/dispatch.js';
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

export type TaskHandlers = { snapshot: LambdaHandler; select: LambdaHandler; forward: LambdaHandler };

/**
 * The definition with some task functions replaced (a fault inside a function), bound like the local
 * stack's runner (service integrations through the fault proxies, one call per attempt, retries 5 ms);
 * `use` gets the runner, whose clients are freed after.
 */
export async function withTaskHandlers(
  aws: LocalAws,
  wrap: (real: TaskHandlers) => Partial<TaskHandlers>,
  use: (runner: DefinitionRunner) => Promise<void>,
): Promise<void> {
  const overrides: Partial<Record<LocalFunctionName, LambdaHandler>> = wrap({ snapshot, select, forward });
  const setup = createDispatchRunner(aws.resources, aws.codeEndpoints, {
    retryIntervalMs: 5,
    wrap: ((name: LocalFunctionName, handler: LambdaHandler) => overrides[name] ?? handler) as HandlerWrapper,
  });
  try {
    await use(setup.runner);
  } finally {
    setup.close();
  }
}
