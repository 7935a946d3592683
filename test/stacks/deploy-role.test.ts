/**
 * The pipeline's deploy role (stacks/deploy-role.ts), in a synthesized production stage: assumable only
 * with GitHub's OIDC token for one repository (by id), its production environment and its main branch;
 * refused when no repository is set; allowed only the actions the deployment makes, each on this stage's
 * own resources (bar what AWS offers on "*" only), SST's records of this app and stage included.
 */
import { describe, expect, it } from 'vitest';
import { AWS_REQUIRES_STAR_FOR_DEPLOY, deployTrust, PIPELINE } from '../../stacks/pipeline.js';
import { useSynth } from './harness/use-synth.js';
import { synth, DEPLOY_ENV } from './harness/synth.js';
import { SETUP_TIMEOUT_MS } from './harness/use-synth.js';
import { parsePolicy, type Statement } from './harness/model.js';
import { conditionsHold, evaluate, reaches } from './iam-eval.js';
import { DEPLOY_REQUIRES_STAR } from './iam-rules.js';
import { namedArns, sstStateKeysOf } from './reach.js';

const production = useSynth({ stage: 'production' });
const ci = useSynth();
const neighbour = useSynth({ stage: 'production-eu' });

const ACCOUNT = '123456789012';
const deployRole = () => production().byState('aws:iam/role:Role', 'name', 'inference-dispatch-production-deploy');
const deployPolicy = (): Statement[] => {
  const found = production().rolePolicies().find((p) => p.role === deployRole());
  // Only the stage's own policies for the deploy role (no AWS managed policy).
  expect(found?.managedPolicyArns).toEqual([1, 2, 3, 4, 5].map((i) => `arn:aws:iam::${ACCOUNT}:policy/inference-dispatch-production-deploy-${i}`));
  return found?.statements ?? [];
};
const trustOf = () => JSON.parse(deployRole().inputs.assumeRolePolicy as string) as { Statement: Array<Record<string, unknown>> };

describe('the deploy role trust', () => {
  it("is GitHub's OIDC token for one repository by id, its production environment and its main branch", () => {
    const provider = production().ofType('aws:iam/openIdConnectProvider:OpenIdConnectProvider');
    expect(provider).toHaveLength(1);
    expect(provider[0]!.inputs).toMatchObject({ url: 'https://token.actions.githubusercontent.com', clientIdLists: ['sts.amazonaws.com'] });
    expect(trustOf().Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Federated: provider[0]!.state.arn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            // GitHub's sub with the repository's template include_claim_keys [repository_id, environment, ref].
            'token.actions.githubusercontent.com:sub': `repository_id:${DEPLOY_ENV.DEPLOY_REPOSITORY_ID}:environment:production:ref:refs/heads/main`,
          },
        },
      },
    ]);
  });

  it('names the repository for people (description), not for the trust: a renamed repository keeps its id', () => {
    expect(deployRole().inputs.description).toContain(DEPLOY_ENV.DEPLOY_REPOSITORY);
    expect(JSON.stringify(trustOf())).not.toContain(DEPLOY_ENV.DEPLOY_REPOSITORY);
  });

  it('admits that sub only: another repository, environment or branch, or the default template, is refused', () => {
    const [trust] = parsePolicy(deployRole().inputs.assumeRolePolicy as string) as [Statement];
    const admits = (sub: string) => conditionsHold(trust, { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': sub });
    const id = DEPLOY_ENV.DEPLOY_REPOSITORY_ID!;
    expect(admits(`repository_id:${id}:environment:production:ref:refs/heads/main`)).toBe(true);
    for (const other of [
      `repository_id:987654321:environment:production:ref:refs/heads/main`,
      `repository_id:${id}:environment:staging:ref:refs/heads/main`,
      `repository_id:${id}:environment:production:ref:refs/heads/feature`,
      `repository_id:${id}:ref:refs/heads/main`,
      `repo:${DEPLOY_ENV.DEPLOY_REPOSITORY!}:environment:production`,
    ]) {
      expect(admits(other), other).toBe(false);
    }
    expect(PIPELINE.subClaimKeys).toEqual(['repository_id', 'environment', 'ref']);
  });
});

describe('the pipeline stage without a repository', () => {
  it(
    'stops the synthesis with an error naming DEPLOY_REPOSITORY and DEPLOY_REPOSITORY_ID',
    async () => {
      const error = await synth({ stage: 'production', env: { DEPLOY_REPOSITORY: undefined, DEPLOY_REPOSITORY_ID: undefined } }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/DEPLOY_REPOSITORY \(<owner>\/<name>\)/);
      expect(error?.message).toMatch(/DEPLOY_REPOSITORY is not set/);
      expect(error?.message).toMatch(/DEPLOY_REPOSITORY_ID is not set/);
    },
    SETUP_TIMEOUT_MS,
  );

  it(
    'stops it too with a repository but no numeric id',
    async () => {
      const error = await synth({ stage: 'production', env: { DEPLOY_REPOSITORY_ID: 'example-owner/inference-dispatch' } }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/DEPLOY_REPOSITORY_ID must be the repository's numeric id/);
    },
    SETUP_TIMEOUT_MS,
  );

  it('other stages need neither (they have no deploy role)', () => {
    expect(ci().ofType('aws:iam/role:Role').map((r) => r.inputs.name)).not.toContain('inference-dispatch-ci-deploy');
  });

  it('reads the settings with zod: set, empty, malformed', () => {
    expect(deployTrust({ DEPLOY_REPOSITORY: 'acme/dispatch', DEPLOY_REPOSITORY_ID: '42' })).toEqual({
      repository: 'acme/dispatch',
      repositoryId: '42',
      existingProviderArn: undefined,
    });
    expect(() => deployTrust({ DEPLOY_REPOSITORY: '', DEPLOY_REPOSITORY_ID: '42' })).toThrow(/DEPLOY_REPOSITORY is not set/);
    expect(() => deployTrust({ DEPLOY_REPOSITORY: 'acme', DEPLOY_REPOSITORY_ID: '42' })).toThrow(/DEPLOY_REPOSITORY must be <owner>\/<name>/);
    expect(() => deployTrust({ DEPLOY_REPOSITORY: 'acme/dispatch', DEPLOY_REPOSITORY_ID: '042' })).toThrow(/numeric id/);
    expect(() => deployTrust({ DEPLOY_REPOSITORY: 'acme/dispatch', DEPLOY_REPOSITORY_ID: '42', DEPLOY_OIDC_PROVIDER_ARN: 'arn:aws:iam::1:oidc-provider/x' })).toThrow(
      /DEPLOY_OIDC_PROVIDER_ARN/,
    );
    expect(
      deployTrust({
        DEPLOY_REPOSITORY: 'acme/dispatch',
        DEPLOY_REPOSITORY_ID: '42',
        DEPLOY_OIDC_PROVIDER_ARN: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
      }).existingProviderArn,
    ).toBe(`arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`);
  });
});

describe('the deploy role policy', () => {
  it('names no wildcard action in an Allow, and "*" only for what AWS offers on "*" only', () => {
    const allows = deployPolicy().filter((s) => s.effect === 'Allow');
    expect(allows.flatMap((s) => s.actions).filter((a) => a.includes('*'))).toEqual([]);
    const onStar = allows.filter((s) => s.resources.includes('*')).flatMap((s) => s.actions);
    expect(onStar.sort()).toEqual([...AWS_REQUIRES_STAR_FOR_DEPLOY].sort());
    expect(onStar.filter((a) => !DEPLOY_REQUIRES_STAR.has(a))).toEqual([]);
  });

  it('creates keys only tagged for this app and stage', () => {
    const create = deployPolicy().find((s) => s.actions.includes('kms:CreateKey'))!;
    const request = (tags: Record<string, string>) => ({
      action: 'kms:CreateKey',
      resource: '*',
      context: Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
    });
    expect(evaluate([create], request({ 'sst:app': 'inference-dispatch', 'sst:stage': 'production' }))).toBe('allow');
    expect(evaluate([create], request({ 'sst:app': 'inference-dispatch', 'sst:stage': 'production-eu' }))).toBe('implicit-deny');
    expect(evaluate([create], request({}))).toBe('implicit-deny');
  });

  it("cannot retag another app's or stage's key", () => {
    const key = `arn:aws:kms:us-west-2:${ACCOUNT}:key/0000`;
    const tag = (resourceTags: Record<string, string>) =>
      evaluate(deployPolicy(), {
        action: 'kms:TagResource',
        resource: key,
        context: {
          'aws:RequestTag/sst:app': 'inference-dispatch',
          'aws:RequestTag/sst:stage': 'production',
          'aws:TagKeys': ['sst:app', 'sst:stage'],
          ...Object.fromEntries(Object.entries(resourceTags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
        },
      });
    expect(tag({})).toBe('allow');
    expect(tag({ 'sst:app': 'inference-dispatch-eu', 'sst:stage': 'production' })).toBe('deny');
    expect(tag({ 'sst:app': 'inference-dispatch', 'sst:stage': 'production-eu' })).toBe('deny');
  });
});

describe("SST's state, assets and parameters", () => {
  const may = (action: string, resource: string, context: Record<string, string> = { 'aws:ResourceAccount': ACCOUNT }) =>
    evaluate(deployPolicy(), { action, resource, context });
  const bucket = 'arn:aws:s3:::sst-state-mock-us-east-1';

  it('reads and writes this app and stage\'s state, lock and history, in this account only', () => {
    for (const key of ['app/inference-dispatch/production.json', 'lock/inference-dispatch/production.json', 'snapshot/inference-dispatch/production/01J.json']) {
      expect(may('s3:PutObject', `${bucket}/${key}`), key).toBe('allow');
      expect(may('s3:PutObject', `${bucket}/${key}`, { 'aws:ResourceAccount': '210987654321' }), key).toBe('implicit-deny');
    }
    expect(may('s3:GetObject', `${bucket}/secret/inference-dispatch/production.json`)).toBe('allow');
    expect(may('s3:PutObject', `${bucket}/secret/inference-dispatch/production.json`)).toBe('implicit-deny');
  });

  it("reaches no other app's or stage's records, and no other app's passphrase", () => {
    for (const [app, stage] of [
      ['inference-dispatch-eu', 'production'],
      ['inference-dispatch', 'production-eu'],
      ['other-app', 'production'],
    ] as const) {
      for (const key of sstStateKeysOf(app, stage)) expect(may('s3:GetObject', `${bucket}/${key}`), key).toBe('implicit-deny');
      expect(may('ssm:GetParameter', `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/sst/passphrase/${app}/${stage}`)).toBe('implicit-deny');
      expect(may('s3:ListBucket', bucket, { 'aws:ResourceAccount': ACCOUNT, 's3:prefix': `app/${app}/${stage}.json` })).toBe('implicit-deny');
    }
    expect(may('ssm:GetParameter', `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/sst/passphrase/inference-dispatch/production`)).toBe('allow');
    expect(may('ssm:GetParameter', `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/sst/bootstrap`)).toBe('allow');
    expect(may('s3:ListBucket', bucket, { 'aws:ResourceAccount': ACCOUNT, 's3:prefix': 'snapshot/inference-dispatch/production/' })).toBe('allow');
  });

  it("writes the functions' code where the stage put it (its own prefix of the asset bucket)", () => {
    const objects = production().ofType('aws:s3/bucketObjectv2:BucketObjectv2');
    expect(objects.length).toBe(4);
    for (const object of objects) {
      expect(object.inputs.key as string).toMatch(/^assets\/inference-dispatch\/production\//);
      expect(may('s3:PutObject', `arn:aws:s3:::${object.inputs.bucket as string}/${object.inputs.key as string}`), object.name).toBe('allow');
    }
    expect(may('s3:PutObject', 'arn:aws:s3:::sst-asset-mock-us-east-1/assets/Intake-code-0.zip')).toBe('implicit-deny');
  });
});

describe("the deploy role's policies", () => {
  it('each fits IAM\'s 6,144 characters of a managed policy (the role\'s statements exceed the 10,240 of inline policies)', () => {
    const policies = production().ofType('aws:iam/policy:Policy').filter((p) => (p.inputs.name as string).includes('-deploy-'));
    expect(policies).toHaveLength(5);
    for (const policy of policies) expect(JSON.stringify(JSON.parse(policy.inputs.policy as string)).length, policy.name).toBeLessThanOrEqual(6144);
    expect(production().ofType('aws:iam/rolePolicy:RolePolicy').filter((p) => p.inputs.role === deployRole().state.name)).toEqual([]);
  });
});

describe("the deploy role's reach", () => {
  const scoped = () => deployPolicy().filter((s) => s.effect === 'Allow' && !s.resources.includes('*'));
  const covered = (arn: string) => scoped().some((s) => s.resources.some((r) => reaches(s, arn, r)));
  /** What the stage names that the deploy role reaches by its own statements (SST's state aside). */
  const stageArns = (synth: ReturnType<typeof production>) =>
    namedArns(synth).filter((arn) => !arn.includes(':s3:::') && !arn.includes('parameter/sst/') && !arn.endsWith('-deploy'));

  it('reaches every resource the stage names', () => {
    const arns = stageArns(production());
    expect(arns.length).toBeGreaterThan(40);
    expect(arns.filter((arn) => !covered(arn))).toEqual([]);
  });

  it('reaches nothing of a stage whose name only extends its own (production-eu)', () => {
    const arns = namedArns(neighbour());
    expect(arns.length).toBeGreaterThan(40);
    expect(arns.filter((arn) => covered(arn))).toEqual([]);
  });
});
