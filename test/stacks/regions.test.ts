/** One app, every region: each region's resources are created through that region's provider. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS, HOME_REGION, resourceNames } from '../../core/topology.js';
import { pinnedAwsVersion, ROOT } from './harness/synth.js';
import { useSynth } from './harness/use-synth.js';

const synth = useSynth();
const names = resourceNames('ci');
const otherRegions = DEFAULT_REGIONS.filter((r) => r.region !== HOME_REGION);

describe('the app and its providers', () => {
  it('deploys to the home region with a pinned aws provider, the one installed for these tests', () => {
    const app = synth().result.app as unknown as { providers: { aws: { region: string; version: string } } };
    expect(app.providers.aws.region).toBe(HOME_REGION);
    expect(app.providers.aws.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(app.providers.aws.version).toBe(pinnedAwsVersion());
    const installed = JSON.parse(
      readFileSync(path.join(ROOT, '.sst/platform/node_modules/@pulumi/aws/package.json'), 'utf8'),
    ) as { version: string };
    expect(installed.version).toBe(app.providers.aws.version);
  });

  it('creates one explicit provider per non-home region, and none for the home region', () => {
    const providers = synth().ofType('pulumi:providers:aws');
    expect(providers.map((p) => p.inputs.region).sort()).toEqual(otherRegions.map((r) => r.region).sort());
  });

  it('never places a resource with the per-resource region argument: providers are the one source of region', () => {
    const withRegion = synth()
      .resources.filter((r) => r.custom && !r.type.startsWith('pulumi:providers:') && 'region' in r.inputs)
      .map((r) => `${r.type} ${r.name}`);
    expect(withRegion).toEqual([]);
  });
});

describe('regional queues', () => {
  for (const { region } of DEFAULT_REGIONS) {
    it(`${region}: its queue and its DLQ are created with ${region === HOME_REGION ? 'the default provider' : `the ${region} provider`}`, () => {
      for (const name of [names.regionalQueue(region), names.regionalDeadLetterQueue(region)]) {
        const queue = synth().byState('aws:sqs/queue:Queue', 'name', name);
        if (region === HOME_REGION) {
          expect(queue.provider, name).toBeNull();
        } else {
          expect(queue.provider?.region, name).toBe(region);
        }
        expect(queue.region, name).toBe(region);
      }
    });
  }

  it('has exactly two lanes (normal, high), each with its DLQ, per configured region', () => {
    const regional = synth()
      .ofType('aws:sqs/queue:Queue')
      .map((q) => q.state.name as string)
      .filter((name) => name.startsWith('inference-dispatch-queue-'));
    expect(regional.sort()).toEqual(
      DEFAULT_REGIONS.flatMap((r) => [
        names.regionalQueue(r.region),
        names.regionalDeadLetterQueue(r.region),
        names.regionalHighQueue(r.region),
        names.regionalHighDeadLetterQueue(r.region),
      ]).sort(),
    );
  });
});

describe('home-region resources', () => {
  it('the master queue, its DLQ, the dispatch DLQ, the table, the functions and the state machine use the default provider', () => {
    const s = synth();
    const home = [
      s.byState('aws:sqs/queue:Queue', 'name', names.masterQueue),
      s.byState('aws:sqs/queue:Queue', 'name', names.masterDeadLetterQueue),
      s.byState('aws:sqs/queue:Queue', 'name', names.dispatchDeadLetterQueue),
      s.byState('aws:dynamodb/table:Table', 'name', names.idempotencyTable),
      s.byState('aws:sfn/stateMachine:StateMachine', 'name', names.stateMachine),
      ...s.ofType('aws:lambda/function:Function'),
    ];
    for (const resource of home) {
      expect(resource.provider, resource.name).toBeNull();
      expect(resource.region, resource.name).toBe(HOME_REGION);
    }
  });

  it('only regional queues, their policies, their alarms, their alarm topics and the topics\' keys live outside the home region', () => {
    const elsewhere = synth()
      .resources.filter((r) => r.provider !== null)
      .map((r) => r.type)
      .sort();
    const perRegion = [
      // Two lanes and their DLQs, with their policies.
      ...Array(4).fill('aws:sqs/queue:Queue'),
      ...Array(4).fill('aws:sqs/queuePolicy:QueuePolicy'),
      'aws:sns/topic:Topic',
      // The key that encrypts the region's alarm topic (stacks/alarm-keys.ts).
      'aws:kms/key:Key',
      // Both DLQs not empty, each lane's age.
      ...Array(4).fill('aws:cloudwatch/metricAlarm:MetricAlarm'),
    ];
    expect(elsewhere).toEqual(otherRegions.flatMap(() => perRegion).sort());
  });
});
