/**
 * The record lifetime by construction (docs/architecture.md, invariant 11), on the synthesized stage: the idempotency
 * table's records (TTL on expiresAt, IDEMPOTENCY_TTL_SECONDS after each refresh) outlive every queue that
 * can hold a copy, plus the redrive window; a stage configured with a shorter lifetime does not synthesize.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resourceNames, SQS_MAX_RETENTION_SECONDS } from '../../core/topology.js';
import { RECORD_LIFETIME_ENV } from '../../stacks/settings.js';
import type { Synth } from './harness/model.js';
import { synth } from './harness/synth.js';
import { SETUP_TIMEOUT_MS, useSynth } from './harness/use-synth.js';

const DAY = 86_400;
/** The four functions (stacks/functions.ts FUNCTION_ROLES; that module needs SST's globals to compile). */
const FUNCTION_ROLES = ['intake', 'snapshot', 'select', 'forward'] as const;
const deployed = useSynth();
const dev = useSynth({ stage: 'dev', dev: true });

interface Lifetime {
  readonly recordLifetimeSeconds: number;
  readonly redriveWindowSeconds: number;
}

/** What every function was given (they must all agree: each may refresh a record). */
function functionLifetime(stage: Synth, stageName: string): Lifetime {
  const seen = FUNCTION_ROLES.map((role) => {
    const fn = stage.byState('aws:lambda/function:Function', 'name', resourceNames(stageName).function(role));
    const vars = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    return { recordLifetimeSeconds: Number(vars.IDEMPOTENCY_TTL_SECONDS), redriveWindowSeconds: Number(vars.REDRIVE_WINDOW_SECONDS) };
  });
  for (const other of seen) expect(other).toEqual(seen[0]);
  return seen[0] as Lifetime;
}

/** Every queue of the stage with the retention it was created with (all of them can hold a copy). */
function retentions(stage: Synth): Array<{ name: string; seconds: number }> {
  return stage.ofType('aws:sqs/queue:Queue').map((q) => ({ name: q.inputs.name as string, seconds: q.inputs.messageRetentionSeconds as number }));
}

function expectRecordsOutliveEveryQueue(stage: Synth, stageName: string) {
  const table = stage.byState('aws:dynamodb/table:Table', 'name', resourceNames(stageName).idempotencyTable);
  expect(table.inputs.ttl).toEqual({ attributeName: 'expiresAt', enabled: true });
  const lifetime = functionLifetime(stage, stageName);
  expect(lifetime.redriveWindowSeconds).toBeGreaterThan(0);
  const queues = retentions(stage);
  // Master and its high lane, their DLQs, the dispatch DLQ, and per region two lanes and two DLQs.
  expect(queues.length).toBeGreaterThanOrEqual(5 + 4 * 3);
  for (const queue of queues) {
    // Set explicitly on every queue (SQS would otherwise keep 4 days: right only by accident).
    expect(queue.seconds, queue.name).toBeGreaterThan(0);
    expect(queue.seconds, queue.name).toBeLessThanOrEqual(SQS_MAX_RETENTION_SECONDS);
    expect(lifetime.recordLifetimeSeconds, queue.name).toBeGreaterThanOrEqual(queue.seconds + lifetime.redriveWindowSeconds);
  }
  return { lifetime, longest: Math.max(...queues.map((q) => q.seconds)) };
}

/** Synthesizes a stage with these deploy-time variables set (the child process inherits them). */
async function synthWith(env: Record<string, string>, stage: string): Promise<Synth> {
  Object.assign(process.env, env);
  try {
    return await synth({ stage });
  } finally {
    for (const name of Object.keys(env)) delete process.env[name];
  }
}

afterEach(() => {
  for (const name of Object.values(RECORD_LIFETIME_ENV)) delete process.env[name];
});

describe('record lifetime on the deployed stage', () => {
  it('the table keeps records longer than any queue keeps a copy, plus the redrive window: 21 days by default, not 7', () => {
    const { lifetime, longest } = expectRecordsOutliveEveryQueue(deployed(), 'ci');
    expect(longest).toBe(14 * DAY);
    expect(lifetime).toEqual({ recordLifetimeSeconds: 21 * DAY, redriveWindowSeconds: 7 * DAY });
  });

  it('so does the stage `sst dev` deploys (its master queue keeps messages 14 days)', () => {
    const master = dev().byState('aws:sqs/queue:Queue', 'name', resourceNames('dev').masterQueue);
    expect(master.inputs.messageRetentionSeconds).toBe(14 * DAY);
    expectRecordsOutliveEveryQueue(dev(), 'dev');
  });

  it(
    'derives the lifetime from a longer redrive window set for the stage',
    async () => {
      const stage = await synthWith({ [RECORD_LIFETIME_ENV.redriveWindow]: String(30 * DAY) }, 'lifetime-window');
      const { lifetime } = expectRecordsOutliveEveryQueue(stage, 'lifetime-window');
      expect(lifetime).toEqual({ recordLifetimeSeconds: 44 * DAY, redriveWindowSeconds: 30 * DAY });
    },
    SETUP_TIMEOUT_MS,
  );

  it(
    "refuses to synthesize a stage whose records would live the original's 7 days, naming the settings",
    async () => {
      const attempt = synthWith({ [RECORD_LIFETIME_ENV.recordLifetime]: String(7 * DAY) }, 'lifetime-short');
      await expect(attempt).rejects.toThrow(/RecordLifetimeError/);
      const message = await attempt.then(
        () => '',
        (error: unknown) => (error as Error).message,
      );
      expect(message).toMatch(/DISPATCH_IDEMPOTENCY_TTL_SECONDS = 604800 s \(7 days\) is shorter than the longest queue retention/);
      expect(message).toContain('DISPATCH_REDRIVE_WINDOW_SECONDS');
      expect(message).toContain(`${21 * DAY} s`);
    },
    SETUP_TIMEOUT_MS,
  );
});
