/** Least privilege: no wildcard unless AWS requires one, and each role holds exactly what its code calls. */
import { describe, expect, it } from 'vitest';
import { intakeDeadLetterKey, regionHealthKey } from '../../core/record.js';
import { DEFAULT_REGIONS, resourceNames } from '../../core/topology.js';
import { grants, type RolePolicies } from './harness/model.js';
import { useSynth } from './harness/use-synth.js';
import { AWS_REQUIRES_STAR, LOG_STREAMS_ARN } from './iam-rules.js';

const synth = useSynth();
const names = resourceNames('ci');
const arnOf = (type: string, name: string) => synth().byState(type, 'name', name).state.arn as string;
const queueArn = (name: string) => arnOf('aws:sqs/queue:Queue', name);
const fn = (role: string) => synth().byState('aws:lambda/function:Function', 'name', `inference-${role}-ci`);

describe('every IAM policy', () => {
  const all = (): RolePolicies[] => synth().rolePolicies();

  it('covers every role of the deployment (5: four functions and the state machine)', () => {
    expect(all()).toHaveLength(5);
    for (const { role, statements } of all()) expect(statements.length, role.name).toBeGreaterThan(0);
  });

  it('names no wildcard action', () => {
    const wild = all().flatMap(({ role, statements }) =>
      statements.flatMap((s) => s.actions.filter((a) => a.includes('*')).map((a) => `${role.name}: ${a}`)),
    );
    expect(wild).toEqual([]);
  });

  it('grants Resource "*" only for the actions AWS offers no resource-level permission for', () => {
    const wrong = all().flatMap(({ role, statements }) =>
      statements
        .filter((s) => s.resources.includes('*'))
        .flatMap((s) => s.actions.filter((a) => !AWS_REQUIRES_STAR.has(a)).map((a) => `${role.name}: ${a} on *`)),
    );
    expect(wrong).toEqual([]);
  });

  it('uses no other wildcard in a resource, except the streams of one named log group', () => {
    const wrong = all().flatMap(({ role, statements }) =>
      statements.flatMap((s) =>
        s.resources.filter((r) => r !== '*' && r.includes('*') && !LOG_STREAMS_ARN.test(r)).map((r) => `${role.name}: ${r}`),
      ),
    );
    expect(wrong).toEqual([]);
  });

  it('uses no NotAction, NotResource or Deny, and attaches no managed policy', () => {
    for (const { role, statements, managedPolicyArns } of all()) {
      expect(managedPolicyArns, role.name).toEqual([]);
      for (const s of statements) {
        expect(s.effect, role.name).toBe('Allow');
        expect([...s.notActions, ...s.notResources], role.name).toEqual([]);
      }
    }
  });
});

describe('function roles', () => {
  const policies = (role: string) => synth().functionPolicies(fn(role));
  /** What every function holds besides its own calls: its log streams, and X-Ray writes. */
  const base = (role: string) => [
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map(
      (a) => `${a} on arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/inference-${role}-ci:*`,
    ),
    'xray:PutTelemetryRecords on *',
    'xray:PutTraceSegments on *',
  ];
  const table = () => arnOf('aws:dynamodb/table:Table', names.idempotencyTable);
  const onTable = (...actions: string[]) => actions.map((a) => `dynamodb:${a} on ${table()}`);
  const expected: Record<string, () => string[]> = {
    intake: () => [
      ...['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'].map((a) => `${a} on ${queueArn(names.masterQueue)}`),
      `states:StartSyncExecution on ${arnOf('aws:sfn/stateMachine:StateMachine', names.stateMachine)}`,
      `sqs:SendMessage on ${queueArn(names.dispatchDeadLetterQueue)}`,
      ...onTable('BatchGetItem', 'PutItem'),
    ],
    snapshot: () => [...DEFAULT_REGIONS.map((r) => `sqs:GetQueueAttributes on ${queueArn(names.regionalQueue(r.region))}`), ...onTable('BatchGetItem', 'UpdateItem')],
    select: () => [],
    forward: () => [...DEFAULT_REGIONS.map((r) => `sqs:SendMessage on ${queueArn(names.regionalQueue(r.region))}`), ...onTable('UpdateItem', 'DeleteItem')],
  };
  /** The items of the table each function may touch: requests are the workflow's alone. */
  const keyPrefixes: Record<string, string> = { intake: intakeDeadLetterKey(''), snapshot: regionHealthKey(''), forward: regionHealthKey('') };

  for (const role of Object.keys(expected)) {
    it(`${role}: exactly its own calls`, () => {
      expect(grants(policies(role).statements)).toEqual([...expected[role]!(), ...base(role)].sort());
    });
  }

  for (const [role, prefix] of Object.entries(keyPrefixes)) {
    it(`${role}: only the table items whose key starts with ${prefix} (dynamodb:LeadingKeys)`, () => {
      const onTheTable = policies(role).statements.filter((s) => s.actions.some((a) => a.startsWith('dynamodb:')));
      expect(onTheTable.length).toBeGreaterThan(0);
      for (const statement of onTheTable) {
        expect(statement.condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}*`] } });
      }
    });
  }

  it('can be assumed by Lambda only (SST lets the account root in, which only `sst dev` needs)', () => {
    for (const role of Object.keys(expected)) {
      const trust = JSON.parse(policies(role).role.inputs.assumeRolePolicy as string) as { Statement: unknown[] };
      expect(trust.Statement, role).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
    }
  });
});
