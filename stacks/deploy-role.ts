/**
 * The role the CI/CD pipeline (.github/workflows/ci.yml) deploys with: assumed with the workflow's
 * GitHub OIDC token (no long-lived key anywhere), trusted for one repository's `production` environment
 * only, and allowed to manage this app's resources of this stage only (names start with the app's and
 * the stage's). Created with the pipeline's stage; the first deployment of that stage is made by a person
 * with administrator rights, every later one by the pipeline.
 */
import { HOME_REGION, QUEUE_ALARM_KINDS, resourceNames } from '../core/topology.js';
import { FUNCTION_ROLES } from './functions.js';
import { HOME_ALARMS } from './monitoring.js';
import { samplingRuleName } from './tracing.js';
import type { HomeContext } from './context.js';
import { AWS_REQUIRES_STAR_FOR_DEPLOY, DEPLOY_ACTIONS, PIPELINE } from './pipeline.js';

export { AWS_REQUIRES_STAR_FOR_DEPLOY, DEPLOY_ACTIONS, PIPELINE };

export interface DeployRole {
  readonly role: aws.iam.Role;
  readonly providerArn: $util.Input<string>;
}

/**
 * The stage's resources, by exact ARN (names from core/topology.ts): no wildcard that a stage named
 * "production-eu", or an app named "inference-dispatch-eu", could also match. Two exceptions, named:
 * the roles SST names <app>-<stage>-<component><hash> (a prefix is all that is known before deploying),
 * and log streams (named by Lambda at run time).
 */
function stageResources(app: string, stage: string, home: HomeContext, regions: readonly string[]) {
  const names = resourceNames(stage, app);
  const arn = (service: string, region: $util.Input<string>, rest: string) =>
    $interpolate`arn:${home.partition}:${service}:${region}:${home.accountId}:${rest}`;
  const queuesIn = (region: string) => [
    ...(region === HOME_REGION
      ? [names.masterQueue, names.masterDeadLetterQueue, names.masterHighQueue, names.masterHighDeadLetterQueue, names.dispatchDeadLetterQueue]
      : []),
    names.regionalQueue(region),
    names.regionalDeadLetterQueue(region),
    names.regionalHighQueue(region),
    names.regionalHighDeadLetterQueue(region),
  ];
  const functions = FUNCTION_ROLES.map((role) => names.function(role));
  const alarmsIn = (region: string) => [
    ...(region === HOME_REGION ? HOME_ALARMS.map((what) => names.alarm(what)) : []),
    ...queuesIn(region).flatMap((queue) => QUEUE_ALARM_KINDS.map((kind) => names.queueAlarm(queue, kind))),
  ];
  return {
    sqs: regions.flatMap((region) => queuesIn(region).map((queue) => arn('sqs', region, queue))),
    dynamodb: [arn('dynamodb', home.region, `table/${names.idempotencyTable}`)],
    lambda: functions.map((fn) => arn('lambda', home.region, `function:${fn}`)),
    // SST names its function roles <app>-<stage>-...; the state machine's role is named likewise.
    iam: [$interpolate`arn:${home.partition}:iam::${home.accountId}:role/${app}-${stage}-*`],
    states: [arn('states', home.region, `stateMachine:${names.stateMachine}`)],
    logs: [
      ...functions.flatMap((fn) => [arn('logs', home.region, `log-group:/aws/lambda/${fn}`), arn('logs', home.region, `log-group:/aws/lambda/${fn}:*`)]),
      arn('logs', home.region, `log-group:/aws/vendedlogs/states/${names.stateMachine}`),
      arn('logs', home.region, `log-group:/aws/vendedlogs/states/${names.stateMachine}:*`),
    ],
    cloudwatch: [
      ...regions.flatMap((region) => alarmsIn(region).map((alarm) => arn('cloudwatch', region, `alarm:${alarm}`))),
      $interpolate`arn:${home.partition}:cloudwatch::${home.accountId}:dashboard/${names.dashboard}`,
    ],
    sns: regions.map((region) => arn('sns', region, names.alarmTopic)),
    xray: [arn('xray', home.region, `sampling-rule/${samplingRuleName(names.stateMachine)}`)],
    ssm: [arn('ssm', home.region, `parameter${names.outputsParameter}`)],
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
  const resources = stageResources($app.name, $app.stage, home, regions);
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
