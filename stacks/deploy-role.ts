/**
 * The role the CI/CD pipeline (.github/workflows/ci.yml) deploys with: assumed with the workflow's
 * GitHub OIDC token (no long-lived key anywhere), trusted for one repository (by its numeric id), one
 * environment and one branch only, and allowed to manage this app's resources of this stage only.
 *
 * It cannot raise its own permissions: every role it creates or whose policies it writes must carry the
 * stage's permissions boundary (stacks/permissions-boundary.ts); it may pass roles only to the services
 * that use them; and every IAM write on itself or on the boundary is denied. Created with the pipeline's
 * stage: the first deployment of that stage, and any change to this role or to the boundary, is made by
 * an administrator (docs/deploy.md).
 */
import type { HomeContext } from './context.js';
import {
  AWS_REQUIRES_STAR_FOR_DEPLOY,
  DEPLOY_ACTIONS,
  DEPLOY_IAM_ACTIONS,
  DEPLOY_KMS_ACTIONS,
  IAM_WRITE_ACTIONS,
  PASSED_TO,
  PIPELINE,
  SST_STATE_ACTIONS,
  SST_TAGS,
  trustedSubject,
  type DeployTrust,
} from './pipeline.js';
import { packStatements } from './policy-packing.js';
import { deployPolicyNames, roleName } from './role-names.js';
import type { StageArns } from './stage-arns.js';

export { AWS_REQUIRES_STAR_FOR_DEPLOY, DEPLOY_ACTIONS, PIPELINE };

export interface DeployRole {
  readonly role: aws.iam.Role;
  readonly providerArn: $util.Input<string>;
}

/** Few enough ARNs that one statement fits a managed policy whatever the app's and stage's names. */
const RESOURCES_PER_STATEMENT = 20;

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Actions AWS offers on "*" only, apart from kms:CreateKey (granted with its own conditions). */
const LOOKUPS_ON_STAR = AWS_REQUIRES_STAR_FOR_DEPLOY.filter((action) => !(DEPLOY_KMS_ACTIONS.create as readonly string[]).includes(action));

function trustPolicy(providerArn: $util.Input<string>, trust: DeployTrust) {
  return $jsonStringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${PIPELINE.issuer}:aud`]: 'sts.amazonaws.com',
            // Repository id, environment and branch, as the repository's subject template writes them.
            [`${PIPELINE.issuer}:sub`]: trustedSubject(trust.repositoryId),
          },
        },
      },
    ],
  });
}

function iamStatements(arns: StageArns) {
  const stageRoles = [...arns.roles.functions, arns.roles.stateMachine];
  return [
    {
      Sid: 'StageRolesOnlyWithBoundary',
      Effect: 'Allow',
      Action: [...DEPLOY_IAM_ACTIONS.withBoundary],
      Resource: stageRoles,
      Condition: { StringEquals: { 'iam:PermissionsBoundary': arns.boundary } },
    },
    { Sid: 'StageRoles', Effect: 'Allow', Action: [...DEPLOY_IAM_ACTIONS.onStageRoles], Resource: stageRoles },
    {
      Sid: 'PassFunctionRolesToLambda',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: arns.roles.functions,
      Condition: { StringEquals: { 'iam:PassedToService': PASSED_TO.functions } },
    },
    {
      Sid: 'PassStateMachineRoleToStepFunctions',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: [arns.roles.stateMachine],
      Condition: { StringEquals: { 'iam:PassedToService': PASSED_TO.stateMachine } },
    },
    { Sid: 'ReadOwnRoleAndBoundary', Effect: 'Allow', Action: [...DEPLOY_IAM_ACTIONS.readOwn], Resource: [arns.roles.deploy, arns.boundary, ...arns.deployPolicies] },
    // Whatever else allows it: the deploy role never changes itself, its own policies, or the boundary
    // that caps the roles it makes.
    {
      Sid: 'DenyChangingItselfOrTheBoundary',
      Effect: 'Deny',
      Action: [...IAM_WRITE_ACTIONS],
      Resource: [arns.roles.deploy, arns.boundary, ...arns.deployPolicies],
    },
    { Sid: 'DenyRemovingBoundaries', Effect: 'Deny', Action: ['iam:DeleteRolePermissionsBoundary'], Resource: ['*'] },
  ];
}

function sstStatements(arns: StageArns, home: HomeContext) {
  const inThisAccount = { StringEquals: { 'aws:ResourceAccount': home.accountId } };
  return [
    { Sid: 'SstStateOfThisStage', Effect: 'Allow', Action: [...SST_STATE_ACTIONS.readWrite], Resource: arns.sstState.readWrite, Condition: inThisAccount },
    { Sid: 'SstSecretsOfThisStage', Effect: 'Allow', Action: [...SST_STATE_ACTIONS.read], Resource: arns.sstState.read, Condition: inThisAccount },
    {
      Sid: 'SstStateListedForThisStage',
      Effect: 'Allow',
      Action: [...SST_STATE_ACTIONS.list],
      Resource: [arns.sstState.bucket],
      Condition: { ...inThisAccount, StringLike: { 's3:prefix': arns.sstState.listPrefixes } },
    },
    { Sid: 'SstAssetsOfThisStage', Effect: 'Allow', Action: [...SST_STATE_ACTIONS.assets], Resource: arns.sstAssets, Condition: inThisAccount },
    { Sid: 'SstParametersOfThisStage', Effect: 'Allow', Action: [...SST_STATE_ACTIONS.parameters], Resource: arns.sstParameters },
  ];
}

function kmsStatements(app: string, stage: string, home: HomeContext, regions: readonly string[]) {
  const ourTags = { [`aws:RequestTag/${SST_TAGS.app}`]: app, [`aws:RequestTag/${SST_TAGS.stage}`]: stage };
  const keysIn = regions.map((region) => $interpolate`arn:${home.partition}:kms:${region}:${home.accountId}:key/*`);
  return [
    {
      Sid: 'CreateAlarmKeysRequiresStar',
      Effect: 'Allow',
      Action: [...DEPLOY_KMS_ACTIONS.create],
      Resource: ['*'],
      Condition: { StringEquals: ourTags },
    },
    {
      Sid: 'TagNewAlarmKeys',
      Effect: 'Allow',
      Action: [...DEPLOY_KMS_ACTIONS.tagAtCreation],
      Resource: keysIn,
      Condition: { StringEquals: ourTags, 'ForAllValues:StringEquals': { 'aws:TagKeys': [SST_TAGS.app, SST_TAGS.stage] } },
    },
    // An existing key of another app or stage keeps its tags.
    {
      Sid: 'DenyTaggingOtherAppsKeys',
      Effect: 'Deny',
      Action: ['kms:TagResource', 'kms:UntagResource'],
      Resource: keysIn,
      // Tagged (Null false) and not ours; a key being created has no tags yet.
      Condition: { Null: { [`aws:ResourceTag/${SST_TAGS.app}`]: 'false' }, StringNotEquals: { [`aws:ResourceTag/${SST_TAGS.app}`]: app } },
    },
    {
      Sid: 'DenyTaggingOtherStagesKeys',
      Effect: 'Deny',
      Action: ['kms:TagResource', 'kms:UntagResource'],
      Resource: keysIn,
      // Tagged (Null false) and not ours; a key being created has no tags yet.
      Condition: { Null: { [`aws:ResourceTag/${SST_TAGS.stage}`]: 'false' }, StringNotEquals: { [`aws:ResourceTag/${SST_TAGS.stage}`]: stage } },
    },
  ];
}

export function createDeployRole(home: HomeContext, regions: readonly string[], arns: StageArns, trust: DeployTrust): DeployRole {
  const providerArn: $util.Input<string> =
    trust.existingProviderArn ??
    new aws.iam.OpenIdConnectProvider('GitHubOidcProvider', {
      url: `https://${PIPELINE.issuer}`,
      clientIdLists: ['sts.amazonaws.com'],
    }).arn;
  const role = new aws.iam.Role('DeployRole', {
    name: roleName('deploy'),
    description: `Deploys stage ${$app.stage} from ${trust.repository} (id ${trust.repositoryId}), environment ${PIPELINE.environment}, ${PIPELINE.ref}, with GitHub's OIDC token`,
    maxSessionDuration: 3600,
    assumeRolePolicy: trustPolicy(providerArn, trust),
  });
  const statements = [
    ...Object.entries(DEPLOY_ACTIONS).flatMap(([service, actions]) =>
      chunks(arns[service as keyof typeof DEPLOY_ACTIONS], RESOURCES_PER_STATEMENT).map((resources, i) => ({
        Sid: `Stage${service.charAt(0).toUpperCase()}${service.slice(1)}${i === 0 ? '' : i + 1}`,
        Effect: 'Allow',
        Action: [...actions],
        Resource: resources,
      })),
    ),
    ...iamStatements(arns),
    ...sstStatements(arns, home),
    ...kmsStatements($app.name, $app.stage, home, regions),
    { Sid: 'ReadOnlyLookupsRequireStar', Effect: 'Allow', Action: [...LOOKUPS_ON_STAR], Resource: ['*'] },
  ];
  // More than IAM holds inline (10,240 characters): managed policies of 6,144 each (stacks/policy-packing.ts).
  const documents = $output(statements).apply((resolved) => packStatements(resolved, deployPolicyNames().length));
  deployPolicyNames().forEach((name, i) => {
    const logical = `DeployRolePolicy${i + 1}`;
    const policy = new aws.iam.Policy(logical, {
      name,
      description: `Part ${i + 1} of what the deploy role of ${$app.name} stage ${$app.stage} may do`,
      policy: documents.apply((all) => all[i]!),
    });
    new aws.iam.RolePolicyAttachment(`${logical}Attachment`, { role: role.name, policyArn: policy.arn });
  });
  return { role, providerArn };
}
