/**
 * The metrics' pure parts: reason classes from the reasons the code really writes, the recorder (what
 * it accepts, how it sums, one EMF line per dimension set, nothing when empty, never a throw), the EMF
 * sink's reading of a line, the count of custom metrics, the select's count of claims taken over, the
 * loggers' text line, and the tracer staying unloaded off Lambda.
 */
import type { SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { tooLargeReason } from '../../core/batching.js';
import { METRICS_OUTPUT_ENV, metricCount, namespaceFromEnvironment } from '../../core/metrics.js';
import type { Claim } from '../../core/placement.js';
import { triage } from '../../functions/intake.js';
import { textLine } from '../../functions/logger.js';
import { deadLetterClass, MetricsRecorder, metricsOutput, NO_REGION_REASON, onMetricLines } from '../../functions/metrics.js';
import { claimsTakenOver } from '../../functions/select.js';
import { canTrace, tracer } from '../../functions/tracing.js';
import { createEmfSink, parseEmfLine } from '../../tools/local/metrics.js';

const sqsRecord = (body: string): SQSRecord => ({ messageId: 'm-1', body, attributes: {} }) as unknown as SQSRecord;

describe('dead-letter reason classes', () => {
  it('classify the reasons the intake and the forward write', () => {
    const [notJson] = triage([sqsRecord('{"request_id": ')]).invalid;
    const [schema] = triage([sqsRecord('{"request_id": "req 1"}')]).invalid;
    expect(deadLetterClass(notJson?.reason)).toBe('invalid');
    expect(deadLetterClass(schema?.reason)).toBe('invalid');
    const big = { messageId: 'm', requestId: 'r', priority: 'normal' as const, body: 'x'.repeat(300 * 1024) };
    expect(deadLetterClass(tooLargeReason(big))).toBe('too-large');
    expect(deadLetterClass(`${NO_REGION_REASON}: us-west-2: throttled`)).toBe('no-region');
    expect(deadLetterClass('something else')).toBe('other');
    expect(deadLetterClass(undefined)).toBe('other');
  });
});

describe('the recorder', () => {
  const written: string[] = [];
  let stop: (() => void) | undefined;
  const capture = () => {
    process.env[METRICS_OUTPUT_ENV] = 'capture';
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'InferenceDispatch/unit';
    stop = onMetricLines((line) => written.push(line));
  };
  afterEach(() => {
    stop?.();
    written.length = 0;
    delete process.env[METRICS_OUTPUT_ENV];
    delete process.env.POWERTOOLS_METRICS_NAMESPACE;
  });

  it('refuses a metric of another function, or dimensions it is not written with', () => {
    const intake = new MetricsRecorder('intake');
    expect(() => intake.add('failedOver', 1, { From: 'a', To: 'b' })).toThrow(/forward, not intake/);
    expect(() => intake.add('deadLettered', 1)).toThrow(/no dimension set \[\]/);
    expect(() => intake.add('dispatched', 1, { Region: 'us-east-1' })).toThrow(/no dimension set \[Region\]/);
    const forward = new MetricsRecorder('forward');
    expect(() => forward.add('failedOver', 1, { From: 'a' })).toThrow(/no dimension set \[From\]/);
    expect(() => forward.add('failedOver', 1, { From: 'a', To: 'b' })).not.toThrow();
    expect(() => forward.add('failedOver', 1)).not.toThrow();
  });

  it('sums counts per dimension values, keeps each duration, and writes one EMF line per dimension set', () => {
    capture();
    const intake = new MetricsRecorder('intake');
    intake.add('dispatched', 2);
    intake.add('dispatched', 3);
    intake.add('executionDuration', 120);
    intake.add('executionDuration', 80);
    intake.add('deadLettered', 1, { ReasonClass: 'invalid' });
    intake.add('deadLettered', 1, { ReasonClass: 'invalid' });
    intake.add('deadLettered', 1, { ReasonClass: 'no-region' });
    intake.flush();
    expect(written).toHaveLength(3);
    const points = written.flatMap(parseEmfLine);
    expect(points.filter((p) => p.name === 'Dispatched').map((p) => p.value)).toEqual([5]);
    expect(points.filter((p) => p.name === 'ExecutionDuration').map((p) => p.value)).toEqual([120, 80]);
    expect(points.filter((p) => p.name === 'DeadLettered').map((p) => `${p.dimensions.ReasonClass}=${p.value}`).sort()).toEqual(['invalid=2', 'no-region=1']);
    expect(points.every((p) => p.namespace === 'InferenceDispatch/unit' && p.dimensions.service === 'intake')).toBe(true);
    // Flushed: nothing twice.
    intake.flush();
    expect(written).toHaveLength(3);
  });

  it('writes a failover under its region pair and under `service` alone, from one line', () => {
    capture();
    const forward = new MetricsRecorder('forward');
    forward.add('failedOver', 2, { From: 'us-west-2', To: 'us-east-1' });
    forward.flush();
    expect(written).toHaveLength(1);
    const doc = JSON.parse(written[0]!) as { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } };
    expect(doc._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'From', 'To'], ['service']]);
    const sink = createEmfSink();
    try {
      sink.take(written[0]!);
      expect(sink.sum('FailedOver')).toBe(2);
      expect(sink.sum('FailedOver', { From: 'us-west-2', To: 'us-east-1' })).toBe(2);
      expect(sink.sum('FailedOver', { From: 'us-west-1' })).toBe(0);
    } finally {
      sink.stop();
    }
  });

  it('writes nothing when empty or when the output is off, and never throws', () => {
    capture();
    new MetricsRecorder('forward').flush();
    process.env[METRICS_OUTPUT_ENV] = 'off';
    const select = new MetricsRecorder('select');
    select.add('claimsTakenOver', 1);
    select.flush();
    expect(written).toEqual([]);
    process.env[METRICS_OUTPUT_ENV] = 'capture';
    const broken = new MetricsRecorder('select');
    broken.add('claimsTakenOver', Number.NaN);
    expect(() => broken.flush()).not.toThrow();
  });

  it('reads its output from METRICS_OUTPUT, stdout by default', () => {
    expect(metricsOutput({})).toBe('stdout');
    expect(metricsOutput({ METRICS_OUTPUT: 'CAPTURE' })).toBe('capture');
    expect(metricsOutput({ METRICS_OUTPUT: 'nonsense' })).toBe('stdout');
  });
});

describe('the namespace', () => {
  it('is POWERTOOLS_METRICS_NAMESPACE, else the stage SST gives the function, else the local one', () => {
    expect(namespaceFromEnvironment({ POWERTOOLS_METRICS_NAMESPACE: 'X/y' })).toBe('X/y');
    expect(namespaceFromEnvironment({ SST_RESOURCE_App: '{"name":"inference-dispatch","stage":"prod"}' })).toBe('InferenceDispatch/inference-dispatch/prod');
    expect(namespaceFromEnvironment({ SST_RESOURCE_App: 'not json' })).toBe('InferenceDispatch/inference-dispatch/local');
    expect(namespaceFromEnvironment({})).toBe('InferenceDispatch/inference-dispatch/local');
  });
});

describe('the EMF sink', () => {
  it('reads every value under every dimension set, and ignores what is not EMF', () => {
    const line = JSON.stringify({
      _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['service', 'Region'], ['service']], Metrics: [{ Name: 'M', Unit: 'Count' }] }] },
      service: 'forward',
      Region: 'us-west-1',
      M: [1, 2],
    });
    expect(parseEmfLine(line).map((p) => `${Object.keys(p.dimensions).join('+')}:${p.value}`)).toEqual(['service+Region:1', 'service+Region:2', 'service:1', 'service:2']);
    expect(parseEmfLine('{"level":"INFO","message":"batch done"}')).toEqual([]);
    expect(parseEmfLine('not json')).toEqual([]);
  });
});

describe('custom metrics', () => {
  it('are 6 in a month without failures and at most 20 with three regions: $1.80 to $6.00 a month', () => {
    expect(metricCount(3)).toEqual({ steady: 6, max: 20 });
    // Five regions: 20 failover pairs, 5 unconfirmed regions.
    expect(metricCount(5).max).toBe(5 + 4 + 1 + 20 + 1 + 5);
  });
});

describe('claims taken over (the select)', () => {
  const claim = (extra: Partial<Claim>): Claim => ({ messageId: 'm', claim: 'claimed', ...extra });
  it('are claimed claims seen before: attempts > 1, or a region or the DLQ an earlier send went to', () => {
    expect(
      claimsTakenOver([
        claim({}),
        claim({ attempt: 1 }),
        claim({ attempt: 2 }),
        claim({ preferRegion: 'us-west-2', attempt: 2 }),
        claim({ deadLetter: true, reason: 'r' }),
        claim({ claim: 'busy', attempt: 3 }),
        claim({ claim: 'duplicate' }),
      ]),
    ).toBe(3);
  });
});

describe('the text log line (LOG_FORMAT=text)', () => {
  it('shows time, level, service, message, the record\'s own keys, and the request', () => {
    const line = textLine({
      level: 'INFO',
      message: 'batch done',
      timestamp: '2026-11-30T12:01:02.345Z',
      service: 'intake',
      sampling_rate: 0,
      cold_start: true,
      function_name: 'inference-dispatch-intake-dev',
      function_request_id: '1a2b3c4d-0000-0000-0000-000000000000',
      batchId: 'b1',
      executions: ['e1'],
      dispatched: 3,
      reason: 'two words',
    });
    expect(line).toBe('12:01:02.345  INFO   intake  batch done  batchId=b1  executions=["e1"]  dispatched=3  reason="two words"  [req 1a2b3c4d cold]');
  });
});

describe('the tracer', () => {
  it('is not loaded off Lambda (its X-Ray SDK would hook every async call of the process)', () => {
    expect(tracer).toBeUndefined();
    expect(canTrace({})).toBe(false);
    expect(canTrace({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' })).toBe(true);
    expect(canTrace({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(canTrace({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', AWS_SAM_LOCAL: 'true' })).toBe(false);
  });
});
