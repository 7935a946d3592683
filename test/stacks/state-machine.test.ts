/** The deployed state machine is the definition in workflows/, EXPRESS, logged in full, traced, and allowed only what it calls. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS, resourceNames } from '../../core/topology.js';
import { dispatchDefinition } from '../../workflows/dispatch.js';
import { allStates, grantsNeededBy, type Definition } from './harness/definition.js';
import { grants } from './harness/model.js';
import { useSynth } from './harness/use-synth.js';
import { AWS_REQUIRES_STAR } from './iam-rules.js';

type AslValidator = (definition: unknown) => { isValid: boolean; errorsText(separator?: string): string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const synth = useSynth();
const names = resourceNames('ci');
const machine = () => synth().byState('aws:sfn/stateMachine:StateMachine', 'name', names.stateMachine);
const deployed = () => JSON.parse(machine().inputs.definition as string) as Definition;
const fn = (role: string) => synth().byState('aws:lambda/function:Function', 'name', `inference-dispatch-${role}-ci`);

describe('dispatch state machine', () => {
  it('is the only state machine, and EXPRESS', () => {
    expect(synth().ofType('aws:sfn/stateMachine:StateMachine')).toHaveLength(1);
    expect(machine().inputs.type).toBe('EXPRESS');
  });

  it('deploys exactly what workflows/dispatch.ts produces for the deployed ARNs', () => {
    const s = synth();
    const expected = dispatchDefinition({
      regions: DEFAULT_REGIONS.map((r) => r.region),
      functions: {
        snapshot: fn('snapshot').state.arn as string,
        select: fn('select').state.arn as string,
        forward: fn('forward').state.arn as string,
      },
      tableName: s.byState('aws:dynamodb/table:Table', 'name', names.idempotencyTable).state.name as string,
      deadLetterQueueUrl: s.byState('aws:sqs/queue:Queue', 'name', names.dispatchDeadLetterQueue).state.url as string,
    });
    expect(deployed()).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('is valid Amazon States Language (asl-validator)', () => {
    const result = aslValidator(structuredClone(deployed()));
    expect(result.errorsText(), 'asl-validator').toBe('');
    expect(result.isValid).toBe(true);
  });

  it("logs every execution's path, without its data, to its own log group (a development stage not named inspectable)", () => {
    const groups = synth().ofType('aws:cloudwatch/logGroup:LogGroup').filter((g) => (g.state.name as string).startsWith('/aws/vendedlogs/states/'));
    expect(groups).toHaveLength(1);
    expect(machine().inputs.loggingConfiguration).toEqual({
      level: 'ALL',
      includeExecutionData: false,
      logDestination: `${groups[0]!.state.arn as string}:*`,
    });
    expect(groups[0]!.inputs.retentionInDays as number).toBeGreaterThan(0);
  });

  it('is traced with X-Ray', () => {
    expect(machine().inputs.tracingConfiguration).toEqual({ enabled: true });
  });
});

describe('state machine role', () => {
  const role = () => synth().rolePolicies().find((p) => p.role.state.arn === machine().inputs.roleArn)!;

  it('can be assumed by Step Functions of this account only', () => {
    const trust = JSON.parse(role().role.inputs.assumeRolePolicy as string) as { Statement: Record<string, unknown>[] };
    expect(trust.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'states.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      },
    ]);
  });

  it('is allowed exactly what the definition calls, plus the AWS-required logging and tracing actions', () => {
    const statements = role().statements;
    const scoped = statements.filter((s) => !s.resources.every((r) => r === '*'));
    expect(grants(scoped)).toEqual(grantsNeededBy(deployed(), synth()));
    const star = statements.filter((s) => s.resources.every((r) => r === '*')).flatMap((s) => s.actions);
    for (const action of star) expect(AWS_REQUIRES_STAR.has(action), action).toBe(true);
    expect(role().managedPolicyArns).toEqual([]);
  });

  it('is in place before the state machine is created (creation checks that it may deliver logs)', () => {
    const policies = synth().ofType('aws:iam/rolePolicy:RolePolicy');
    expect(policies).toHaveLength(1);
    expect(machine().dependsOn.some((urn) => urn.endsWith(`aws:iam/rolePolicy:RolePolicy::${policies[0]!.name}`))).toBe(true);
  });
});

describe('task functions', () => {
  it('each Lambda times out before every Task that invokes it does (a late forward must not still send)', () => {
    const tasks = allStates(deployed()).filter(([, s]) => s.Type === 'Task' && (s.Resource as string).startsWith('arn:aws:lambda:'));
    expect(tasks.length).toBeGreaterThan(0);
    for (const [name, task] of tasks) {
      const lambda = synth().byState('aws:lambda/function:Function', 'arn', task.Resource);
      expect(task.TimeoutSeconds, `${name} has a TimeoutSeconds`).toBeTypeOf('number');
      expect(lambda.inputs.timeout as number, name).toBeLessThan(task.TimeoutSeconds as number);
    }
  });
});

describe('a production stage', () => {
  const production = useSynth({ stage: 'production' });

  it('logs failures only, without data (the bill at 100,000 requests a day: docs/cost.md)', () => {
    const machine = production().byState('aws:sfn/stateMachine:StateMachine', 'name', 'inference-dispatch-production');
    expect(machine.inputs.loggingConfiguration).toMatchObject({ level: 'ERROR', includeExecutionData: false });
  });
});
