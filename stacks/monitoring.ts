/**
 * Alarms, and one dashboard when the stage asks for it (DISPATCH_DASHBOARD=on). SQS metrics live in the queue's own region, so a regional queue's alarms
 * are created there (through that region's provider) and notify that region's topic; the dashboard in
 * the home region reads every region's metrics by naming the region per metric.
 *
 * The dispatch's own counts (dispatched, duplicates, dead-lettered by reason class, retried, failovers
 * per region pair, unconfirmed sends, claims taken over, batch size, execution duration) are metrics the
 * functions write in Embedded Metric Format (functions/metrics.ts), named in core/metrics.ts: read here
 * by those names, whatever the state machine's log level, with no log metric filter. The X-Ray sampling
 * rule is created here too (stacks/tracing.ts).
 */
import { DEAD_LETTER_CLASSES, DIMENSION, METRICS, metricNamespace, SERVICE_DIMENSION, type MetricKey, type MetricSpec } from '../core/metrics.js';
import { HOME_REGION, type resourceNames } from '../core/topology.js';
import { createAlarmKey, type AlarmKeyArgs } from './alarm-keys.js';
import type { Dispatch } from './dispatch.js';
import type { Queues } from './queues.js';
import type { DeployRegion } from './regions.js';
import { ALARM_SETTINGS } from './settings.js';
import { createSamplingRule } from './tracing.js';

type Names = ReturnType<typeof resourceNames>;

/** A metric the functions write, by its key in core/metrics.ts, with values for one of its dimension sets. */
export function emfMetric(key: MetricKey, dimensions: Record<string, string> = {}) {
  const spec: MetricSpec = METRICS[key];
  const keys = Object.keys(dimensions);
  if (!spec.dimensionSets.some((set) => set.length === keys.length && set.every((d) => keys.includes(d)))) {
    throw new Error(`${spec.name} is not written with dimensions [${keys.join(', ')}] (core/metrics.ts)`);
  }
  return {
    namespace: metricNamespace($app.stage, $app.name),
    metricName: spec.name,
    dimensions: { [SERVICE_DIMENSION]: spec.service, ...dimensions },
  };
}

/** The home region's alarms that are not a queue's (names.alarm(what)). */
export const HOME_ALARMS = ['intake-errors', 'failed-executions', 'failovers', 'claims-taken-over'] as const;
type HomeAlarm = (typeof HOME_ALARMS)[number];

export interface Monitoring {
  readonly topics: Record<string, aws.sns.Topic>;
  readonly keys: Record<string, aws.kms.Key>;
  /** Only when DISPATCH_DASHBOARD=on at deploy (stacks/settings.ts dashboardEnabled). */
  readonly dashboard?: aws.cloudwatch.Dashboard;
  readonly alarms: aws.cloudwatch.MetricAlarm[];
  readonly samplingRule: aws.xray.SamplingRule;
}

export interface MonitoringArgs {
  readonly names: Names;
  readonly regions: readonly DeployRegion[];
  readonly queues: Queues;
  readonly dispatch: Dispatch;
  /** What each region's alarm key admits (stacks/alarm-keys.ts). */
  readonly alarmKeys: AlarmKeyArgs;
  /** Whether the stage has its dashboard (stacks/settings.ts dashboardEnabled). */
  readonly withDashboard: boolean;
}

export function createMonitoring({ names, regions, queues, dispatch, alarmKeys, withDashboard }: MonitoringArgs): Monitoring {
  // One topic per region: an alarm notifies a topic in its own region. Encrypted with a key of the
  // region's own whose policy lets CloudWatch publish (it cannot under the AWS managed aws/sns key).
  const keys = Object.fromEntries(regions.map((r) => [r.region, createAlarmKey(names.alarmTopic, r, alarmKeys)]));
  const topics = Object.fromEntries(
    regions.map((r) => [
      r.region,
      new aws.sns.Topic(`AlarmTopic${r.pascal}`, { name: names.alarmTopic, kmsMasterKeyId: keys[r.region]!.arn }, r.opts),
    ]),
  );
  const topicOf = (region: string) => topics[region]!.arn;
  const alarms: aws.cloudwatch.MetricAlarm[] = [];
  const homeAlarm = (what: HomeAlarm) => names.alarm(what);
  const alarm = (name: string, args: aws.cloudwatch.MetricAlarmArgs, region = HOME_REGION, opts = {}) => {
    const created = new aws.cloudwatch.MetricAlarm(
      name,
      { treatMissingData: 'notBreaching', alarmActions: [topicOf(region)], okActions: [topicOf(region)], ...args },
      opts,
    );
    alarms.push(created);
    return created;
  };

  alarm('IntakeErrorsAlarm', {
    name: homeAlarm('intake-errors'),
    alarmDescription: `More than ${ALARM_SETTINGS.intakeErrors.threshold} intake errors in 5 minutes`,
    namespace: 'AWS/Lambda',
    metricName: 'Errors',
    dimensions: { FunctionName: dispatch.functions.intake.name },
    statistic: 'Sum',
    period: ALARM_SETTINGS.intakeErrors.periodSeconds,
    evaluationPeriods: 1,
    threshold: ALARM_SETTINGS.intakeErrors.threshold,
    comparisonOperator: 'GreaterThanThreshold',
  });

  alarm('FailedExecutionsAlarm', {
    name: homeAlarm('failed-executions'),
    alarmDescription: 'A dispatch execution failed or timed out (its batch returns to the master queue)',
    // Not ExecutionsAborted: an Express execution cannot be stopped (StopExecution is for Standard
    // workflows), and each metric of an alarm is billed as an alarm metric.
    metricQueries: [
      ...(['ExecutionsFailed', 'ExecutionsTimedOut'] as const).map((metricName, i) => ({
        id: `m${i}`,
        returnData: false,
        metric: {
          namespace: 'AWS/States',
          metricName,
          dimensions: { StateMachineArn: dispatch.stateMachine.arn },
          stat: 'Sum',
          period: 300,
        },
      })),
      { id: 'failed', expression: 'FILL(m0, 0) + FILL(m1, 0)', label: 'Failed executions', returnData: true },
    ],
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: 'GreaterThanThreshold',
  });

  const deadLetterAlarm = (name: string, queueName: string, region: string, opts: { provider?: aws.Provider }) =>
    alarm(
      name,
      {
        name: names.queueAlarm(queueName, 'not-empty'),
        alarmDescription: `Messages waiting in the dead-letter queue ${queueName} (${region})`,
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: queueName },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: 'GreaterThanThreshold',
      },
      region,
      opts,
    );
  deadLetterAlarm('MasterDeadLetterAlarm', names.masterDeadLetterQueue, HOME_REGION, {});
  deadLetterAlarm('DispatchDeadLetterAlarm', names.dispatchDeadLetterQueue, HOME_REGION, {});
  deadLetterAlarm('MasterHighDeadLetterAlarm', names.masterHighDeadLetterQueue, HOME_REGION, {});

  for (const r of regions) {
    const queueName = names.regionalQueue(r.region);
    deadLetterAlarm(`RegionalDeadLetterAlarm${r.pascal}`, names.regionalDeadLetterQueue(r.region), r.region, r.opts);
    deadLetterAlarm(`RegionalHighDeadLetterAlarm${r.pascal}`, names.regionalHighDeadLetterQueue(r.region), r.region, r.opts);
    const highQueueName = names.regionalHighQueue(r.region);
    alarm(
      `RegionalHighAgeAlarm${r.pascal}`,
      {
        name: names.queueAlarm(highQueueName, 'age'),
        alarmDescription: `A high-priority message in ${r.region} waited more than ${ALARM_SETTINGS.highLaneAgeSeconds} s: its workers are behind even on the high lane`,
        namespace: 'AWS/SQS',
        metricName: 'ApproximateAgeOfOldestMessage',
        dimensions: { QueueName: highQueueName },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 3,
        threshold: ALARM_SETTINGS.highLaneAgeSeconds,
        comparisonOperator: 'GreaterThanThreshold',
      },
      r.region,
      r.opts,
    );
    alarm(
      `RegionalAgeAlarm${r.pascal}`,
      {
        name: names.queueAlarm(queueName, 'age'),
        alarmDescription: `The oldest message in ${r.region} waited more than ${ALARM_SETTINGS.regionalAgeSeconds} s: its workers are behind`,
        namespace: 'AWS/SQS',
        metricName: 'ApproximateAgeOfOldestMessage',
        dimensions: { QueueName: queueName },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        threshold: ALARM_SETTINGS.regionalAgeSeconds,
        comparisonOperator: 'GreaterThanThreshold',
      },
      r.region,
      r.opts,
    );
  }

  // Signs of trouble before a message is lost (thresholds and why: stacks/settings.ts).
  alarm('FailoversAlarm', {
    name: homeAlarm('failovers'),
    alarmDescription:
      'Messages failed over to another region: a region refused whole sends (throttled, down, denied). ' +
      'The FailedOver metric by From and To says which (the dashboard graphs it when deployed).',
    ...emfMetric('failedOver'),
    statistic: 'Sum',
    period: ALARM_SETTINGS.failovers.periodSeconds,
    evaluationPeriods: ALARM_SETTINGS.failovers.evaluationPeriods,
    threshold: ALARM_SETTINGS.failovers.threshold,
    comparisonOperator: 'GreaterThanThreshold',
  });
  alarm('ClaimsTakenOverAlarm', {
    name: homeAlarm('claims-taken-over'),
    alarmDescription:
      'Claims taken over from an earlier run that ended without settling them (a crash, a timeout, a send without an answer): ' +
      'those messages were in doubt and are being dispatched again.',
    ...emfMetric('claimsTakenOver'),
    statistic: 'Sum',
    period: ALARM_SETTINGS.claimsTakenOver.periodSeconds,
    evaluationPeriods: ALARM_SETTINGS.claimsTakenOver.evaluationPeriods,
    threshold: ALARM_SETTINGS.claimsTakenOver.threshold,
    comparisonOperator: 'GreaterThanThreshold',
  });

  const samplingRule = createSamplingRule(names.stateMachine);

  const dashboard = withDashboard
    ? new aws.cloudwatch.Dashboard('Dashboard', {
        dashboardName: names.dashboard,
        dashboardBody: $jsonStringify({ widgets: dashboardWidgets({ names, queues, dispatch }) }),
      })
    : undefined;

  return { topics, keys, dashboard, alarms, samplingRule };
}

type Metric = (string | $util.Output<string> | Record<string, unknown>)[];

function graph(title: string, metrics: Metric[], options: { stat: string; period: number; x: number; y: number; width?: number }) {
  return {
    type: 'metric',
    x: options.x,
    y: options.y,
    width: options.width ?? 12,
    height: 6,
    properties: { title, region: HOME_REGION, view: 'timeSeries', stat: options.stat, period: options.period, metrics },
  };
}

function dashboardWidgets({ names, queues, dispatch }: Pick<MonitoringArgs, 'names' | 'queues' | 'dispatch'>) {
  /** A metric the functions write, as a dashboard row: [namespace, name, dimension, value, ..., options]. */
  const dispatchMetric = (key: MetricKey, dimensions: Record<string, string> = {}, label?: string, extra: Record<string, unknown> = {}): Metric => {
    const m = emfMetric(key, dimensions);
    return [m.namespace, m.metricName, ...Object.entries(m.dimensions).flat(), { label: label ?? m.metricName, ...extra }];
  };
  const regions = queues.regional.map((r) => r.region);
  const pairs = regions.flatMap((from) => regions.filter((to) => to !== from).map((to) => [from, to] as const));
  /** The same row, labelled as the high lane's. */
  const highLane = (m: Metric): Metric => {
    const options = m[m.length - 1] as { label: string };
    return [...m.slice(0, -1), { ...options, label: `${options.label} high` }] as Metric;
  };
  const perRegion = (metricName: string, queueName: (region: string) => string) =>
    queues.regional.map((r): Metric => ['AWS/SQS', metricName, 'QueueName', queueName(r.region), { region: r.region, label: r.region }]);
  const states = (metricName: string, extra: Record<string, unknown> = {}): Metric => [
    'AWS/States',
    metricName,
    'StateMachineArn',
    dispatch.stateMachine.arn,
    { label: metricName, ...extra },
  ];
  const intake = (metricName: string, extra: Record<string, unknown> = {}): Metric => [
    'AWS/Lambda',
    metricName,
    'FunctionName',
    dispatch.functions.intake.name,
    { label: `intake ${metricName}`, ...extra },
  ];
  return [
    graph(
      'Depth per region and lane (visible messages)',
      [
        ...perRegion('ApproximateNumberOfMessagesVisible', names.regionalQueue),
        ...perRegion('ApproximateNumberOfMessagesVisible', names.regionalHighQueue).map(highLane),
      ],
      { stat: 'Maximum', period: 60, x: 0, y: 0 },
    ),
    graph('Dispatched per region (messages sent)', perRegion('NumberOfMessagesSent', names.regionalQueue), {
      stat: 'Sum', period: 300, x: 12, y: 0,
    }),
    graph(
      'Oldest message per region and lane (s)',
      [
        ...perRegion('ApproximateAgeOfOldestMessage', names.regionalQueue),
        ...perRegion('ApproximateAgeOfOldestMessage', names.regionalHighQueue).map(highLane),
      ],
      { stat: 'Maximum', period: 60, x: 0, y: 6 },
    ),
    graph(
      'Dead-letter queues (visible messages)',
      [
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', names.masterDeadLetterQueue, { label: 'master DLQ' }],
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', names.dispatchDeadLetterQueue, { label: 'dispatch DLQ' }],
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', names.masterHighDeadLetterQueue, { label: 'master high DLQ' }],
        ...queues.regional.flatMap((r): Metric[] => [
          ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', names.regionalDeadLetterQueue(r.region), { region: r.region, label: `${r.region} DLQ` }],
          ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', names.regionalHighDeadLetterQueue(r.region), { region: r.region, label: `${r.region} high DLQ` }],
        ]),
      ],
      { stat: 'Maximum', period: 60, x: 12, y: 6 },
    ),
    graph(
      'Executions',
      ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut'].map((m) => states(m)),
      { stat: 'Sum', period: 300, x: 0, y: 12 },
    ),
    graph(
      'Execution duration (ms)',
      [states('ExecutionTime', { stat: 'p50', label: 'p50' }), states('ExecutionTime', { stat: 'p99', label: 'p99' }), states('ExecutionTime', { stat: 'Maximum', label: 'max' })],
      { stat: 'p50', period: 300, x: 12, y: 12 },
    ),
    graph(
      'Outcomes (messages)',
      [
        dispatchMetric('dispatched'),
        dispatchMetric('duplicates'),
        dispatchMetric('retried'),
        ...DEAD_LETTER_CLASSES.map((reasonClass) => dispatchMetric('deadLettered', { [DIMENSION.reasonClass]: reasonClass }, `dead-lettered: ${reasonClass}`)),
      ],
      { stat: 'Sum', period: 300, x: 0, y: 18 },
    ),
    graph(
      'Idempotency table latency (ms)',
      ['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem'].map((operation): Metric => [
        'AWS/DynamoDB',
        'SuccessfulRequestLatency',
        'TableName',
        names.idempotencyTable,
        'Operation',
        operation,
        { label: operation },
      ]),
      { stat: 'Average', period: 300, x: 0, y: 24 },
    ),
    graph(
      'Functions: duration p99 (ms) and errors',
      (['intake', 'snapshot', 'select', 'forward'] as const).flatMap((role): Metric[] => [
        ['AWS/Lambda', 'Duration', 'FunctionName', dispatch.functions[role].name, { label: `${role} p99`, stat: 'p99' }],
        ['AWS/Lambda', 'Errors', 'FunctionName', dispatch.functions[role].name, { label: `${role} errors`, stat: 'Sum', yAxis: 'right' }],
      ]),
      { stat: 'p99', period: 300, x: 12, y: 24 },
    ),
    graph(
      'Intake and master queue',
      [
        intake('Invocations'),
        intake('Errors'),
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', names.masterQueue, { label: 'master visible', yAxis: 'right' }],
        ['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', names.masterQueue, { label: 'master oldest (s)', yAxis: 'right', stat: 'Maximum' }],
      ],
      { stat: 'Sum', period: 300, x: 12, y: 18 },
    ),
    graph(
      'Failovers (From -> To) and sends without an answer',
      [
        ...pairs.map(([from, to]) => dispatchMetric('failedOver', { [DIMENSION.from]: from, [DIMENSION.to]: to }, `${from} -> ${to}`)),
        ...regions.map((region) =>
          dispatchMetric('sendsUnconfirmed', { [DIMENSION.region]: region }, `unconfirmed in ${region}`, { yAxis: 'right' }),
        ),
      ],
      { stat: 'Sum', period: 300, x: 0, y: 30 },
    ),
    graph(
      'Claims taken over (an earlier run ended without settling them)',
      [dispatchMetric('claimsTakenOver'), dispatchMetric('failedOver', {}, 'failed over (all regions)')],
      { stat: 'Sum', period: 300, x: 12, y: 30 },
    ),
    graph(
      'Batches: size (messages) and how long the intake waited for each execution (ms)',
      [
        dispatchMetric('batchSize', {}, 'batch size (average)', { stat: 'Average' }),
        dispatchMetric('batchSize', {}, 'batches', { stat: 'SampleCount' }),
        dispatchMetric('executionDuration', {}, 'execution p50', { stat: 'p50', yAxis: 'right' }),
        dispatchMetric('executionDuration', {}, 'execution p99', { stat: 'p99', yAxis: 'right' }),
      ],
      { stat: 'Average', period: 300, x: 0, y: 36, width: 24 },
    ),
  ];
}
