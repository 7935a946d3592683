/** The stage's outputs (shape in stage-outputs.ts) and the `Dispatch` link that carries them into `sst shell`. */
import { HOME_REGION } from '../core/topology.js';
import type { Dispatch } from './dispatch.js';
import { regionQueuesJson } from './dispatch.js';
import type { Monitoring } from './monitoring.js';
import type { Queues } from './queues.js';
import type { StageOutputs } from './stage-outputs.js';

type Deployed<T> = { [K in keyof T]-?: NonNullable<T[K]> extends string ? $util.Input<string> : Deployed<NonNullable<T[K]>> };

/** A page of the AWS console in the home region. */
function consoleUrl(service: string, fragment: string): string {
  return `https://${HOME_REGION}.console.aws.amazon.com/${service}/home?region=${HOME_REGION}#${fragment}`;
}

/** The CloudWatch console escapes "/" in log group names as "$252F". */
function consoleLogGroup(name: string): string {
  return encodeURIComponent(name).replace(/%/g, '$25');
}

export function stageOutputs(args: {
  queues: Queues;
  table: aws.dynamodb.Table;
  dispatch: Dispatch;
  monitoring: Monitoring;
}): Deployed<StageOutputs> {
  const { queues, table, dispatch, monitoring } = args;
  const byRegion = (pick: (r: Queues['regional'][number]) => $util.Output<string>) =>
    Object.fromEntries(queues.regional.map((r) => [r.region, pick(r)]));
  return {
    app: $app.name,
    stage: $app.stage,
    homeRegion: HOME_REGION,
    masterQueueUrl: queues.master.url,
    masterDeadLetterQueueUrl: queues.masterDeadLetter.url,
    dispatchDeadLetterQueueUrl: queues.dispatchDeadLetter.url,
    regionQueues: regionQueuesJson(queues),
    regionalQueueUrls: byRegion((r) => r.queue.url),
    regionalDeadLetterQueueUrls: byRegion((r) => r.deadLetterQueue.url),
    masterHighQueueUrl: queues.masterHigh.url,
    masterHighDeadLetterQueueUrl: queues.masterHighDeadLetter.url,
    regionalHighQueueUrls: byRegion((r) => r.highQueue.url),
    stateMachineArn: dispatch.stateMachine.arn,
    stateMachineLogGroup: dispatch.logGroup.name,
    tableName: table.name,
    functionNames: {
      intake: dispatch.functions.intake.name,
      snapshot: dispatch.functions.snapshot.name,
      select: dispatch.functions.select.name,
      forward: dispatch.functions.forward.name,
    },
    alarmTopicArns: Object.fromEntries(Object.entries(monitoring.topics).map(([region, topic]) => [region, topic.arn])),
    consoleLinks: {
      stateMachine: dispatch.stateMachine.arn.apply((arn) =>
        consoleUrl('states', `/statemachines/view/${encodeURIComponent(arn)}`),
      ),
      executionLogs: dispatch.logGroup.name.apply((name) =>
        consoleUrl('cloudwatch', `logsV2:log-groups/log-group/${consoleLogGroup(name)}`),
      ),
      // Without the stage's dashboard (DISPATCH_DASHBOARD off), CloudWatch's metrics view of its namespace.
      dashboard: monitoring.dashboard
        ? monitoring.dashboard.dashboardName.apply((name) => consoleUrl('cloudwatch', `dashboards/dashboard/${name}`))
        : consoleUrl('cloudwatch', 'metricsV2'),
      masterQueue: queues.master.url.apply((url) =>
        consoleUrl('sqs/v3', `/queues/${encodeURIComponent(url)}`),
      ),
      table: table.name.apply((name) => consoleUrl('dynamodbv2', `table?name=${name}`)),
    },
  };
}
