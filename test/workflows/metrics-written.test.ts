/**
 * The functions' metrics as they write them: the intake, and through the local Step Functions endpoint
 * the select and forward functions, run on local servers; the EMF lines they write are read here (handed
 * to a line listener, as the local stack keeps them; and printed to stdout, METRICS_OUTPUT=stdout, as
 * on Lambda), checked against core/metrics.ts (the names and dimensions the
 * alarms and the dashboard read: test/stacks/observability.test.ts) and for their values: a batch with a
 * failover, duplicates and an invalid message; a send whose answer is lost twice, then its claim taken
 * over by the redelivery. Also the loggers' Lambda context, in JSON and in the local text form.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { METRICS, metricNamespace, SERVICE_DIMENSION, type MetricSpec } from '../../core/metrics.js';
import { executionOutputSchema, type Outcome } from '../../core/outcomes.js';
import { resourceNames } from '../../core/topology.js';
import type { IntakeHandler } from '../../functions/intake.js';
import { createDispatchRunner, createLocalIntake, localDefinition, type FunctionSettings, type LocalIntake, type RunnerSetup } from '../../tools/local/dispatch.js';
import { createEmfSink, parseEmfLine, type EmfSink } from '../../tools/local/metrics.js';
import { startStepFunctionsEndpoint, type StepFunctionsEndpoint } from '../../tools/local/emulators/sfn-endpoint.js';
import { drain, drainRegions, request, startLocalAws, type LocalAws, type LocalFaults } from '../support/local-aws.js';
import { redelivered, sqsRecord } from '../support/sqs-event.js';

let aws: LocalAws & { readonly faults: LocalFaults };
let sfn: StepFunctionsEndpoint;
const sink: EmfSink = createEmfSink();
const lines: string[] = [];
/** The functions of the test running: the workflow's (behind the Step Functions endpoint) and the intake. */
let functions: { runner: RunnerSetup; intake: LocalIntake } | undefined;
const handler: IntakeHandler = (event, context) => (functions as NonNullable<typeof functions>).intake.handler(event, context);

/** Every EMF line the functions hand over, kept as the local stack keeps them and as written. */
const onMetricLine = (line: string) => {
  lines.push(line);
  sink.take(line);
};

/**
 * The functions, all with the same settings as one deployment gives them. Region health off: every batch
 * assigns and fails over the same way, whatever the batch before did.
 */
function useFunctions(extra: FunctionSettings = {}) {
  closeFunctions();
  const options = { settings: { regionHealthSeconds: 0, ...extra }, onMetricLine };
  functions = {
    runner: createDispatchRunner(aws.resources, aws.codeEndpoints, { retryIntervalMs: 5, ...options }),
    intake: createLocalIntake(aws.resources, aws.codeEndpoints, sfn.endpoint, options),
  };
}

function closeFunctions() {
  functions?.runner.close();
  functions?.intake.close();
  functions = undefined;
}

beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
  const definition = localDefinition(aws.resources);
  sfn = await startStepFunctionsEndpoint({
    stateMachines: [
      {
        name: resourceNames(aws.resources.stage).stateMachine,
        runner: { run: (input, options) => (functions as NonNullable<typeof functions>).runner.runner.run(input, options) },
        definition,
        type: 'EXPRESS',
      },
    ],
  });
});
afterAll(async () => {
  closeFunctions();
  await sfn?.stop();
  await aws?.stop();
});
beforeEach(async () => {
  for (const proxy of Object.values(aws.faults.sqs)) proxy.rules.clear();
  await drainRegions(aws);
  await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
  useFunctions();
  sink.reset();
  lines.length = 0;
});

const record = (body: string) => sqsRecord(body, { queueArn: aws.resources.masterQueueArn });
const context = () => ({ functionName: 'inference-dispatch-intake-local', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 }) as unknown as Context;
const invoke = (records: SQSRecord[]): Promise<SQSBatchResponse> => handler({ Records: records } satisfies SQSEvent, context());

/** The outcomes of the last execution, as its output reports them. */
function lastOutcomes(): Outcome[] {
  const output = executionOutputSchema.parse(sfn.executions().at(-1)?.output);
  return [...output.skipped, ...output.forwarded.flat()];
}

/** Every EMF line written is one core/metrics.ts names: namespace, service, metric names, dimension sets. */
function expectWellFormed(written: readonly string[]): void {
  const specs = Object.values(METRICS) as MetricSpec[];
  expect(written.length).toBeGreaterThan(0);
  for (const line of written) {
    const doc = JSON.parse(line) as { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] }; service: string };
    expect(typeof doc._aws.Timestamp).toBe('number');
    for (const directive of doc._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe(metricNamespace(aws.resources.stage));
      for (const metric of directive.Metrics) {
        const spec = specs.find((s) => s.name === metric.Name);
        expect(spec, metric.Name).toBeDefined();
        expect(metric.Unit).toBe(spec!.unit);
        expect(doc.service, metric.Name).toBe(spec!.service);
        for (const set of directive.Dimensions) {
          const extra = set.filter((d) => d !== SERVICE_DIMENSION).sort();
          expect(set, metric.Name).toContain(SERVICE_DIMENSION);
          expect(spec!.dimensionSets.map((s) => [...s].sort().join()), metric.Name).toContain(extra.join());
        }
      }
    }
  }
}

describe('a batch with a failover, a repeat and an invalid message', () => {
  it('writes the batch outcomes (intake) and the failovers per region pair (forward), with the values the execution reports', async () => {
    // us-west-2 throttles every send: a refusal, so its messages fail over to the other two regions.
    aws.faults.sqs['us-west-2']!.rules.add({ mode: 'error', error: 'throttle', actions: ['SendMessageBatch'] });
    const valid = Array.from({ length: 9 }, (_, i) => record(JSON.stringify(request(`req-metrics-${i}`))));
    const repeat = record(valid[0]!.body);
    const invalid = record('this is not json');
    const response = await invoke([...valid, repeat, invalid]);
    expect(response.batchItemFailures).toEqual([]);

    const outcomes = lastOutcomes();
    const failedOver = outcomes.filter((o) => o.failedOver);
    // Spread over three regions, nine messages give us-west-2 some (least-wait counts each assignment).
    expect(failedOver.length).toBeGreaterThan(0);

    expectWellFormed(lines);
    // The intake: one line for the batch, one for its dead letters by class.
    expect(sink.sum('BatchSize')).toBe(11);
    expect(sink.sum('Dispatched')).toBe(9);
    expect(sink.sum('DuplicatesDropped')).toBe(1);
    expect(sink.sum('DeadLettered', { ReasonClass: 'invalid' })).toBe(1);
    expect(sink.sum('DeadLettered')).toBe(1);
    expect(sink.sum('Retried')).toBe(0);
    const duration = sink.report().rows.find((r) => r.name === 'ExecutionDuration');
    expect(duration).toMatchObject({ unit: 'Milliseconds', samples: 1, dimensions: { service: 'intake' } });

    // The forward: per (From, To) as the execution reports them, and the total under `service` alone.
    for (const to of ['us-east-1', 'us-west-1']) {
      expect(sink.sum('FailedOver', { From: 'us-west-2', To: to }), to).toBe(failedOver.filter((o) => o.region === to).length);
    }
    expect(sink.sum('FailedOver', { From: 'us-west-2', To: 'us-west-2' })).toBe(0);
    expect(sink.sum('FailedOver')).toBe(failedOver.length);
    const total = sink.report().rows.find((r) => r.name === 'FailedOver' && Object.keys(r.dimensions).length === 1);
    expect(total?.dimensions).toEqual({ service: 'forward' });
    expect(sink.sum('SendsUnconfirmed')).toBe(0);
    // The select: no claim was taken over.
    expect(sink.sum('ClaimsTakenOver')).toBe(0);

    // Counts, region names and identifiers of no kind: nothing of a body.
    for (const line of lines) expect(line).not.toMatch(/req-metrics|model|s3:\/\/|not json/);
  });
});

describe('a send whose answer is lost, every time', () => {
  it('counts the unconfirmed sends per region and the retry; the redelivery takes the claim over and counts it', async () => {
    for (const proxy of Object.values(aws.faults.sqs)) proxy.rules.add({ actions: ['SendMessageBatch'], mode: 'lose-answer', then: 'reset' });
    const first = record(JSON.stringify(request('req-metrics-lost')));
    expect((await invoke([first])).batchItemFailures).toEqual([{ itemIdentifier: first.messageId }]);
    const [outcome] = lastOutcomes();
    expect(outcome?.outcome).toBe('retry');
    const region = /^([a-z0-9-]+): no answer from the forward/.exec(outcome?.reason ?? '')?.[1];
    expect(region).toBeDefined();

    expectWellFormed(lines);
    // The forward ran twice (the workflow's Retry in the same region), one unconfirmed send each time.
    expect(sink.sum('SendsUnconfirmed', { Region: region! })).toBe(2);
    expect(sink.sum('SendsUnconfirmed')).toBe(2);
    expect(sink.sum('FailedOver')).toBe(0);
    expect(sink.sum('Retried')).toBe(1);
    expect(sink.sum('Dispatched')).toBe(0);
    expect(sink.sum('ClaimsTakenOver')).toBe(0);

    // The master queue delivers it again: its released claim is taken over, and it goes where it was sent.
    for (const proxy of Object.values(aws.faults.sqs)) proxy.rules.clear();
    sink.reset();
    lines.length = 0;
    expect((await invoke([redelivered(first)])).batchItemFailures).toEqual([]);
    expect(lastOutcomes()[0]).toMatchObject({ outcome: 'dispatched', region });
    expectWellFormed(lines);
    expect(sink.sum('ClaimsTakenOver')).toBe(1);
    expect(sink.sum('Dispatched')).toBe(1);
    expect(sink.sum('Retried')).toBe(0);
  });
});

describe('on Lambda (METRICS_OUTPUT=stdout)', () => {
  /** Runs `work` with stdout captured (and silenced). */
  async function stdout(work: () => Promise<unknown>): Promise<string[]> {
    const original = process.stdout.write;
    const written: string[] = [];
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
    try {
      await work();
    } finally {
      process.stdout.write = original;
    }
    return written.join('').split('\n').filter((line) => line.trim());
  }

  it('prints each EMF line to stdout (where CloudWatch reads it), and each log record with the Lambda context', async () => {
    useFunctions({ metricsOutput: 'stdout', logLevel: 'INFO' });
    const ctx = context();
    const printed = await stdout(() => handler({ Records: [record(JSON.stringify(request('req-metrics-stdout')))] }, ctx));
    const emf = printed.filter((line) => line.includes('"_aws"'));
    expectWellFormed(emf);
    expect(emf.flatMap(parseEmfLine).find((p) => p.name === 'Dispatched')).toMatchObject({ value: 1, dimensions: { service: 'intake' } });
    // Nothing went to the line listener.
    expect(lines).toEqual([]);

    const done = printed.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r.message === 'batch done');
    expect(done).toMatchObject({ service: 'intake', function_request_id: (ctx as { awsRequestId: string }).awsRequestId, function_name: 'inference-dispatch-intake-local' });
    expect(typeof done?.cold_start).toBe('boolean');
  });

  it('prints one compact text line per record with LOG_FORMAT=text (a local run), JSON otherwise', async () => {
    useFunctions({ metricsOutput: 'off', logLevel: 'INFO' });
    process.env.LOG_FORMAT = 'text';
    try {
      const ctx = context();
      const printed = await stdout(() => handler({ Records: [record(JSON.stringify(request('req-metrics-text')))] }, ctx));
      const done = printed.find((line) => line.includes('batch done'));
      expect(done).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  INFO   intake  batch done  batchId=\S+ .*dispatched=1 .*\[req [0-9a-f]{8}( cold)?\]$/);
      expect(printed.some((line) => line.startsWith('{'))).toBe(false);
    } finally {
      delete process.env.LOG_FORMAT;
    }
    expect(sink.report().lines).toBe(0);
  });
});
