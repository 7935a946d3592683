/**
 * What a synthesized stage names, as the ARNs (and SST state keys) a policy would have to match to reach
 * it: the neighbours' lists are what no wildcard of another stage or app may match.
 */
import { MOCK_ACCOUNT, type Synth } from './harness/model.js';

/**
 * SST v4's keys of one app and stage in its state bucket, restated from its source
 * (pkg/project/provider/aws.go: <kind>/<app>/<stage>.json; history kinds <kind>/<app>/<stage>/<update>.json).
 */
export function sstStateKeysOf(app: string, stage: string): string[] {
  return [
    ...['app', 'lock', 'secret'].map((kind) => `${kind}/${app}/${stage}.json`),
    ...['update', 'summary', 'snapshot', 'eventlog'].map((kind) => `${kind}/${app}/${stage}/01JEXAMPLEUPDATE.json`),
  ];
}

/** The state bucket the synthesis's bootstrap mock names (harness/runtime.ts). */
const STATE_BUCKET = 'sst-state-mock-us-east-1';

/** Every resource of a synthesized stage that AWS names, by the ARN a policy would name it with. */
export function namedArns(synth: Synth): string[] {
  const account = MOCK_ACCOUNT;
  const { name: app, stage } = synth.result.app;
  return [
    ...synth.ofType('aws:sqs/queue:Queue').map((q) => q.state.arn as string),
    ...synth.ofType('aws:lambda/function:Function').map((f) => `arn:aws:lambda:${f.region}:${account}:function:${f.inputs.name as string}`),
    ...synth.ofType('aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => `arn:aws:cloudwatch:${a.region}:${account}:alarm:${a.inputs.name as string}`),
    ...synth.ofType('aws:sns/topic:Topic').map((t) => t.state.arn as string),
    ...synth.ofType('aws:dynamodb/table:Table').map((t) => t.state.arn as string),
    ...synth.ofType('aws:sfn/stateMachine:StateMachine').map((m) => m.state.arn as string),
    ...synth.ofType('aws:cloudwatch/logGroup:LogGroup').map((g) => `arn:aws:logs:${g.region}:${account}:log-group:${g.inputs.name as string}`),
    ...synth.ofType('aws:xray/samplingRule:SamplingRule').map((r) => `arn:aws:xray:${r.region}:${account}:sampling-rule/${r.inputs.ruleName as string}`),
    ...synth.ofType('aws:ssm/parameter:Parameter').map((p) => `arn:aws:ssm:${p.region}:${account}:parameter${p.inputs.name as string}`),
    ...synth.ofType('aws:cloudwatch/dashboard:Dashboard').map((d) => `arn:aws:cloudwatch::${account}:dashboard/${d.inputs.dashboardName as string}`),
    ...synth.ofType('aws:iam/role:Role').map((r) => r.state.arn as string),
    ...synth.ofType('aws:iam/policy:Policy').map((p) => p.state.arn as string),
    ...synth.ofType('aws:s3/bucketObjectv2:BucketObjectv2').map((o) => `arn:aws:s3:::${o.inputs.bucket as string}/${o.inputs.key as string}`),
    ...sstStateKeysOf(app, stage).map((key) => `arn:aws:s3:::${STATE_BUCKET}/${key}`),
    `arn:aws:ssm:us-east-1:${account}:parameter/sst/passphrase/${app}/${stage}`,
  ];
}
