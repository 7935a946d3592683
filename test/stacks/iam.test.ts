/**
 * Least privilege: no wildcard unless AWS requires one, and each role holds exactly what its code calls.
 * Resource policies (queues, table) are checked apart: they may only deny plain-HTTP requests.
 */
import { describe, expect, it } from 'vitest';
import { presenceKey } from '../../core/presence.js';
import { capacityKey, intakeDeadLetterKey, regionHealthKey } from '../../core/record.js';
import { DEFAULT_REGIONS, resourceNames } from '../../core/topology.js';
import { grants, type ResourcePolicy, type RolePolicies, type Statement } from './harness/model.js';
import { useSynth } from './harness/use-synth.js';
import { evaluate } from './iam-eval.js';
import { AWS_REQUIRES_STAR, LOG_STREAMS_ARN, TLS_ONLY_CONDITION, TLS_ONLY_DENY_ACTIONS } from './iam-rules.js';

const synth = useSynth();
const names = resourceNames('ci');
const arnOf = (type: string, name: string) => synth().byState(type, 'name', name).state.arn as string;
const queueArn = (name: string) => arnOf('aws:sqs/queue:Queue', name);
const fn = (role: string) => synth().byState('aws:lambda/function:Function', 'name', `inference-dispatch-${role}-ci`);

describe('every IAM role policy', () => {
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

  it('uses no NotAction or NotResource, attaches no managed policy, and denies only the internal items to the state machine', () => {
    const denies: string[] = [];
    for (const { role, statements, managedPolicyArns } of all()) {
      expect(managedPolicyArns, role.name).toEqual([]);
      for (const s of statements) {
        if (s.effect === 'Deny') denies.push(`${role.name}: ${s.sid ?? '?'}`);
        expect([...s.notActions, ...s.notResources], role.name).toEqual([]);
      }
    }
    expect(denies).toEqual(['DispatchStateMachineRole: NoInternalItems']);
  });
});

describe('function roles', () => {
  const policies = (role: string) => synth().functionPolicies(fn(role));
  /** What every function holds besides its own calls: its log streams, and X-Ray writes. */
  const base = (role: string) => [
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map(
      (a) => `${a} on arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/inference-dispatch-${role}-ci:*`,
    ),
    'xray:PutTelemetryRecords on *',
    'xray:PutTraceSegments on *',
  ];
  const table = () => arnOf('aws:dynamodb/table:Table', names.idempotencyTable);
  const onTable = (...actions: string[]) => actions.map((a) => `dynamodb:${a} on ${table()}`);
  /** Both lanes of every region (core/lanes.ts). */
  const bothLanes = (action: string) =>
    DEFAULT_REGIONS.flatMap((r) => [`${action} on ${queueArn(names.regionalQueue(r.region))}`, `${action} on ${queueArn(names.regionalHighQueue(r.region))}`]);
  const expected: Record<string, () => string[]> = {
    intake: () => [
      ...['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'].flatMap((a) => [
        `${a} on ${queueArn(names.masterQueue)}`,
        `${a} on ${queueArn(names.masterHighQueue)}`,
      ]),
      `states:StartSyncExecution on ${arnOf('aws:sfn/stateMachine:StateMachine', names.stateMachine)}`,
      `sqs:SendMessage on ${queueArn(names.dispatchDeadLetterQueue)}`,
      // The DLQ's MaximumMessageSize, which the dead-letter copy is sized against.
      `sqs:GetQueueAttributes on ${queueArn(names.dispatchDeadLetterQueue)}`,
      ...onTable('BatchGetItem', 'PutItem'),
    ],
    snapshot: () => [...bothLanes('sqs:GetQueueAttributes'), ...onTable('BatchGetItem', 'UpdateItem', 'BatchGetItem')],
    select: () => [],
    forward: () => [...bothLanes('sqs:SendMessage'), ...onTable('UpdateItem', 'DeleteItem')],
  };
  /** The items of the table each function may touch, by statement: requests are the workflow's alone. */
  const keyPrefixes: Record<string, string[][]> = {
    intake: [[intakeDeadLetterKey('')]],
    // Health items (read, probe), and the capacities set at run time with the presence items (read only, in one BatchGetItem).
    snapshot: [[regionHealthKey('')], [capacityKey(''), presenceKey('')]],
    forward: [[regionHealthKey('')]],
  };

  for (const role of Object.keys(expected)) {
    it(`${role}: exactly its own calls`, () => {
      expect(grants(policies(role).statements)).toEqual([...expected[role]!(), ...base(role)].sort());
    });
  }

  for (const [role, prefixes] of Object.entries(keyPrefixes)) {
    it(`${role}: only the table items whose key starts with ${prefixes.flat().join(' or ')} (dynamodb:LeadingKeys)`, () => {
      const onTheTable = policies(role).statements.filter((s) => s.actions.some((a) => a.startsWith('dynamodb:')));
      expect(onTheTable.map((statement) => statement.condition)).toEqual(
        prefixes.map((statement) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': statement.map((prefix) => `${prefix}*`) } })),
      );
    });
  }

  it('snapshot: reads the capacities set at run time, never writes them', () => {
    const capacity = policies('snapshot').statements.find((s) => JSON.stringify(s.condition ?? {}).includes(capacityKey('')));
    expect(capacity?.actions).toEqual(['dynamodb:BatchGetItem']);
  });

  it("snapshot: reads every region's capacity and presence items in one BatchGetItem, and nothing else with them", () => {
    const decide = (action: string, keys: string[]) =>
      evaluate(policies('snapshot').statements, { action, resource: table(), context: { 'dynamodb:LeadingKeys': keys } });
    const regions = DEFAULT_REGIONS.map((r) => r.region);
    const both = [...regions.map(capacityKey), ...regions.map(presenceKey)];
    expect(decide('dynamodb:BatchGetItem', both)).toBe('allow');
    expect(decide('dynamodb:BatchGetItem', [...both, 'req-1'])).not.toBe('allow');
    for (const action of ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) {
      expect(decide(action, [presenceKey('us-west-2')]), action).not.toBe('allow');
    }
  });

  it('can be assumed by Lambda only (SST lets the account root in, which only `sst dev` needs)', () => {
    for (const role of Object.keys(expected)) {
      const trust = JSON.parse(policies(role).role.inputs.assumeRolePolicy as string) as { Statement: unknown[] };
      expect(trust.Statement, role).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
    }
  });
});

describe('the state machine role on the table', () => {
  const statements = () => synth().rolePolicies().find((p) => p.role.name === 'DispatchStateMachineRole')!.statements;
  const table = () => arnOf('aws:dynamodb/table:Table', names.idempotencyTable);
  const decide = (action: string, key: string) => evaluate(statements(), { action, resource: table(), context: { 'dynamodb:LeadingKeys': [key] } });

  it("never reads or writes the table's internal items (keys starting with '#')", () => {
    for (const key of [regionHealthKey('us-west-2'), capacityKey('us-east-1'), intakeDeadLetterKey('0f3a-msg')]) {
      for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem']) expect(decide(action, key), `${action} ${key}`).toBe('deny');
    }
  });

  it('reads and writes every request record: any request_id the schema admits', () => {
    // core/request.ts: letters, digits and . _ : - ; each one may start an id.
    for (const key of ['req-1', 'A', '0', '.x', '_x', ':x', '-x', 'x'.repeat(128)]) {
      for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem']) expect(decide(action, key), `${action} ${key}`).toBe('allow');
    }
  });

  it("keys every DynamoDB task of the definition on the message's request_id", () => {
    const definition = JSON.parse(synth().byState('aws:sfn/stateMachine:StateMachine', 'name', names.stateMachine).inputs.definition as string) as unknown;
    const keys: unknown[] = [];
    const visit = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (node !== null && typeof node === 'object') {
        const state = node as Record<string, unknown>;
        if (typeof state.Resource === 'string' && state.Resource.startsWith('arn:aws:states:::dynamodb:')) keys.push((state.Parameters as { Key?: unknown }).Key);
        Object.values(state).forEach(visit);
      }
    };
    visit(definition);
    expect(keys.length).toBeGreaterThan(3);
    for (const key of keys) expect(Object.keys(key as object)).toEqual(['request_id']);
  });
});

describe('every resource policy (queues, table)', () => {
  const all = (): ResourcePolicy[] => synth().resourcePolicies();
  const label = (p: ResourcePolicy) => `${p.policy.name} on ${p.target.name}`;

  it('exists for every queue and for the table, one each', () => {
    const protectedResources = all().map((p) => p.target.name).sort();
    const expected = [...synth().ofType('aws:sqs/queue:Queue'), ...synth().ofType('aws:dynamodb/table:Table')].map((r) => r.name).sort();
    expect(protectedResources).toEqual(expected);
  });

  it('opens nothing: no Allow, to any principal', () => {
    const allows = all().flatMap((p) => p.statements.filter((s) => s.effect !== 'Deny').map((s) => `${label(p)}: ${s.effect} ${JSON.stringify(s.principal)} ${s.actions.join(',')}`));
    expect(allows).toEqual([]);
  });

  it('holds only the TLS-only Deny: every action of the service, for every caller, on this resource, when aws:SecureTransport is false', () => {
    for (const p of all()) {
      const service = TLS_ONLY_DENY_ACTIONS.get(p.target.type);
      expect(service, `${label(p)}: a resource type with no TLS-only rule`).toBeDefined();
      expect(p.statements, label(p)).toHaveLength(1);
      const [deny] = p.statements as [Statement];
      expect(
        { effect: deny.effect, principal: deny.principal, actions: deny.actions, resources: deny.resources, condition: deny.condition },
        label(p),
      ).toEqual({ effect: 'Deny', principal: '*', actions: [service], resources: [p.target.state.arn], condition: TLS_ONLY_CONDITION });
      expect([...deny.notActions, ...deny.notResources, ...(deny.notPrincipal === undefined ? [] : [deny.notPrincipal])], label(p)).toEqual([]);
    }
  });

  it('uses no wildcard action but the named TLS-only Deny (sqs:* or dynamodb:*, in a Deny)', () => {
    const wild = all().flatMap((p) =>
      p.statements.flatMap((s) =>
        s.actions
          .filter((a) => a.includes('*'))
          .filter((a) => !(s.effect === 'Deny' && a === TLS_ONLY_DENY_ACTIONS.get(p.target.type)))
          .map((a) => `${label(p)}: ${s.effect} ${a}`),
      ),
    );
    expect(wild).toEqual([]);
  });

  it('does not lock out the roles: each of their grants on a protected resource is denied over plain HTTP only', () => {
    const byArn = new Map(all().map((p) => [p.target.state.arn as string, p]));
    const checked: string[] = [];
    for (const { role, statements } of synth().rolePolicies()) {
      for (const s of statements.filter((st) => st.effect === 'Allow')) {
        for (const resource of s.resources) {
          const policy = byArn.get(resource);
          if (!policy) continue;
          for (const action of s.actions) {
            const at = `${role.name}: ${action} on ${policy.target.name}`;
            expect(denied(policy.statements, action, resource, { secureTransport: true }), `${at} over TLS`).toBe(false);
            expect(denied(policy.statements, action, resource, { secureTransport: false }), `${at} over HTTP`).toBe(true);
            checked.push(at);
          }
        }
      }
    }
    // Both master lanes, both lanes of every region, the dispatch DLQ and the table are all used by some role.
    expect(new Set(checked.map((c) => c.split(' on ')[1])).size).toBe(4 + 2 * DEFAULT_REGIONS.length);
  });
});

/** Whether a Deny of these statements matches the request (the subset of IAM evaluation these policies use). */
function denied(statements: readonly Statement[], action: string, resource: string, context: { secureTransport: boolean }): boolean {
  const glob = (pattern: string, value: string) =>
    new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i').test(value);
  return statements.some((s) => {
    if (s.effect !== 'Deny' || s.principal !== '*') return false;
    if (!s.actions.some((a) => glob(a, action)) || !s.resources.some((r) => glob(r, resource))) return false;
    const condition = (s.condition ?? {}) as Record<string, Record<string, string>>;
    return Object.entries(condition).every(([operator, keys]) => {
      if (operator !== 'Bool') throw new Error(`no rule for condition operator ${operator}`);
      return Object.entries(keys).every(([key, value]) => {
        if (key !== 'aws:SecureTransport') throw new Error(`no rule for condition key ${key}`);
        return String(context.secureTransport) === String(value);
      });
    });
  });
}
