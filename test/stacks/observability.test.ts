/**
 * The dispatch's own metrics, checked across the deployment: every metric an alarm or a dashboard widget
 * reads is one the functions write (name, `service`, dimension set and values, namespace: core/metrics.ts
 * is the one source both sides use; test/workflows/metrics-written.test.ts runs the functions and reads what they
 * write), the alarms on failovers and on claims taken over, and the X-Ray sampling rule.
 */
import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_CLASSES,
  DIMENSION,
  METRICS,
  metricCount,
  namespaceFromEnvironment,
  SERVICE_DIMENSION,
  type MetricSpec,
} from '../../core/metrics.js';
import { DEFAULT_REGIONS, HOME_REGION, resourceNames } from '../../core/topology.js';
import { ALARM_SETTINGS, TRACE_SAMPLING } from '../../stacks/settings.js';
import { useSynth } from './harness/use-synth.js';

const synth = useSynth();
const names = resourceNames('ci');
const NAMESPACE = 'InferenceDispatch/inference-dispatch/ci';
const REGIONS = DEFAULT_REGIONS.map((r) => r.region);
const SPECS = Object.values(METRICS) as MetricSpec[];

interface MetricRef {
  readonly where: string;
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
}

/** Every metric the dashboard reads: [namespace, name, dimension, value, ..., options?] rows. */
function dashboardRefs(): MetricRef[] {
  const [dashboard] = synth().ofType('aws:cloudwatch/dashboard:Dashboard');
  const body = JSON.parse(dashboard!.inputs.dashboardBody as string) as { widgets: { properties: { title: string; metrics: unknown[][] } }[] };
  return body.widgets.flatMap((w) =>
    w.properties.metrics.map((row) => {
      const parts = row.filter((part) => typeof part === 'string') as string[];
      const [namespace = '', name = '', ...pairs] = parts;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1]!;
      return { where: `widget "${w.properties.title}"`, namespace, name, dimensions };
    }),
  );
}

/** Every metric the alarms read, plain or in metric math. */
function alarmRefs(): MetricRef[] {
  return synth()
    .ofType('aws:cloudwatch/metricAlarm:MetricAlarm')
    .flatMap((a) => {
      const where = `alarm ${a.inputs.name as string}`;
      if (a.inputs.metricName) {
        return [{ where, namespace: a.inputs.namespace as string, name: a.inputs.metricName as string, dimensions: (a.inputs.dimensions ?? {}) as Record<string, string> }];
      }
      const queries = (a.inputs.metricQueries ?? []) as { metric?: { namespace: string; metricName: string; dimensions?: Record<string, string> } }[];
      return queries.flatMap((q) => (q.metric ? [{ where, namespace: q.metric.namespace, name: q.metric.metricName, dimensions: q.metric.dimensions ?? {} }] : []));
    });
}

const ours = (ref: MetricRef) => ref.namespace.startsWith('InferenceDispatch');

/** Why `ref` is not a metric the functions write, or undefined when it is one. */
function mismatch(ref: MetricRef): string | undefined {
  if (ref.namespace !== NAMESPACE) return `namespace ${ref.namespace}, the functions write ${NAMESPACE}`;
  const spec = SPECS.find((s) => s.name === ref.name);
  if (!spec) return `no function writes ${ref.name}`;
  const { [SERVICE_DIMENSION]: service, ...rest } = ref.dimensions;
  if (service !== spec.service) return `${ref.name} carries service=${spec.service}, not ${String(service)}`;
  const keys = Object.keys(rest).sort();
  if (!spec.dimensionSets.some((set) => [...set].sort().join() === keys.join())) return `${ref.name} is not written with dimensions [${keys.join(', ')}]`;
  for (const [key, value] of Object.entries(rest)) {
    const allowed = key === DIMENSION.reasonClass ? (DEAD_LETTER_CLASSES as readonly string[]) : REGIONS;
    if (!allowed.includes(value)) return `${ref.name}: ${key}=${value} is never written`;
  }
  if (rest[DIMENSION.from] !== undefined && rest[DIMENSION.from] === rest[DIMENSION.to]) return `${ref.name}: a failover from a region to itself`;
  return undefined;
}

describe('the metrics the dashboard and the alarms read', () => {
  it('are, each of the namespace InferenceDispatch/*, one the functions write: name, service, dimension set and values (core/metrics.ts)', () => {
    const refs = [...dashboardRefs(), ...alarmRefs()].filter(ours);
    expect(refs.length).toBeGreaterThan(20);
    expect(refs.flatMap((ref) => (mismatch(ref) ? [`${ref.where}: ${mismatch(ref)}`] : []))).toEqual([]);
  });

  it('cover every metric the functions write, under each of its dimension sets', () => {
    const shown = new Set(dashboardRefs().filter(ours).map((ref) => `${ref.name} [${Object.keys(ref.dimensions).filter((k) => k !== SERVICE_DIMENSION).sort().join()}]`));
    const written = SPECS.flatMap((spec) => spec.dimensionSets.map((set) => `${spec.name} [${[...set].sort().join()}]`));
    expect(written.filter((w) => !shown.has(w))).toEqual([]);
  });

  it('show failovers for every ordered pair of regions, unconfirmed sends for every region, dead letters for every reason class', () => {
    const refs = dashboardRefs();
    const failovers = refs.filter((r) => r.name === METRICS.failedOver.name && r.dimensions[DIMENSION.from]);
    expect(failovers.map((r) => `${r.dimensions.From}>${r.dimensions.To}`).sort()).toEqual(
      REGIONS.flatMap((from) => REGIONS.filter((to) => to !== from).map((to) => `${from}>${to}`)).sort(),
    );
    expect(refs.filter((r) => r.name === METRICS.sendsUnconfirmed.name).map((r) => r.dimensions.Region).sort()).toEqual([...REGIONS].sort());
    expect(refs.filter((r) => r.name === METRICS.deadLettered.name).map((r) => r.dimensions.ReasonClass).sort()).toEqual([...DEAD_LETTER_CLASSES].sort());
  });

  it('are in the namespace the deployed functions write to (from the environment SST gives each one)', () => {
    for (const role of ['intake', 'select', 'forward']) {
      const fn = synth().byState('aws:lambda/function:Function', 'name', `inference-dispatch-${role}-ci`);
      const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      expect(namespaceFromEnvironment(env), role).toBe(NAMESPACE);
    }
  });

  it('cost at most $6.00 a month as custom metrics with three regions ($1.80 in a month without failures)', () => {
    // Each unique name + dimension set is a custom metric, $0.30 a month, prorated by the hours it has data.
    expect(metricCount(REGIONS.length)).toEqual({ steady: 6, max: 20 });
  });
});

describe('alarms on the signs of trouble before a message is lost', () => {
  const alarm = (metricName: string) => {
    const found = synth().ofType('aws:cloudwatch/metricAlarm:MetricAlarm').filter((a) => a.inputs.metricName === metricName);
    expect(found, metricName).toHaveLength(1);
    return found[0]!;
  };
  const homeTopic = () => synth().ofType('aws:sns/topic:Topic').find((t) => t.region === HOME_REGION)!.state.arn;

  it('failovers: any message failed over, all region pairs together, in 5 minutes', () => {
    const a = alarm(METRICS.failedOver.name);
    expect(a.inputs).toMatchObject({
      namespace: NAMESPACE,
      dimensions: { service: 'forward' },
      statistic: 'Sum',
      period: ALARM_SETTINGS.failovers.periodSeconds,
      evaluationPeriods: ALARM_SETTINGS.failovers.evaluationPeriods,
      threshold: ALARM_SETTINGS.failovers.threshold,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    });
    expect(a.region).toBe(HOME_REGION);
    expect(a.inputs.alarmActions).toEqual([homeTopic()]);
  });

  it('claims taken over: any claim taken over from an earlier run, in 5 minutes', () => {
    const a = alarm(METRICS.claimsTakenOver.name);
    expect(a.inputs).toMatchObject({
      namespace: NAMESPACE,
      dimensions: { service: 'select' },
      statistic: 'Sum',
      period: ALARM_SETTINGS.claimsTakenOver.periodSeconds,
      threshold: ALARM_SETTINGS.claimsTakenOver.threshold,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    });
    expect(a.inputs.alarmActions).toEqual([homeTopic()]);
  });
});

describe('X-Ray sampling', () => {
  it("one rule for the state machine's executions: no reservoir, a low fixed rate, before the default rule", () => {
    const rules = synth().ofType('aws:xray/samplingRule:SamplingRule');
    expect(rules).toHaveLength(1);
    const rule = rules[0]!.inputs;
    expect(rule).toMatchObject({
      serviceName: names.stateMachine,
      serviceType: '*',
      resourceArn: '*',
      reservoirSize: TRACE_SAMPLING.reservoirPerSecond,
      fixedRate: TRACE_SAMPLING.fixedRate,
      version: 1,
    });
    expect(rule.reservoirSize).toBe(0);
    expect(rule.fixedRate as number).toBeLessThanOrEqual(0.05);
    expect(rule.priority as number).toBeLessThan(10_000);
    expect((rule.ruleName as string).length).toBeLessThanOrEqual(32);
    expect(rules[0]!.region).toBe(HOME_REGION);
  });

  it('costs under $0.20 a month at 100,000 requests a day (543,000 executions a month at 20 s windows)', () => {
    const executionsPerMonth = 543_000;
    const traces = executionsPerMonth * TRACE_SAMPLING.fixedRate;
    expect(traces * 5e-6).toBeLessThan(0.2);
  });
});
