/**
 * The role the CI/CD pipeline (.github/workflows/ci.yml) deploys with: assumed with the workflow's
 * GitHub OIDC token (no long-lived key anywhere), trusted for one repository's `production` environment
 * only, and allowed to manage this app's resources of this stage only (names start with the app's and
 * the stage's). Created with the pipeline's stage; the first deployment of that stage is made by a person
 * with administrator rights, every later one by the pipeline.
 */
import { resourceNames } from '../core/topology.js';
import type { HomeContext } from './context.js';

export const PIPELINE = {
  /** The stage the pipeline deploys (ci.yml: `npx sst deploy --stage production`). */
  stage: 'production',
  /** owner/name of the repository whose workflow may assume the role; set at deploy time. */
  repository: process.env.DEPLOY_REPOSITORY ?? 'example-org/multi-region-inference-dispatch',
  /** The GitHub environment of the deploy job (ci.yml): what the token's `sub` names. */
  environment: 'production',
  /** GitHub's OIDC issuer; an account holds one provider for it, so an existing one can be reused. */
  issuer: 'token.actions.githubusercontent.com',
  /** ARN of an OIDC provider for the issuer that already exists in the account (DEPLOY_OIDC_PROVIDER_ARN). */
  existingProviderArn: process.env.DEPLOY_OIDC_PROVIDER_ARN,
} as const;

/**
 * Actions the deployment needs, by service, each on the stage's own resources. Read-only calls that AWS
 * offers without resource-level permissions are granted on "*" and named in AWS_REQUIRES_STAR_FOR_DEPLOY.
 */
export const DEPLOY_ACTIONS = {
  sqs: ['sqs:CreateQueue', 'sqs:DeleteQueue', 'sqs:GetQueueAttributes', 'sqs:SetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:TagQueue', 'sqs:UntagQueue', 'sqs:ListQueueTags'],
  dynamodb: [
    'dynamodb:CreateTable',
    'dynamodb:DeleteTable',
    'dynamodb:DescribeTable',
    'dynamodb:UpdateTable',
    'dynamodb:DescribeTimeToLive',
    'dynamodb:UpdateTimeToLive',
    'dynamodb:DescribeContinuousBackups',
    'dynamodb:UpdateContinuousBackups',
    'dynamodb:GetResourcePolicy',
    'dynamodb:PutResourcePolicy',
    'dynamodb:DeleteResourcePolicy',
    'dynamodb:TagResource',
    'dynamodb:UntagResource',
    'dynamodb:ListTagsOfResource',
  ],
  lambda: [
    'lambda:CreateFunction',
    'lambda:DeleteFunction',
    'lambda:GetFunction',
    'lambda:GetFunctionConfiguration',
    'lambda:GetFunctionCodeSigningConfig',
    'lambda:UpdateFunctionCode',
    'lambda:UpdateFunctionConfiguration',
    'lambda:ListVersionsByFunction',
    'lambda:TagResource',
    'lambda:UntagResource',
    'lambda:ListTags',
  ],
  iam: [
    'iam:CreateRole',
    'iam:DeleteRole',
    'iam:GetRole',
    'iam:UpdateRole',
    'iam:UpdateAssumeRolePolicy',
    'iam:TagRole',
    'iam:UntagRole',
    'iam:PutRolePolicy',
    'iam:GetRolePolicy',
    'iam:DeleteRolePolicy',
    'iam:ListRolePolicies',
    'iam:ListAttachedRolePolicies',
    'iam:ListInstanceProfilesForRole',
    'iam:PassRole',
  ],
  states: [
    'states:CreateStateMachine',
    'states:DeleteStateMachine',
    'states:DescribeStateMachine',
    'states:UpdateStateMachine',
    'states:TagResource',
    'states:UntagResource',
    'states:ListTagsForResource',
  ],
  logs: ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy', 'logs:TagResource', 'logs:ListTagsForResource', 'logs:PutMetricFilter', 'logs:DeleteMetricFilter'],
  cloudwatch: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:TagResource', 'cloudwatch:ListTagsForResource', 'cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'],
  sns: ['sns:CreateTopic', 'sns:DeleteTopic', 'sns:GetTopicAttributes', 'sns:SetTopicAttributes', 'sns:TagResource', 'sns:ListTagsForResource'],
  /** SST's own state and assets: the buckets it bootstraps in the account, and its bootstrap parameters. */
  sst: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 'ssm:GetParameter', 'ssm:GetParameters'],
} as const;

/**
 * Read-only calls without resource-level permissions (the service authorization reference lists no
 * resource type for them), which the deployment makes to look resources up.
 */
export const AWS_REQUIRES_STAR_FOR_DEPLOY = [
  'sts:GetCallerIdentity',
  'logs:DescribeLogGroups',
  'logs:DescribeMetricFilters',
  'cloudwatch:DescribeAlarms',
  'lambda:GetEventSourceMapping',
  'lambda:CreateEventSourceMapping',
  'lambda:UpdateEventSourceMapping',
  'lambda:DeleteEventSourceMapping',
  'lambda:ListEventSourceMappings',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
] as const;

export interface DeployRole {
  readonly role: aws.iam.Role;
  readonly providerArn: $util.Input<string>;
}

/** The stage's resources, by ARN pattern: every region's queues, the table, functions, roles, the rest. */
function stageResources(stage: string, home: HomeContext, regions: readonly string[]) {
  const names = resourceNames(stage);
  const arn = (service: string, region: $util.Input<string>, rest: string) =>
    $interpolate`arn:${home.partition}:${service}:${region}:${home.accountId}:${rest}`;
  // Every queue of the stage is named inference-...-<stage> (core/topology.ts resourceNames).
  const queues = regions.map((region) => arn('sqs', region, `inference-*-${stage}`));
  return {
    sqs: queues,
    dynamodb: [arn('dynamodb', home.region, `table/${names.idempotencyTable}`)],
    // The four functions are named inference-<role>-<stage> (stacks/functions.ts).
    lambda: [arn('lambda', home.region, `function:inference-*-${stage}`)],
    // SST names its function roles <app>-<stage>-...; the state machine's role is named likewise.
    iam: [$interpolate`arn:${home.partition}:iam::${home.accountId}:role/${$app.name}-${stage}-*`],
    states: [arn('states', home.region, `stateMachine:${names.stateMachine}`)],
    logs: [
      arn('logs', home.region, `log-group:/aws/lambda/inference-*-${stage}*`),
      arn('logs', home.region, `log-group:/aws/vendedlogs/states/${names.stateMachine}*`),
    ],
    cloudwatch: [
      ...regions.map((region) => arn('cloudwatch', region, `alarm:inference-*-${stage}*`)),
      $interpolate`arn:${home.partition}:cloudwatch::${home.accountId}:dashboard/inference-dispatch-${stage}`,
    ],
    sns: regions.map((region) => arn('sns', region, `inference-*-${stage}*`)),
    sst: [
      $interpolate`arn:${home.partition}:s3:::sst-state-*`,
      $interpolate`arn:${home.partition}:s3:::sst-state-*/*`,
      $interpolate`arn:${home.partition}:s3:::sst-asset-*`,
      $interpolate`arn:${home.partition}:s3:::sst-asset-*/*`,
      arn('ssm', home.region, 'parameter/sst/*'),
    ],
  };
}

export function createDeployRole(home: HomeContext, regions: readonly string[]): DeployRole {
  const providerArn: $util.Input<string> =
    PIPELINE.existingProviderArn ??
    new aws.iam.OpenIdConnectProvider('GitHubOidcProvider', {
      url: `https://${PIPELINE.issuer}`,
      clientIdLists: ['sts.amazonaws.com'],
    }).arn;
  const role = new aws.iam.Role('DeployRole', {
    name: `${$app.name}-${$app.stage}-deploy`,
    description: `Deploys stage ${$app.stage} from ${PIPELINE.repository} (environment ${PIPELINE.environment}) with GitHub's OIDC token`,
    maxSessionDuration: 3600,
    assumeRolePolicy: $jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${PIPELINE.issuer}:aud`]: 'sts.amazonaws.com',
              [`${PIPELINE.issuer}:sub`]: `repo:${PIPELINE.repository}:environment:${PIPELINE.environment}`,
            },
          },
        },
      ],
    }),
  });
  const resources = stageResources($app.stage, home, regions);
  new aws.iam.RolePolicy('DeployRolePolicy', {
    role: role.id,
    policy: $jsonStringify({
      Version: '2012-10-17',
      Statement: [
        ...Object.entries(DEPLOY_ACTIONS).map(([service, actions]) => ({
          Sid: `Stage${service.charAt(0).toUpperCase()}${service.slice(1)}`,
          Effect: 'Allow',
          Action: [...actions],
          Resource: resources[service as keyof typeof resources],
        })),
        { Sid: 'ReadOnlyLookupsRequireStar', Effect: 'Allow', Action: [...AWS_REQUIRES_STAR_FOR_DEPLOY], Resource: ['*'] },
      ],
    }),
  });
  return { role, providerArn };
}
