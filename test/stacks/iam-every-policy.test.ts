/**
 * Rules over every policy the synthesis holds (roles' inline and attached policies, managed policies,
 * key policies, resource policies), in the pipeline's stage and in a development stage:
 * no role can change itself; roles and their policies are created only under the stage's permissions
 * boundary, which every role but the deploy role carries; roles are passed only to the services that
 * use them; no wildcard reaches another app's or another stage's resources. Each rule is also shown
 * rejecting a policy that breaks it.
 */
import { describe, expect, it } from 'vitest';
import { allPolicies, parsePolicy, type Statement, type Synth } from './harness/model.js';
import { useSynth } from './harness/use-synth.js';
import { boundaryGaps, foreignReach, outsideBoundary, passRoleGaps, rolesWithoutBoundary, selfChanges, type RoleUnderTest } from './iam-rules.js';
import { namedArns, sstStateKeysOf } from './reach.js';

const production = useSynth({ stage: 'production' });
const ci = useSynth();
const otherApp = useSynth({ stage: 'production', appName: 'inference-dispatch-eu' });
const otherStage = useSynth({ stage: 'production-eu' });
const live = useSynth({ stage: 'dev', dev: true });

const DEPLOY_ROLE = 'DeployRole';
const boundaryArn = (synth: Synth) => `arn:aws:iam::123456789012:policy/${synth.result.app.name}-${synth.result.app.stage}-permissions-boundary`;

function rolesOf(synth: Synth): RoleUnderTest[] {
  return synth.rolePolicies().map(({ role, statements, managedPolicyArns }) => ({
    arn: role.state.arn as string,
    boundaryArn: role.inputs.permissionsBoundary as string | undefined,
    managedPolicyArns,
    statements,
  }));
}

const statement = (fields: Partial<Statement> & Pick<Statement, 'effect' | 'actions' | 'resources'>): Statement => ({
  sid: 'Bad',
  notActions: [],
  notResources: [],
  condition: undefined,
  principal: undefined,
  notPrincipal: undefined,
  ...fields,
});

describe.each([
  ['production', production],
  ['ci', ci],
] as const)('every policy of stage %s', (label, synth) => {
  it('is read: roles, the boundary, the alarm keys, the resource policies', () => {
    const kinds = new Set(allPolicies(synth()).map((p) => p.kind));
    expect([...kinds].sort()).toEqual(['key', 'managed', 'resource', 'role']);
  });

  it('lets no role change itself, its boundary or its managed policies', () => {
    const found = rolesOf(synth()).flatMap((role) => selfChanges(role).map((change) => `${role.arn}: ${change}`));
    expect(found).toEqual([]);
  });

  it('creates roles and writes their policies only under the stage boundary', () => {
    const gaps = allPolicies(synth()).flatMap((p) => boundaryGaps(p.statements, boundaryArn(synth())).map((gap) => `${p.owner.name}: ${gap}`));
    expect(gaps).toEqual([]);
  });

  it('every role the app creates carries that boundary (the deploy role apart)', () => {
    const roles = synth().ofType('aws:iam/role:Role').filter((r) => r.name !== DEPLOY_ROLE);
    expect(roles.length).toBeGreaterThanOrEqual(5);
    const boundary = synth().byState('aws:iam/policy:Policy', 'name', `${synth().result.app.name}-${label}-permissions-boundary`);
    expect(boundary.state.arn).toBe(boundaryArn(synth()));
    expect(rolesWithoutBoundary(synth().ofType('aws:iam/role:Role'), boundaryArn(synth()), new Set([DEPLOY_ROLE]))).toEqual([]);
  });

  it('passes roles only to the services that use them (iam:PassedToService)', () => {
    const gaps = allPolicies(synth()).flatMap((p) => passRoleGaps(p.statements).map((gap) => `${p.owner.name}: ${gap}`));
    expect(gaps).toEqual([]);
  });
});

describe.each([
  ['production', production],
  ['ci', ci],
  ['dev under sst dev', live],
] as const)('the boundary of stage %s', (_label, synth) => {
  it('allows every grant of every role that carries it (AWS would refuse the role anything else)', () => {
    const boundaries = new Map(synth().ofType('aws:iam/policy:Policy').map((p) => [p.state.arn as string, parsePolicy(p.inputs.policy as string)]));
    let checked = 0;
    for (const { role, statements } of synth().rolePolicies()) {
      const boundary = boundaries.get(role.inputs.permissionsBoundary as string);
      if (!boundary) continue;
      checked += 1;
      expect(outsideBoundary(statements, boundary), role.name).toEqual([]);
    }
    expect(checked).toBe(5);
  });

  it('holds no IAM action', () => {
    const boundary = synth().ofType('aws:iam/policy:Policy').find((p) => (p.inputs.name as string).endsWith('-permissions-boundary'))!;
    expect(parsePolicy(boundary.inputs.policy as string).flatMap((st) => st.actions).filter((a) => a.toLowerCase().startsWith('iam:'))).toEqual([]);
  });
});

describe('the deploy role', () => {
  it('is the one role without the boundary, and is in the pipeline stage only', () => {
    const deploy = production().get('aws:iam/role:Role', DEPLOY_ROLE);
    expect(deploy.inputs.permissionsBoundary ?? undefined).toBeUndefined();
    expect(ci().ofType('aws:iam/role:Role').map((r) => r.name)).not.toContain(DEPLOY_ROLE);
  });

  it('really passes the roles it may pass: every role the stage runs a function or the state machine as', () => {
    const passed = [
      ...production().ofType('aws:lambda/function:Function').map((f) => f.inputs.role as string),
      production().ofType('aws:sfn/stateMachine:StateMachine')[0]!.inputs.roleArn as string,
    ];
    const deploy = rolesOf(production()).find((r) => r.arn.endsWith('-deploy'))!;
    for (const arn of passed) {
      const service = arn.endsWith('-state-machine') ? 'states.amazonaws.com' : 'lambda.amazonaws.com';
      const allowed = deploy.statements.some(
        (s) => s.effect === 'Allow' && s.actions.includes('iam:PassRole') && s.resources.includes(arn) && JSON.stringify(s.condition).includes(service),
      );
      expect(allowed, arn).toBe(true);
    }
  });
});

describe("no wildcard of stage production reaches another app's or another stage's resources", () => {
  const foreign = (synth: Synth) => {
    const { name, stage } = synth.result.app;
    return { arns: namedArns(synth), stateKeys: sstStateKeysOf(name, stage) };
  };

  it.each([
    ['app inference-dispatch-eu, stage production', otherApp],
    ['app inference-dispatch, stage production-eu', otherStage],
  ] as const)('%s', (_label, neighbour) => {
    expect(foreign(neighbour()).arns.length).toBeGreaterThan(50);
    const reached = allPolicies(production()).flatMap((p) => foreignReach(p.statements, foreign(neighbour())).map((r) => `${p.owner.name}: ${r}`));
    expect(reached).toEqual([]);
  });
});

describe('each rule rejects a policy that breaks it', () => {
  const role = 'arn:aws:iam::123456789012:role/inference-dispatch-production-deploy';
  const boundary = 'arn:aws:iam::123456789012:policy/inference-dispatch-production-permissions-boundary';

  it('self-change: a role whose grant on roles/<app>-<stage>-* includes itself', () => {
    const bad = [statement({ effect: 'Allow', actions: ['iam:PutRolePolicy'], resources: ['arn:aws:iam::123456789012:role/inference-dispatch-production-*'] })];
    expect(selfChanges({ arn: role, boundaryArn: undefined, managedPolicyArns: [], statements: bad })).toEqual(['iam:PutRolePolicy on itself']);
    // A Deny on itself closes it; a Deny with a condition does not count (it may not apply).
    const denied = [...bad, statement({ effect: 'Deny', actions: ['iam:Put*'], resources: [role] })];
    expect(selfChanges({ arn: role, boundaryArn: undefined, managedPolicyArns: [], statements: denied })).toEqual([]);
    const conditional = [...bad, statement({ effect: 'Deny', actions: ['iam:Put*'], resources: [role], condition: { Bool: { 'aws:SecureTransport': 'false' } } })];
    expect(selfChanges({ arn: role, boundaryArn: undefined, managedPolicyArns: [], statements: conditional })).not.toEqual([]);
    // A role that may write its own boundary's versions.
    const version = [statement({ effect: 'Allow', actions: ['iam:CreatePolicyVersion'], resources: [boundary] })];
    expect(selfChanges({ arn: role, boundaryArn: boundary, managedPolicyArns: [], statements: version })).toEqual([`iam:CreatePolicyVersion on ${boundary}`]);
  });

  it('boundary: CreateRole or Put*Policy without the condition, or naming another boundary, or removing one', () => {
    const roles = ['arn:aws:iam::123456789012:role/inference-dispatch-production-intake'];
    expect(boundaryGaps([statement({ effect: 'Allow', actions: ['iam:CreateRole'], resources: roles })], boundary)).toHaveLength(1);
    expect(boundaryGaps([statement({ effect: 'Allow', actions: ['iam:Put*'], resources: roles })], boundary).length).toBeGreaterThan(0);
    const other = { StringEquals: { 'iam:PermissionsBoundary': 'arn:aws:iam::123456789012:policy/AdministratorAccess' } };
    expect(boundaryGaps([statement({ effect: 'Allow', actions: ['iam:PutRolePolicy'], resources: roles, condition: other })], boundary)).toHaveLength(1);
    expect(boundaryGaps([statement({ effect: 'Allow', actions: ['iam:DeleteRolePermissionsBoundary'], resources: roles })], boundary)).toHaveLength(1);
    const pinned = { StringEquals: { 'iam:PermissionsBoundary': boundary } };
    expect(boundaryGaps([statement({ effect: 'Allow', actions: ['iam:CreateRole', 'iam:PutRolePolicy'], resources: roles, condition: pinned })], boundary)).toEqual([]);
  });

  it('every role carries the boundary: a role without one, or with another, is found', () => {
    const roles = [
      { name: 'IntakeRole', inputs: { permissionsBoundary: boundary } },
      { name: 'ForwardRole', inputs: {} },
      { name: 'SelectRole', inputs: { permissionsBoundary: 'arn:aws:iam::123456789012:policy/inference-dispatch-production-eu-permissions-boundary' } },
      { name: DEPLOY_ROLE, inputs: {} },
    ];
    expect(rolesWithoutBoundary(roles, boundary, new Set([DEPLOY_ROLE]))).toEqual(['ForwardRole', 'SelectRole']);
  });

  it('outside the boundary: a grant the boundary does not allow is found', () => {
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/inference-dispatch-idempotency-production';
    const ceiling = [statement({ effect: 'Allow', actions: ['dynamodb:GetItem'], resources: [table] })];
    const role = [statement({ effect: 'Allow', actions: ['dynamodb:GetItem', 'dynamodb:Scan'], resources: [table] })];
    expect(outsideBoundary(role, ceiling)).toEqual([`dynamodb:Scan on ${table}`]);
  });

  it('PassRole: without iam:PassedToService, or to a service the stage does not use', () => {
    const roles = ['arn:aws:iam::123456789012:role/inference-dispatch-production-intake'];
    expect(passRoleGaps([statement({ effect: 'Allow', actions: ['iam:PassRole'], resources: roles })])).toHaveLength(1);
    expect(passRoleGaps([statement({ effect: 'Allow', actions: ['iam:*'], resources: roles })])).toHaveLength(1);
    const ec2 = { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } };
    expect(passRoleGaps([statement({ effect: 'Allow', actions: ['iam:PassRole'], resources: roles, condition: ec2 })])).toHaveLength(1);
  });

  it("foreign reach: a prefix wildcard, an unscoped state bucket, an alarm pattern", () => {
    const foreign = { arns: namedArns(otherStage()), stateKeys: sstStateKeysOf('inference-dispatch', 'production-eu') };
    const prefix = [statement({ effect: 'Allow', actions: ['iam:GetRole'], resources: ['arn:aws:iam::123456789012:role/inference-dispatch-production-*'] })];
    expect(foreignReach(prefix, foreign).length).toBeGreaterThan(0);
    const state = [statement({ effect: 'Allow', actions: ['s3:GetObject'], resources: ['arn:aws:s3:::sst-state-*/*'] })];
    expect(foreignReach(state, foreign).length).toBeGreaterThan(0);
    const list = parsePolicy(
      JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::sst-state-*', Condition: { StringLike: { 's3:prefix': ['app/inference-dispatch/production*'] } } }] }),
    );
    expect(foreignReach(list, foreign).length).toBeGreaterThan(0);
    const alarms = parsePolicy(
      JSON.stringify({
        Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'kms:Decrypt', Resource: '*', Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:inference-dispatch-*' } } }],
      }),
    );
    expect(foreignReach(alarms, foreign).length).toBeGreaterThan(0);
  });
});
