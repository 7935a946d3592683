/**
 * The CI/CD pipeline's settings and the deploy role's permissions, as plain data (stacks/deploy-role.ts
 * builds the role from them; tests and docs read them without SST).
 */
import { LOG_DELIVERY_ACTIONS } from './log-delivery.js';
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
  logs: ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy', 'logs:TagResource', 'logs:ListTagsForResource'],
  xray: ['xray:CreateSamplingRule', 'xray:UpdateSamplingRule', 'xray:DeleteSamplingRule', 'xray:TagResource', 'xray:UntagResource', 'xray:ListTagsForResource'],
  cloudwatch: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:TagResource', 'cloudwatch:ListTagsForResource', 'cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'],
  sns: ['sns:CreateTopic', 'sns:DeleteTopic', 'sns:GetTopicAttributes', 'sns:SetTopicAttributes', 'sns:TagResource', 'sns:ListTagsForResource'],
  /** The stage's outputs parameter (names.outputsParameter), read by the CLI. */
  ssm: ['ssm:PutParameter', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:DeleteParameter', 'ssm:AddTagsToResource', 'ssm:RemoveTagsFromResource', 'ssm:ListTagsForResource'],
  /** SST's own state and assets: the buckets it bootstraps in the account, and its bootstrap parameters. */
  sst: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 'ssm:GetParameter', 'ssm:GetParameters'],
} as const;

/**
 * Read-only calls without resource-level permissions (the service authorization reference lists no
 * resource type for them), which the deployment makes to look resources up.
 */
export const AWS_REQUIRES_STAR_FOR_DEPLOY = [
  'sts:GetCallerIdentity',
  'xray:GetSamplingRules',
  'cloudwatch:DescribeAlarms',
  'lambda:GetEventSourceMapping',
  'lambda:CreateEventSourceMapping',
  'lambda:UpdateEventSourceMapping',
  'lambda:DeleteEventSourceMapping',
  'lambda:ListEventSourceMappings',
  // Setting up the state machine's vended log delivery: what its own role holds on "*" too.
  ...LOG_DELIVERY_ACTIONS,
  'ssm:DescribeParameters',
] as const;

