/**
 * The alarm topics are encrypted, each with a customer managed key of its own region (CloudWatch cannot
 * publish to a topic under the AWS managed aws/sns key): rotation on, and a key policy that lets
 * CloudWatch use the key for this account's alarms of this stage in that region only.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS } from '../../core/topology.js';
import { MOCK_ACCOUNT, parsePolicy, type Statement, type Synth, type SynthResource } from './harness/model.js';
import { useSynth } from './harness/use-synth.js';
import { evaluate } from './iam-eval.js';

const ci = useSynth();
const production = useSynth({ stage: 'production' });
const otherStage = useSynth({ stage: 'production-eu' });

const keys = (synth: Synth) => synth.ofType('aws:kms/key:Key');
const keyIn = (synth: Synth, region: string) => keys(synth).find((k) => k.region === region)!;
const policyOf = (key: SynthResource): Statement[] => parsePolicy(key.inputs.policy as string);
const alarmArn = (alarm: SynthResource) => `arn:aws:cloudwatch:${alarm.region}:${MOCK_ACCOUNT}:alarm:${alarm.inputs.name as string}`;
/** What CloudWatch asks of the key when an alarm publishes to the topic. */
const publish = (key: SynthResource, sourceArn: string, sourceAccount = MOCK_ACCOUNT) =>
  ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) =>
    evaluate(
      policyOf(key).filter((s) => JSON.stringify(s.principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' })),
      { action, resource: key.state.arn as string, context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': sourceAccount } },
    ),
  );

describe('the alarm topics', () => {
  it('are each encrypted with a customer managed key of their own region, rotated yearly', () => {
    const topics = ci().ofType('aws:sns/topic:Topic');
    expect(topics).toHaveLength(DEFAULT_REGIONS.length);
    for (const topic of topics) {
      const key = keyIn(ci(), topic.region);
      expect(key, topic.region).toBeDefined();
      expect(topic.inputs.kmsMasterKeyId, topic.region).toBe(key.state.arn);
      expect(key.inputs.enableKeyRotation, topic.region).toBe(true);
      expect(key.provider?.region ?? 'us-east-1', topic.region).toBe(topic.region);
    }
    expect(keys(ci())).toHaveLength(DEFAULT_REGIONS.length);
  });

  it("let CloudWatch use the key for every alarm of the stage in the key's region", () => {
    const alarms = ci().ofType('aws:cloudwatch/metricAlarm:MetricAlarm');
    expect(alarms.length).toBeGreaterThan(15);
    for (const alarm of alarms) expect(publish(keyIn(ci(), alarm.region), alarmArn(alarm)), alarm.name).toEqual(['allow', 'allow']);
  });

  it("not for another region's alarms, another stage's, or another account's", () => {
    const key = keyIn(production(), 'us-west-2');
    for (const alarm of otherStage().ofType('aws:cloudwatch/metricAlarm:MetricAlarm')) {
      expect(publish(key, alarmArn(alarm)), alarm.name).toEqual(['implicit-deny', 'implicit-deny']);
    }
    const home = production().ofType('aws:cloudwatch/metricAlarm:MetricAlarm').find((a) => a.region === 'us-east-1')!;
    expect(publish(key, alarmArn(home))).toEqual(['implicit-deny', 'implicit-deny']);
    const own = production().ofType('aws:cloudwatch/metricAlarm:MetricAlarm').find((a) => a.region === 'us-west-2')!;
    expect(publish(key, alarmArn(own), '210987654321')).toEqual(['implicit-deny', 'implicit-deny']);
  });

  it("are administered by the account, and in the pipeline's stage by the deploy role, on that key only", () => {
    const deployRole = production().get('aws:iam/role:Role', 'DeployRole').state.arn;
    for (const key of keys(production())) {
      const principals = policyOf(key).map((s) => JSON.stringify(s.principal)).sort();
      expect(principals).toEqual(
        [{ AWS: `arn:aws:iam::${MOCK_ACCOUNT}:root` }, { AWS: deployRole }, { Service: 'cloudwatch.amazonaws.com' }].map((p) => JSON.stringify(p)).sort(),
      );
    }
    for (const key of keys(ci())) expect(policyOf(key)).toHaveLength(2);
  });
});
