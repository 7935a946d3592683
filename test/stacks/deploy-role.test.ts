/**
 * The pipeline's deploy role (stacks/deploy-role.ts), in a synthesized production stage: assumable only
 * with GitHub's OIDC token for one repository's production environment, allowed only the actions the
 * deployment makes, each on this stage's own resources (bar the read-only lookups AWS offers on "*" only).
 */
import { describe, expect, it } from 'vitest';
import { AWS_REQUIRES_STAR_FOR_DEPLOY, DEPLOY_ACTIONS, PIPELINE } from '../../stacks/pipeline.js';
import { useSynth } from './harness/use-synth.js';

const production = useSynth({ stage: 'production' });
const ci = useSynth();

const deployRole = () => production().byState('aws:iam/role:Role', 'name', 'inference-dispatch-production-deploy');
const deployPolicy = () => {
  const found = production().rolePolicies().find((p) => p.role === deployRole());
  expect(found?.managedPolicyArns).toEqual([]);
  return found?.statements ?? [];
};

describe('the deploy role', () => {
  it('exists in the pipeline\'s stage only', () => {
    expect(PIPELINE.stage).toBe('production');
    expect(ci().ofType('aws:iam/role:Role').map((r) => r.inputs.name)).not.toContain('inference-dispatch-ci-deploy');
    expect(deployRole()).toBeDefined();
  });

  it("is assumed with GitHub's OIDC token, for one repository's production environment only", () => {
    const trust = JSON.parse(deployRole().inputs.assumeRolePolicy as string) as { Statement: Array<Record<string, unknown>> };
    const provider = production().ofType('aws:iam/openIdConnectProvider:OpenIdConnectProvider');
    expect(provider).toHaveLength(1);
    expect(provider[0]!.inputs).toMatchObject({ url: `https://${PIPELINE.issuer}`, clientIdLists: ['sts.amazonaws.com'] });
    expect(trust.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Federated: provider[0]!.state.arn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${PIPELINE.issuer}:aud`]: 'sts.amazonaws.com',
            [`${PIPELINE.issuer}:sub`]: `repo:${PIPELINE.repository}:environment:production`,
          },
        },
      },
    ]);
  });

  it('names no wildcard action, and "*" only for the named read-only lookups', () => {
    const statements = deployPolicy();
    expect(statements.flatMap((s) => s.actions).filter((a) => a.includes('*'))).toEqual([]);
    const onStar = statements.filter((s) => s.resources.includes('*'));
    expect(onStar.flatMap((s) => s.actions).sort()).toEqual([...AWS_REQUIRES_STAR_FOR_DEPLOY].sort());
  });

  it("scopes every other action to this stage's own resources", () => {
    for (const statement of deployPolicy().filter((s) => !s.resources.includes('*'))) {
      expect(statement.resources.length, statement.sid).toBeGreaterThan(0);
      for (const resource of statement.resources) {
        // The stage's names (core/topology.ts, SST's <app>-<stage>- prefix) or SST's own bootstrap resources.
        expect(resource, statement.sid).toMatch(/production|inference-dispatch-production-|:s3:::sst-(state|asset)-|parameter\/sst\//);
      }
    }
    expect(deployPolicy().flatMap((s) => s.actions).sort()).toEqual(
      [...Object.values(DEPLOY_ACTIONS).flat(), ...AWS_REQUIRES_STAR_FOR_DEPLOY].sort(),
    );
  });

  it('can manage the state machine\'s role, named like the functions\' roles', () => {
    const iam = deployPolicy().find((s) => s.actions.includes('iam:PassRole'));
    expect(iam?.resources).toEqual(['arn:aws:iam::123456789012:role/inference-dispatch-production-*']);
    expect(production().ofType('aws:iam/role:Role').map((r) => r.inputs.name)).toContain('inference-dispatch-production-state-machine');
  });
});

/** An IAM resource pattern as a regular expression ("*" any run of characters, "?" one). */
const patternOf = (resource: string) =>
  new RegExp(`^${resource.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

describe("the deploy role's reach", () => {
  const stageStatements = () => deployPolicy().filter((s) => !s.resources.includes('*') && s.sid !== 'StageSst');
  const covered = (arn: string) => stageStatements().some((s) => s.resources.some((r) => patternOf(r).test(arn)));
  /** Every resource of a synthesized stage that AWS names, by the ARN the role must reach. */
  const namedArns = (synth: ReturnType<typeof production>) => [
    ...synth.ofType('aws:sqs/queue:Queue').map((q) => q.state.arn as string),
    ...synth.ofType('aws:lambda/function:Function').map((f) => `arn:aws:lambda:${f.region}:123456789012:function:${f.inputs.name as string}`),
    ...synth.ofType('aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => `arn:aws:cloudwatch:${a.region}:123456789012:alarm:${a.inputs.name as string}`),
    ...synth.ofType('aws:sns/topic:Topic').map((t) => t.state.arn as string),
    ...synth.ofType('aws:dynamodb/table:Table').map((t) => t.state.arn as string),
    ...synth.ofType('aws:sfn/stateMachine:StateMachine').map((m) => m.state.arn as string),
    ...synth.ofType('aws:cloudwatch/logGroup:LogGroup').map((g) => `arn:aws:logs:${g.region}:123456789012:log-group:${g.inputs.name as string}`),
    ...synth.ofType('aws:xray/samplingRule:SamplingRule').map((r) => `arn:aws:xray:${r.region}:123456789012:sampling-rule/${r.inputs.ruleName as string}`),
    ...synth.ofType('aws:ssm/parameter:Parameter').map((p) => `arn:aws:ssm:${p.region}:123456789012:parameter${p.inputs.name as string}`),
    ...synth.ofType('aws:cloudwatch/dashboard:Dashboard').map((d) => `arn:aws:cloudwatch::123456789012:dashboard/${d.inputs.dashboardName as string}`),
  ];
  const neighbour = useSynth({ stage: 'production-eu' });

  it('reaches every resource the stage names', () => {
    const arns = namedArns(production());
    expect(arns.length).toBeGreaterThan(40);
    expect(arns.filter((arn) => !covered(arn))).toEqual([]);
  });

  it('reaches nothing of a stage whose name only extends its own (production-eu)', () => {
    const arns = namedArns(neighbour());
    expect(arns.length).toBeGreaterThan(40);
    expect(arns.filter((arn) => covered(arn))).toEqual([]);
  });
});
