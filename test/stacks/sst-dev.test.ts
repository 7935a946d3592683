/**
 * The stage as `sst dev` deploys it ($dev): the intake is never live, so a stopped `sst dev` cannot
 * answer a master batch "successfully" (SST's stub does, after 16 s) and have it deleted; the master
 * queue keeps a message for its retention instead of moving it to the DLQ while every execution fails.
 */
import { describe, expect, it } from 'vitest';
import { MAX_RECEIVE_COUNT, resourceNames, TIMEOUTS } from '../../core/topology.js';
import { LIVE_IN_SST_DEV, SST_DEV_MASTER_QUEUE } from '../../stacks/settings.js';
import { useSynth } from './harness/use-synth.js';

const dev = useSynth({ stage: 'dev', dev: true });
const deployed = useSynth({ stage: 'dev' });

const fn = (synth: ReturnType<typeof dev>, role: string) =>
  synth.byState('aws:lambda/function:Function', 'name', resourceNames('dev').function(role));
/** SST gives a live function's stub the settings it needs to reach `sst dev` (AppSync endpoints). */
const isLive = (environment: unknown) =>
  typeof (environment as { variables?: Record<string, string> } | undefined)?.variables?.SST_APPSYNC_HTTP === 'string';
const masterQueue = (synth: ReturnType<typeof dev>) => synth.byState('aws:sqs/queue:Queue', 'name', resourceNames('dev').masterQueue);
const maxReceiveCount = (synth: ReturnType<typeof dev>) =>
  (JSON.parse(masterQueue(synth).inputs.redrivePolicy as string) as { maxReceiveCount: number }).maxReceiveCount;

describe('under sst dev', () => {
  it('the intake runs its deployed code; snapshot, select and forward run live', () => {
    expect(LIVE_IN_SST_DEV.intake).toBe(false);
    for (const role of ['intake', 'snapshot', 'select', 'forward'] as const) {
      expect(isLive(fn(dev(), role).inputs.environment), role).toBe(LIVE_IN_SST_DEV[role]);
      // A deployed stage runs nothing live.
      expect(isLive(fn(deployed(), role).inputs.environment), role).toBe(false);
    }
    // The functions SST registers with the running `sst dev` session.
    const targets = dev().result.rpcs.filter((r) => r.method === 'Runtime.AddTarget').map((r) => r.input.functionID);
    expect(targets.sort()).toEqual(['Forward', 'Select', 'Snapshot']);
  });

  it('the master queue outlasts its retention before the DLQ takes a message', () => {
    const queue = masterQueue(dev()).inputs;
    expect(queue.messageRetentionSeconds).toBe(SST_DEV_MASTER_QUEUE.retentionSeconds);
    expect(maxReceiveCount(dev()) * TIMEOUTS.masterVisibilitySeconds).toBeGreaterThan(queue.messageRetentionSeconds as number);
    // Deployed stages keep the original's limit.
    expect(maxReceiveCount(deployed())).toBe(MAX_RECEIVE_COUNT);
  });
});
