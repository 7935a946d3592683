/**
 * The CI/CD pipeline's settings and the deploy role's permissions, as plain data (stacks/deploy-role.ts
 * builds the role from them; tests and docs read them without SST).
 */
import { z } from 'zod';
import { LOG_DELIVERY_ACTIONS } from './log-delivery.js';

export const PIPELINE = {
  /** The stage the pipeline deploys (ci.yml: `npx --no sst deploy --stage production`). */
  stage: 'production',
  /** The GitHub environment of the deploy job (ci.yml): what the token's `sub` names. */
  environment: 'production',
  /** The only branch whose workflow runs may deploy. */
  ref: 'refs/heads/main',
  /**
   * The repository's OIDC subject template (docs/deploy.md, "Repository settings"): with these claim keys
   * GitHub writes `sub` as "repository_id:<id>:environment:<environment>:ref:<ref>", each key followed
   * by its value, in this order. The id stays the same when the repository is renamed or transferred.
   */
  subClaimKeys: ['repository_id', 'environment', 'ref'],
  /** GitHub's OIDC issuer; an account holds one provider for it, so an existing one can be reused. */
  issuer: 'token.actions.githubusercontent.com',
} as const;

/** What the deploy role's trust is pinned to, read from the environment of `sst deploy` (docs/deploy.md). */
export interface DeployTrust {
  /** owner/name: for people reading the role (its description); the trust pins the id. */
  readonly repository: string;
  readonly repositoryId: string;
  /** ARN of an OIDC provider for the issuer that already exists in the account. */
  readonly existingProviderArn: string | undefined;
}

/** An unset variable and an empty one mean the same: not set. */
const setting = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());

const deployTrustSchema = z.object({
  DEPLOY_REPOSITORY: setting.pipe(z.string({ message: 'is not set' }).regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 'must be <owner>/<name>')),
  DEPLOY_REPOSITORY_ID: setting.pipe(z.string({ message: 'is not set' }).regex(/^[1-9][0-9]{0,19}$/, "must be the repository's numeric id")),
  DEPLOY_OIDC_PROVIDER_ARN: setting.pipe(
    z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/, "must be the ARN of the account's provider for token.actions.githubusercontent.com")
      .optional(),
  ),
});

/**
 * The trust settings, or an error naming each variable that is missing or malformed: the pipeline's
 * stage is never synthesized with a repository nobody chose.
 */
export function deployTrust(env: Readonly<Record<string, string | undefined>>): DeployTrust {
  const parsed = deployTrustSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new Error(
      `the deploy role of stage ${PIPELINE.stage} trusts one GitHub repository, by id: set DEPLOY_REPOSITORY (<owner>/<name>) and ` +
        `DEPLOY_REPOSITORY_ID (its numeric id) before deploying it (docs/deploy.md, "First deploy"): ${problems.join('; ')}`,
    );
  }
  return {
    repository: parsed.data.DEPLOY_REPOSITORY,
    repositoryId: parsed.data.DEPLOY_REPOSITORY_ID,
    existingProviderArn: parsed.data.DEPLOY_OIDC_PROVIDER_ARN,
  };
}

/** The `sub` the role accepts: GitHub's template for PIPELINE.subClaimKeys, filled in. */
export function trustedSubject(repositoryId: string): string {
  const values: Record<(typeof PIPELINE.subClaimKeys)[number], string> = {
    repository_id: repositoryId,
    environment: PIPELINE.environment,
    ref: PIPELINE.ref,
  };
  return PIPELINE.subClaimKeys.map((key) => `${key}:${values[key]}`).join(':');
}

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
} as const;

/**
 * The stage's roles (stacks/role-names.ts, by exact ARN). Creating a role, and writing or removing its
 * policies or boundary, only with the stage's permissions boundary on it (condition iam:PermissionsBoundary),
 * so no role the deploy role makes can hold more than the boundary allows. The rest changes no
 * permission: reads, tags, the description, and the trust (which names who may assume the role, not
 * what it may do; the boundary still caps it).
 */
export const DEPLOY_IAM_ACTIONS = {
  withBoundary: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary'],
  onStageRoles: [
    'iam:GetRole',
    'iam:DeleteRole',
    'iam:UpdateRole',
    'iam:UpdateAssumeRolePolicy',
    'iam:TagRole',
    'iam:UntagRole',
    'iam:GetRolePolicy',
    'iam:ListRolePolicies',
    'iam:ListAttachedRolePolicies',
    'iam:ListInstanceProfilesForRole',
  ],
  /** Reading (never writing) the deploy role itself and the boundary: what a refresh of the stage reads. */
  readOwn: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions'],
} as const;

/**
 * Every IAM write, as the action-name prefixes IAM's writes share: denied on the deploy role itself and
 * on the boundary, whatever else allows it. The deploy role and the boundary are changed by an
 * administrator (docs/deploy.md).
 */
export const IAM_WRITE_ACTIONS = [
  'iam:Add*',
  'iam:Attach*',
  'iam:Create*',
  'iam:Delete*',
  'iam:Detach*',
  'iam:Pass*',
  'iam:Put*',
  'iam:Remove*',
  'iam:Set*',
  'iam:Tag*',
  'iam:Untag*',
  'iam:Update*',
  'iam:Upload*',
] as const;

/** The services the stage's roles are passed to: Lambda (the functions' roles), Step Functions (the state machine's). */
export const PASSED_TO = { functions: 'lambda.amazonaws.com', stateMachine: 'states.amazonaws.com' } as const;

/**
 * SST's records of this app and stage (stacks/stage-arns.ts sstStateKeys): state, lock and history read
 * and written, secrets read; listed only under those prefixes; in this account's buckets only.
 */
export const SST_STATE_ACTIONS = {
  readWrite: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
  read: ['s3:GetObject'],
  list: ['s3:ListBucket', 's3:ListBucketVersions'],
  /** The function code and source maps SST uploads (objects carry the provider's default tags). */
  assets: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:GetObjectTagging', 's3:PutObjectTagging'],
  /** The stage's passphrase (SecureString, under the AWS managed key aws/ssm) and the bootstrap record. */
  parameters: ['ssm:GetParameter'],
} as const;

/**
 * The alarm topics' keys (stacks/alarm-keys.ts). Creating a key has no resource to scope (AWS offers
 * kms:CreateKey on "*" only); tagging it at creation needs kms:TagResource on every key of the region
 * (AWS KMS developer guide, "Controlling access to tags"), allowed only with this app's and stage's tags.
 * Everything else on a key is granted by the key's own policy, which names the deploy role.
 */
export const DEPLOY_KMS_ACTIONS = {
  create: ['kms:CreateKey'],
  tagAtCreation: ['kms:TagResource'],
  /** Granted in each alarm key's policy, to the deploy role, on that key only. */
  administer: [
    'kms:DescribeKey',
    'kms:GetKeyPolicy',
    'kms:PutKeyPolicy',
    'kms:GetKeyRotationStatus',
    'kms:EnableKeyRotation',
    'kms:ListResourceTags',
    'kms:TagResource',
    'kms:UntagResource',
    'kms:UpdateKeyDescription',
    'kms:ScheduleKeyDeletion',
  ],
} as const;

/** The tags SST puts on everything it deploys (the providers' default tags, stacks/regions.ts). */
export const SST_TAGS = { app: 'sst:app', stage: 'sst:stage' } as const;

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
  // No resource exists before it is created; granted with conditions on the new key (DEPLOY_KMS_ACTIONS).
  'kms:CreateKey',
] as const;

