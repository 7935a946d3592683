/** Alarms and the dashboard watch every region, each alarm in the region of its metric. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS, HOME_REGION, resourceNames } from '../../core/topology.js';
import type { SynthResource } from './harness/model.js';
import { useSynth } from './harness/use-synth.js';
import { ALARM_SETTINGS, DASHBOARD_ENV, dashboardEnabled } from '../../stacks/settings.js';
import { parseStageOutputs } from '../../stacks/stage-outputs.js';
import { alarmMetrics } from '../../tools/bench/cost/deployed.js';

const synth = useSynth();
const names = resourceNames('ci');
const alarms = () => synth().ofType('aws:cloudwatch/metricAlarm:MetricAlarm');
const alarmOn = (metricName: string, queueName: string) => {
  const found = alarms().filter((a) => a.inputs.metricName === metricName && (a.inputs.dimensions as Record<string, string> | undefined)?.QueueName === queueName);
  expect(found, `${metricName} alarm on ${queueName}`).toHaveLength(1);
  return found[0]!;
};
const topicIn = (region: string) => synth().ofType('aws:sns/topic:Topic').find((t) => t.region === region)!;
const notifiesItsRegion = (alarm: SynthResource) => {
  expect(alarm.inputs.alarmActions, alarm.name).toEqual([topicIn(alarm.region).state.arn]);
};

describe('alarms', () => {
  it('intake errors: more than 5 in 5 minutes', () => {
    const alarm = alarms().find((a) => a.inputs.namespace === 'AWS/Lambda' && a.inputs.metricName === 'Errors')!;
    expect(alarm.inputs).toMatchObject({
      dimensions: { FunctionName: 'inference-dispatch-intake-ci' },
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 5,
      comparisonOperator: 'GreaterThanThreshold',
    });
    notifiesItsRegion(alarm);
  });

  it('any message in any DLQ, alarmed in the DLQ\'s own region', () => {
    const dlqs: [string, string][] = [
      [names.masterDeadLetterQueue, HOME_REGION],
      [names.dispatchDeadLetterQueue, HOME_REGION],
      ...DEFAULT_REGIONS.map((r): [string, string] => [names.regionalDeadLetterQueue(r.region), r.region]),
    ];
    for (const [queue, region] of dlqs) {
      const alarm = alarmOn('ApproximateNumberOfMessagesVisible', queue);
      expect(alarm.inputs, queue).toMatchObject({ threshold: 0, comparisonOperator: 'GreaterThanThreshold', statistic: 'Maximum' });
      expect(alarm.region, queue).toBe(region);
      notifiesItsRegion(alarm);
    }
  });

  it('failed or timed-out executions of the state machine (an Express execution cannot be aborted)', () => {
    const arn = synth().byState('aws:sfn/stateMachine:StateMachine', 'name', names.stateMachine).state.arn;
    const alarm = alarms().find((a) => Array.isArray(a.inputs.metricQueries))!;
    const queries = alarm.inputs.metricQueries as { metric?: { metricName: string; namespace: string; dimensions: Record<string, string> } }[];
    const metrics = queries.flatMap((q) => (q.metric ? [q.metric] : []));
    expect(metrics.map((m) => m.metricName).sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
    for (const m of metrics) expect(m).toMatchObject({ namespace: 'AWS/States', dimensions: { StateMachineArn: arn } });
    expect(alarm.inputs).toMatchObject({ threshold: 0, comparisonOperator: 'GreaterThanThreshold' });
  });

  for (const { region } of DEFAULT_REGIONS) {
    it(`${region}: age of the oldest message in each lane, alarmed in ${region}; no alarm on depth`, () => {
      const age = alarmOn('ApproximateAgeOfOldestMessage', names.regionalQueue(region));
      const highAge = alarmOn('ApproximateAgeOfOldestMessage', names.regionalHighQueue(region));
      expect(age.inputs.threshold).toBe(ALARM_SETTINGS.regionalAgeSeconds);
      expect(highAge.inputs.threshold).toBe(ALARM_SETTINGS.highLaneAgeSeconds);
      for (const alarm of [age, highAge]) {
        expect(alarm.region).toBe(region);
        notifiesItsRegion(alarm);
      }
      // A deep queue pages nobody: the policy places elsewhere, and the age alarm pages when its workers fall behind.
      const depth = alarms().filter(
        (a) => a.inputs.metricName === 'ApproximateNumberOfMessagesVisible' && (a.inputs.dimensions as Record<string, string>).QueueName === names.regionalQueue(region),
      );
      expect(depth).toEqual([]);
    });
  }

  it('bill as many alarm metrics as the cost model prices (tools/bench/cost/deployed.ts alarmMetrics)', () => {
    const billed = alarms().reduce((sum, a) => {
      const queries = (a.inputs.metricQueries ?? []) as { metric?: unknown }[];
      return sum + (a.inputs.metricName ? 1 : queries.filter((q) => q.metric).length);
    }, 0);
    expect(billed).toBe(alarmMetrics(DEFAULT_REGIONS.length));
  });
});

describe('a stage deployed without DISPATCH_DASHBOARD', () => {
  const plain = useSynth({ env: { [DASHBOARD_ENV]: undefined } });

  it('has no dashboard, and its console link opens CloudWatch metrics instead', () => {
    expect(plain().ofType('aws:cloudwatch/dashboard:Dashboard')).toEqual([]);
    expect(parseStageOutputs(plain().result.outputs).consoleLinks.dashboard).toBe('https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#metricsV2');
    expect(plain().ofType('aws:cloudwatch/metricAlarm:MetricAlarm')).toHaveLength(alarms().length);
  });

  it('refuses a value that is neither on nor off, naming the variable', () => {
    expect(dashboardEnabled({})).toBe(false);
    expect(dashboardEnabled({ [DASHBOARD_ENV]: ' ON ' })).toBe(true);
    expect(dashboardEnabled({ [DASHBOARD_ENV]: 'off' })).toBe(false);
    expect(() => dashboardEnabled({ [DASHBOARD_ENV]: 'yes' })).toThrow(/DISPATCH_DASHBOARD=yes: expected on or off/);
  });
});

describe('dashboard', () => {
  const body = () => {
    const dashboards = synth().ofType('aws:cloudwatch/dashboard:Dashboard');
    expect(dashboards).toHaveLength(1);
    return JSON.parse(dashboards[0]!.inputs.dashboardBody as string) as {
      widgets: { properties: { title: string; metrics: unknown[][] } }[];
    };
  };
  const widget = (title: RegExp) => {
    const found = body().widgets.find((w) => title.test(w.properties.title));
    expect(found, String(title)).toBeDefined();
    return found!.properties.metrics;
  };
  /** [namespace, metric, dimension, value, {region}] rows of a widget, as "metric value region". */
  const rows = (metrics: unknown[][]) =>
    metrics.map((m) => `${m[1] as string} ${m[3] as string} ${((m[m.length - 1] as { region?: string }).region ?? HOME_REGION)}`);

  it('shows depth and dispatched count per region, each read in its region', () => {
    expect(rows(widget(/^Depth per region and lane/))).toEqual([
      ...DEFAULT_REGIONS.map((r) => `ApproximateNumberOfMessagesVisible ${names.regionalQueue(r.region)} ${r.region}`),
      ...DEFAULT_REGIONS.map((r) => `ApproximateNumberOfMessagesVisible ${names.regionalHighQueue(r.region)} ${r.region}`),
    ]);
    expect(rows(widget(/^Dispatched per region/))).toEqual(DEFAULT_REGIONS.map((r) => `NumberOfMessagesSent ${names.regionalQueue(r.region)} ${r.region}`));
  });

  it('shows every DLQ, execution duration and duplicates', () => {
    expect(rows(widget(/^Dead-letter queues/)).sort()).toEqual(
      [
        `ApproximateNumberOfMessagesVisible ${names.masterDeadLetterQueue} ${HOME_REGION}`,
        `ApproximateNumberOfMessagesVisible ${names.dispatchDeadLetterQueue} ${HOME_REGION}`,
        `ApproximateNumberOfMessagesVisible ${names.masterHighDeadLetterQueue} ${HOME_REGION}`,
        ...DEFAULT_REGIONS.flatMap((r) => [
          `ApproximateNumberOfMessagesVisible ${names.regionalDeadLetterQueue(r.region)} ${r.region}`,
          `ApproximateNumberOfMessagesVisible ${names.regionalHighDeadLetterQueue(r.region)} ${r.region}`,
        ]),
      ].sort(),
    );
    expect(widget(/^Execution duration/).every((m) => m[1] === 'ExecutionTime')).toBe(true);
    // Duplicates are the intake's EMF metric now, not a log metric filter.
    expect(widget(/^Outcomes/).find((m) => m[1] === 'DuplicatesDropped')).toEqual([
      'InferenceDispatch/inference-dispatch/ci',
      'DuplicatesDropped',
      'service',
      'intake',
      { label: 'DuplicatesDropped' },
    ]);
    // The original watched every function's duration and errors.
    expect(widget(/^Functions: duration/).map((m) => m[1]).sort()).toEqual([...Array(4).fill('Duration'), ...Array(4).fill('Errors')]);
    // The original watched DynamoDB latency: every operation the claim makes, on the idempotency table.
    expect(widget(/^Idempotency table latency/).map((m) => `${m[1]} ${m[3]} ${m[5]}`)).toEqual(
      ['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem'].map((op) => `SuccessfulRequestLatency ${names.idempotencyTable} ${op}`),
    );
  });

  it('counts nothing from logs: no log metric filter (the functions write their metrics as EMF)', () => {
    expect(synth().ofType('aws:cloudwatch/logMetricFilter:LogMetricFilter')).toEqual([]);
  });
});
