/**
 * Request bodies stay out of the execution log unless a stage is named inspectable at deploy
 * (stacks/settings.ts DISPATCH_INSPECTABLE_STAGES): the execution data holds each request's body and its
 * `input_data_url`, where a presigned URL is a credential, kept 30 days. No stage logs it by default.
 */
import { describe, expect, it } from 'vitest';
import { resourceNames } from '../../core/topology.js';
import { INSPECTABLE_STAGES_ENV, inspectableStages, stateMachineLogging } from '../../stacks/settings.js';
import type { Synth } from './harness/model.js';
import { synth } from './harness/synth.js';
import { SETUP_TIMEOUT_MS } from './harness/use-synth.js';

/** Synthesizes `stage` with DISPATCH_INSPECTABLE_STAGES set as a deployer would (part of the synthesis's cache key). */
const synthWith = (inspectable: string, stage: string): Promise<Synth> => synth({ stage, env: { [INSPECTABLE_STAGES_ENV]: inspectable } });

const logging = (stage: Synth, name: string) => stage.byState('aws:sfn/stateMachine:StateMachine', 'name', resourceNames(name).stateMachine).inputs.loggingConfiguration;

describe('the execution log per stage', () => {
  // The synthesized default (stage "ci", nothing named): test/stacks/state-machine.test.ts.
  it('logs no execution data on any stage by default: a staging stage logs each execution\'s path only', () => {
    for (const stage of ['staging', 'dev', 'ci', 'alice', 'production', 'prod']) {
      expect(stateMachineLogging(stage, {}).includeExecutionData, stage).toBe(false);
    }
    expect(stateMachineLogging('staging', {}).level).toBe('ALL');
    expect(stateMachineLogging('production', {}).level).toBe('ERROR');
  });

  it('logs execution data only on the stages named inspectable', () => {
    const env = { [INSPECTABLE_STAGES_ENV]: ' dev , alice ' };
    expect(inspectableStages(env)).toEqual(['dev', 'alice']);
    expect(stateMachineLogging('dev', env)).toEqual({ level: 'ALL', includeExecutionData: true });
    expect(stateMachineLogging('alice', env)).toEqual({ level: 'ALL', includeExecutionData: true });
    expect(stateMachineLogging('staging', env)).toEqual({ level: 'ALL', includeExecutionData: false });
    expect(inspectableStages({ [INSPECTABLE_STAGES_ENV]: '  ' })).toEqual([]);
  });

  it('refuses a production stage or a malformed name among the inspectable ones, naming the variable', () => {
    expect(() => inspectableStages({ [INSPECTABLE_STAGES_ENV]: 'dev,production' })).toThrow(/DISPATCH_INSPECTABLE_STAGES=dev,production:\n {2}"production" is a production stage/);
    expect(() => inspectableStages({ [INSPECTABLE_STAGES_ENV]: 'dev,,x y' })).toThrow(/"" is not a stage name[\s\S]*"x y" is not a stage name/);
  });

  it(
    'a stage named inspectable at deploy logs them with their data; a production stage named so is not synthesized',
    async () => {
      const stage = await synthWith('inspect-me', 'inspect-me');
      expect(logging(stage, 'inspect-me')).toMatchObject({ level: 'ALL', includeExecutionData: true });
      await expect(synthWith('prod', 'prod')).rejects.toThrow(/InspectableStagesError/);
    },
    SETUP_TIMEOUT_MS,
  );
});
