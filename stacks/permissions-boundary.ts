/**
 * The stage's permissions boundary: one managed policy per app and stage, carried by every role the app
 * creates (SST's function roles, the state machine's role), set by a transform of every aws.iam.Role.
 * A role's permissions are what its own policies AND the boundary allow, so the deploy role, which may
 * create and write roles only with this boundary on them (stacks/deploy-role.ts), can never make a role
 * that holds more than the stage's own work: the data calls of the functions and the state machine, on
 * the stage's resources, and no IAM at all.
 *
 * The deploy role itself does not carry it (it deploys, and is changed only by an administrator).
 */
import { LOG_DELIVERY_ACTIONS } from './log-delivery.js';
import { STATE_MACHINE_XRAY_ACTIONS } from './state-machine.js';
import { assetKeyPrefix, type StageArns } from './stage-arns.js';

/** The logical name of the deploy role (stacks/deploy-role.ts): the one role without the boundary. */
const DEPLOY_ROLE_LOGICAL_NAME = 'DeployRole';

/** The ceiling of every role of the stage, by service. */
export const BOUNDARY_ACTIONS = {
  sqs: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
  dynamodb: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchGetItem'],
  lambda: ['lambda:InvokeFunction'],
  states: ['states:StartSyncExecution'],
  functionLogStreams: ['logs:CreateLogStream', 'logs:PutLogEvents'],
} as const;

/** What AWS offers on "*" only: X-Ray writes and sampling, Step Functions' log delivery. */
const BOUNDARY_ON_STAR = [...STATE_MACHINE_XRAY_ACTIONS, ...LOG_DELIVERY_ACTIONS];

function boundaryDocument(arns: StageArns, home: { readonly accountId: $util.Input<string>; readonly partition: $util.Input<string> }) {
  const statements: unknown[] = [
    ...Object.entries(BOUNDARY_ACTIONS).map(([service, actions]) => ({
      Sid: `Stage${service.charAt(0).toUpperCase()}${service.slice(1)}`,
      Effect: 'Allow',
      Action: [...actions],
      Resource: arns[service as keyof typeof BOUNDARY_ACTIONS],
    })),
    { Sid: 'AwsRequiresStar', Effect: 'Allow', Action: BOUNDARY_ON_STAR, Resource: ['*'] },
  ];
  if ($dev) {
    // Under `sst dev` only: what SST grants a live function's stub to reach the developer's machine
    // (AppSync Events on "*", as SST grants it, and SST's asset bucket of this account).
    statements.push(
      { Sid: 'SstDevBridge', Effect: 'Allow', Action: ['appsync:*'], Resource: ['*'] },
      {
        Sid: 'SstDevAssets',
        Effect: 'Allow',
        Action: ['s3:*'],
        Resource: [$interpolate`arn:${home.partition}:s3:::sst-asset-*`, $interpolate`arn:${home.partition}:s3:::sst-asset-*/*`],
        Condition: { StringEquals: { 'aws:ResourceAccount': home.accountId } },
      },
    );
  }
  return $jsonStringify({ Version: '2012-10-17', Statement: statements });
}

/**
 * Creates the boundary and makes every role created after this call carry it. Call before any role
 * is created. Also moves SST's function code under the stage's own prefix of the asset bucket, so the
 * deploy role writes only keys of this app and stage there.
 */
export function applyPermissionsBoundary(
  name: string,
  arns: StageArns,
  home: { readonly accountId: $util.Input<string>; readonly partition: $util.Input<string> },
): aws.iam.Policy {
  const boundary = new aws.iam.Policy('PermissionsBoundary', {
    name,
    description: `Permissions boundary of every role of ${$app.name} stage ${$app.stage}: the most any of them may do`,
    policy: boundaryDocument(arns, home),
  });
  $transform(aws.iam.Role, (args, _opts, logicalName) => {
    if (logicalName === DEPLOY_ROLE_LOGICAL_NAME) return;
    args.permissionsBoundary = boundary.arn;
  });
  $transform(aws.s3.BucketObjectv2, (args) => {
    // SST keys function code assets/<Component>-code-<hash>.zip, the same for every app.
    const key = args.key;
    if (key === undefined) return;
    args.key = $output(key).apply((k) => (k.startsWith('assets/') ? `${assetKeyPrefix($app.name, $app.stage)}${k.slice('assets/'.length)}` : k));
  });
  return boundary;
}
