/** The stage's outputs name the deployed resources, in the shape the tools read (stacks/stage-outputs.ts). */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config.js';
import { DEFAULT_REGIONS, HOME_REGION, resourceNames } from '../../core/topology.js';
import { parseStageOutputs } from '../../stacks/stage-outputs.js';
import { useSynth } from './harness/use-synth.js';

const synth = useSynth();
const production = useSynth({ stage: 'production' });
const names = resourceNames('ci');
const outputs = () => parseStageOutputs(synth().result.outputs);
const queue = (name: string) => synth().byState('aws:sqs/queue:Queue', 'name', name).state;

describe('stage outputs', () => {
  it('name the master queue, the DLQs, the state machine, its log group and the table', () => {
    const s = synth();
    expect(outputs()).toMatchObject({
      app: 'inference-dispatch',
      stage: 'ci',
      homeRegion: HOME_REGION,
      masterQueueUrl: queue(names.masterQueue).url,
      masterDeadLetterQueueUrl: queue(names.masterDeadLetterQueue).url,
      dispatchDeadLetterQueueUrl: queue(names.dispatchDeadLetterQueue).url,
      stateMachineArn: s.byState('aws:sfn/stateMachine:StateMachine', 'name', names.stateMachine).state.arn,
      stateMachineLogGroup: `/aws/vendedlogs/states/${names.stateMachine}`,
      tableName: names.idempotencyTable,
      functionNames: { intake: 'inference-dispatch-intake-ci', snapshot: 'inference-dispatch-snapshot-ci', select: 'inference-dispatch-select-ci', forward: 'inference-dispatch-forward-ci' },
    });
  });

  it('are written, whole, to the SSM parameter the CLI reads for any stage, in the home region', () => {
    const parameter = synth().byState('aws:ssm/parameter:Parameter', 'name', names.outputsParameter);
    expect(parameter.region).toBe(HOME_REGION);
    expect(parameter.inputs).toMatchObject({ type: 'String', tier: 'Intelligent-Tiering' });
    // The provider marks a parameter's value secret: Pulumi wraps it ({ <secret signature>, value }).
    const value = (parameter.inputs.value as { value: string }).value;
    expect(parseStageOutputs(JSON.parse(value))).toEqual(outputs());
    // A standard parameter (no charge) holds 4 KB: the outputs of three regions fit.
    expect(value.length).toBeLessThan(4096);
  });

  it('name every regional queue and DLQ by region', () => {
    expect(outputs().regionalQueueUrls).toEqual(
      Object.fromEntries(DEFAULT_REGIONS.map((r) => [r.region, queue(names.regionalQueue(r.region)).url])),
    );
    expect(outputs().regionalDeadLetterQueueUrls).toEqual(
      Object.fromEntries(DEFAULT_REGIONS.map((r) => [r.region, queue(names.regionalDeadLetterQueue(r.region)).url])),
    );
  });

  it('give REGION_QUEUES exactly as the functions get it', () => {
    const intake = synth().byState('aws:lambda/function:Function', 'name', 'inference-dispatch-intake-ci');
    expect(outputs().regionQueues).toBe((intake.inputs.environment as { variables: Record<string, string> }).variables.REGION_QUEUES);
    expect(parseConfig({ REGION_QUEUES: outputs().regionQueues }).regions.map((r) => r.region)).toEqual(DEFAULT_REGIONS.map((r) => r.region));
  });

  it('link to the console pages of the home region', () => {
    for (const [page, url] of Object.entries(outputs().consoleLinks)) {
      expect(url, page).toMatch(new RegExp(`^https://${HOME_REGION}\\.console\\.aws\\.amazon\\.com/.+region=${HOME_REGION}#`));
    }
    expect(outputs().consoleLinks.stateMachine).toContain(encodeURIComponent(outputs().stateMachineArn));
    expect(outputs().consoleLinks.executionLogs).toContain('$252Faws$252Fvendedlogs$252Fstates$252F');
  });

  it('reach `sst shell` through the Dispatch link with the same values', () => {
    // SST records a link's properties on its LinkRef; `sst shell` reads them from there.
    const link = synth().get('sst:sst:LinkRef', 'DispatchLinkRef');
    const properties = (link.inputs as { properties: Record<string, unknown> }).properties;
    expect(Object.keys(properties).sort()).toEqual(Object.keys(outputs()).sort());
    expect(parseStageOutputs(properties)).toEqual(outputs());
  });
});

describe('production stage', () => {
  it('keeps its data: retained on removal, protected, the table undeletable', () => {
    expect(production().result.app).toMatchObject({ stage: 'production', removal: 'retain', protect: true });
    const table = production().byState('aws:dynamodb/table:Table', 'name', resourceNames('production').idempotencyTable);
    expect(table.inputs.deletionProtectionEnabled).toBe(true);
  });

  it('other stages can be removed cleanly', () => {
    expect(synth().result.app).toMatchObject({ removal: 'remove', protect: false });
    expect(synth().byState('aws:dynamodb/table:Table', 'name', names.idempotencyTable).inputs.deletionProtectionEnabled).toBe(false);
  });
});
