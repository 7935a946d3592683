/** The four Lambda functions: runtime, architecture, timeouts, tracing, handlers that build, and configuration the code accepts. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config.js';
import { DEFAULT_REGIONS, HOME_REGION, resourceNames, TIMEOUTS } from '../../core/topology.js';
import { useSynth } from './harness/use-synth.js';

const synth = useSynth();
const names = resourceNames('ci');
const ROLES = ['intake', 'snapshot', 'select', 'forward'] as const;
const fn = (role: string) => synth().byState('aws:lambda/function:Function', 'name', `inference-dispatch-${role}-ci`);
const env = (role: string) => (fn(role).inputs.environment as { variables: Record<string, string> }).variables;
const queueUrl = (name: string) => synth().byState('aws:sqs/queue:Queue', 'name', name).state.url as string;

describe('functions', () => {
  it('are the four handlers of functions/, and no other', () => {
    expect(synth().ofType('aws:lambda/function:Function').map((f) => f.inputs.handler).sort()).toEqual(
      ROLES.map((r) => `functions/${r}.handler`).sort(),
    );
  });

  for (const role of ROLES) {
    it(`${role}: Node 24 on arm64, X-Ray on (the intake passes the sampling decision through), JSON logs in its own log group without Lambda's platform records`, () => {
      expect(fn(role).inputs).toMatchObject({
        runtime: 'nodejs24.x',
        architectures: ['arm64'],
        tracingConfig: { mode: role === 'intake' ? 'PassThrough' : 'Active' },
        // System WARN: no platform.start/platform.report per call; the application level is left to LOG_LEVEL.
        loggingConfig: { logFormat: 'JSON', logGroup: `/aws/lambda/inference-dispatch-${role}-ci`, systemLogLevel: 'WARN' },
      });
      expect((fn(role).inputs.loggingConfig as Record<string, unknown>).applicationLogLevel).toBeUndefined();
      expect(synth().byState('aws:cloudwatch/logGroup:LogGroup', 'name', `/aws/lambda/inference-dispatch-${role}-ci`).inputs.retentionInDays).toBe(30);
    });
  }

  it('every handler file exists and bundles for Lambda (the synthesis builds each with esbuild)', () => {
    expect(synth().result.missingHandlers).toEqual([]);
    const built = synth().result.rpcs.filter((r) => r.method === 'Runtime.Build').map((r) => r.input.handler);
    expect(built.sort()).toEqual(ROLES.map((r) => `functions/${r}.handler`).sort());
  });

  it('only the two documented CLI calls are made by the components (Bootstrap, Build)', () => {
    expect([...new Set(synth().result.rpcs.map((r) => r.method))].sort()).toEqual(['Provider.Aws.Bootstrap', 'Runtime.Build']);
  });
});

describe('intake timeout', () => {
  it(`is TIMEOUTS.intakeTimeoutSeconds (${TIMEOUTS.intakeTimeoutSeconds} s), and 6 x it fits the master visibility timeout`, () => {
    const timeout = fn('intake').inputs.timeout as number;
    expect(timeout).toBe(TIMEOUTS.intakeTimeoutSeconds);
    expect(6 * timeout).toBeLessThanOrEqual(TIMEOUTS.masterVisibilitySeconds);
  });

  it('outlasts the dispatch execution it waits for', () => {
    expect(fn('intake').inputs.timeout as number).toBeGreaterThan(TIMEOUTS.dispatchTimeoutSeconds);
  });
});

describe('function configuration', () => {
  for (const role of ROLES) {
    it(`${role}: core/config.ts accepts it, with every region's queue in configured order`, () => {
      const config = parseConfig(env(role));
      expect(config.homeRegion).toBe(HOME_REGION);
      expect(config.regions).toEqual(
        DEFAULT_REGIONS.map((r) => ({
          region: r.region,
          capacity: r.capacity,
          queueUrl: queueUrl(names.regionalQueue(r.region)),
          highQueueUrl: queueUrl(names.regionalHighQueue(r.region)),
        })),
      );
      expect(config.idempotencyTableName).toBe(names.idempotencyTable);
    });

    it(`${role}: points at AWS itself (no endpoint override, no credentials)`, () => {
      const keys = Object.keys(env(role));
      for (const forbidden of ['SQS_ENDPOINTS', 'DYNAMODB_ENDPOINT', 'SFN_ENDPOINT']) expect(keys, role).not.toContain(forbidden);
      expect(keys.filter((k) => k.startsWith('AWS_')), role).toEqual([]);
    });
  }

  it('intake: knows the state machine and the dispatch DLQ', () => {
    const config = parseConfig(env('intake'));
    expect(config.stateMachineArn).toBe(synth().byState('aws:sfn/stateMachine:StateMachine', 'name', names.stateMachine).state.arn);
    expect(config.dispatchDeadLetterQueueUrl).toBe(queueUrl(names.dispatchDeadLetterQueue));
  });
});
