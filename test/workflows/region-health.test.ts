/**
 * A failing region is avoided across executions (core/health.ts): the forward that saw it fail marks it
 * open in the table; every later execution's snapshot reads that, and the selection sends it nothing;
 * once the open time has passed, one canary message per execution probes it, and a send that succeeds
 * clears the mark.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import type { Envelope } from '../../core/placement.js';
import type { FunctionSettings } from '../../tools/local/dispatch.js';
import { isStateEvent, type DefinitionRunner } from '../../tools/local/emulators/asl-runner.js';
import { STATE } from '../../workflows/dispatch.js';
import { drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';
import { clearRegionHealth, healthItem } from '../support/region-health.js';

const local = useLocalDispatch({ faults: true });

let runner: DefinitionRunner;

/** The functions of this test's executions: no cached readings, so each execution reads the health items. */
function useSettings(settings: FunctionSettings) {
  runner = local.runnerWith({ cacheTtlSeconds: 0, ...settings });
}

afterEach(async () => {
  local.aws.faults.dynamodb.rules.clear();
  for (const proxy of Object.values(local.aws.faults.sqs)) proxy.rules.clear();
  await drainRegions(local.aws);
  await clearRegionHealth(local.aws);
});

const batch = (prefix: string, n: number): Envelope[] => Array.from({ length: n }, (_, i) => envelope(`${prefix}-${i}`));

async function run(messages: Envelope[]) {
  const record = await runner.run(executionInput(messages));
  expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
  return { record, outcomes: flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output)) };
}

const sentTo = (record: Awaited<ReturnType<typeof run>>['record'], region: string) =>
  record.events.some((e) => isStateEvent(e, 'StateEntered', STATE.forward, region));

describe('region health', () => {
  it('keeps every later execution away from a region whose sends hang, instead of each paying the timeout', async () => {
    useSettings({ sqsRequestTimeoutMs: 300, regionHealthSeconds: 60 });
    local.aws.faults.sqs['us-west-2']?.rules.add({ actions: ['SendMessageBatch'], mode: 'hang' });

    const first = await run(batch('req-brownout-a', 9));
    expect(sentTo(first.record, 'us-west-2')).toBe(true);
    expect((await healthItem(local.aws, 'us-west-2'))?.error?.S).toMatch(/us-west-2 took none/);

    for (const name of ['b', 'c', 'd']) {
      const later = await run(batch(`req-brownout-${name}`, 9));
      expect(later.outcomes.every((o) => o.outcome === 'dispatched' && o.region !== 'us-west-2')).toBe(true);
      expect(sentTo(later.record, 'us-west-2')).toBe(false);
    }
    // The hung sends were the first execution's only (a send and its retry).
    expect(local.aws.faults.sqs['us-west-2']?.stats.action('SendMessageBatch').faulted.hang).toBe(2);
  });

  it('probes the region with one canary message per execution once the open time is over, and a success clears it', async () => {
    useSettings({ regionHealthSeconds: 0.2 });
    local.aws.faults.sqs['us-west-2']?.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    await run(batch('req-probe-a', 9));
    expect(await healthItem(local.aws, 'us-west-2')).toBeDefined();

    // Half-open now, and the region has recovered.
    await new Promise((resolve) => setTimeout(resolve, 300));
    local.aws.faults.sqs['us-west-2']?.rules.clear();
    const probe = await run(batch('req-probe-b', 9));
    expect(probe.outcomes.filter((o) => o.region === 'us-west-2')).toHaveLength(1);
    expect(probe.outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
    expect(await healthItem(local.aws, 'us-west-2')).toBeUndefined();

    // Healthy again: a normal share.
    const after = await run(batch('req-probe-c', 30));
    expect(after.outcomes.filter((o) => o.region === 'us-west-2').length).toBeGreaterThan(1);
  });

  it('goes on dispatching when the health items cannot be read', async () => {
    useSettings({ regionHealthSeconds: 60 });
    local.aws.faults.dynamodb.rules.add({ actions: ['BatchGetItem'], mode: 'error', error: 'internal' });
    const { outcomes } = await run(batch('req-health-unreadable', 6));
    expect(outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
  });

  it('is off with REGION_HEALTH_SECONDS=0: nothing is written, every execution tries the region again', async () => {
    useSettings({ regionHealthSeconds: 0 });
    local.aws.faults.sqs['us-west-2']?.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    const first = await run(batch('req-no-health-a', 9));
    expect(await healthItem(local.aws, 'us-west-2')).toBeUndefined();
    const second = await run(batch('req-no-health-b', 9));
    expect(sentTo(first.record, 'us-west-2') && sentTo(second.record, 'us-west-2')).toBe(true);
  });
});
