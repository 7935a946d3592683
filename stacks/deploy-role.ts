/**
 * The role the CI/CD pipeline (.github/workflows/ci.yml) deploys with: assumed with the workflow's
 * GitHub OIDC token (no long-lived key anywhere), trusted for one repository's `production` environment
 * only, and allowed to manage this app's resources of this stage only (names start with the app's and
 * the stage's). Created with the pipeline's stage; the first deployment of that stage is made by a person
 * with administrator rights, every later one by the pipeline.
 */
import { resourceNames } from '../core/topology.js';
import type { HomeContext } from './context.js';
import { AWS_REQUIRES_STAR_FOR_DEPLOY, DEPLOY_ACTIONS, PIPELINE } from './pipeline.js';

export { AWS_REQUIRES_STAR_FOR_DEPLOY, DEPLOY_ACTIONS, PIPELINE };

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
    xray: [arn('xray', home.region, `sampling-rule/inference-*-${stage}*`)],
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
