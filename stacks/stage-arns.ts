/**
 * The stage's resources by exact ARN, from the names in core/topology.ts, written before any of them
 * exists: the deploy role (stacks/deploy-role.ts), the permissions boundary (stacks/permissions-boundary.ts)
 * and the alarm keys (stacks/alarm-keys.ts) are scoped with them. No wildcard that a stage named
 * "production-eu", or an app named "inference-dispatch-eu", could also match; the two named exceptions
 * are log streams (named by Lambda at run time) and SST's own buckets, whose names SST chooses when it
 * bootstraps the account (their keys are exact: sstStateKeys below).
 */
import { HOME_REGION, QUEUE_ALARM_KINDS, resourceNames } from '../core/topology.js';
import type { HomeContext } from './context.js';
import { FUNCTION_ROLES } from './functions.js';
import { HOME_ALARMS } from './monitoring.js';
import { boundaryName, deployPolicyNames, roleName } from './role-names.js';
import { samplingRuleName } from './tracing.js';

/**
 * SST's own records of this app and stage in its state bucket, as SST v4 writes them
 * (pkg/project/provider/aws.go, pathForData: <kind>/<app>/<stage>.json, and <kind>/<app>/<stage>/<update>.json
 * for the history kinds), and its parameters in SSM (pathForPassphrase: /sst/passphrase/<app>/<stage>;
 * the account's bootstrap record /sst/bootstrap, which names the buckets).
 */
export function sstStateKeys(app: string, stage: string) {
  return {
    /** Read and written by every deploy: the state, its lock. */
    current: [`app/${app}/${stage}.json`, `lock/${app}/${stage}.json`],
    /** One object per update: history SST writes and prunes. */
    history: ['update', 'summary', 'snapshot', 'eventlog'].map((kind) => `${kind}/${app}/${stage}/*`),
    /** Read only: the stage's secrets, and the app's fallback secrets that every stage reads. */
    secrets: [`secret/${app}/${stage}.json`, `secret/${app}/_fallback.json`],
    passphraseParameter: `/sst/passphrase/${app}/${stage}`,
    bootstrapParameter: '/sst/bootstrap',
  };
}

/**
 * Where this stage's function code goes in SST's asset bucket: SST writes assets/<Component>-code-<hash>.zip,
 * the same key for every app with a component of that name, so the stage moves it under its own prefix
 * (stacks/permissions-boundary.ts, the transform of aws.s3.BucketObjectv2).
 */
export const assetKeyPrefix = (app: string, stage: string) => `assets/${app}/${stage}/`;

export function stageArns(app: string, stage: string, home: HomeContext, regions: readonly string[]) {
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
  const iam = (kind: 'role' | 'policy', name: string) => $interpolate`arn:${home.partition}:iam::${home.accountId}:${kind}/${name}`;
  const functionLogGroup = (fn: string) => arn('logs', home.region, `log-group:/aws/lambda/${fn}`);
  const state = sstStateKeys(app, stage);
  return {
    sqs: regions.flatMap((region) => queuesIn(region).map((queue) => arn('sqs', region, queue))),
    dynamodb: [arn('dynamodb', home.region, `table/${names.idempotencyTable}`)],
    lambda: functions.map((fn) => arn('lambda', home.region, `function:${fn}`)),
    states: [arn('states', home.region, `stateMachine:${names.stateMachine}`)],
    logs: [
      ...functions.flatMap((fn) => [functionLogGroup(fn), $interpolate`${functionLogGroup(fn)}:*`]),
      arn('logs', home.region, `log-group:/aws/vendedlogs/states/${names.stateMachine}`),
      arn('logs', home.region, `log-group:/aws/vendedlogs/states/${names.stateMachine}:*`),
    ],
    /** The streams of the functions' own log groups (what the functions write). */
    functionLogStreams: functions.map((fn) => $interpolate`${functionLogGroup(fn)}:*`),
    cloudwatch: [
      ...regions.flatMap((region) => alarmsIn(region).map((alarm) => arn('cloudwatch', region, `alarm:${alarm}`))),
      $interpolate`arn:${home.partition}:cloudwatch::${home.accountId}:dashboard/${names.dashboard}`,
    ],
    /** The alarms of one region: the only sources its alarm key serves. */
    alarmsIn: (region: string) => alarmsIn(region).map((alarm) => arn('cloudwatch', region, `alarm:${alarm}`)),
    sns: regions.map((region) => arn('sns', region, names.alarmTopic)),
    xray: [arn('xray', home.region, `sampling-rule/${samplingRuleName(names.stateMachine)}`)],
    ssm: [arn('ssm', home.region, `parameter${names.outputsParameter}`)],
    roles: {
      functions: FUNCTION_ROLES.map((role) => iam('role', roleName(role, stage, app))),
      stateMachine: iam('role', roleName('state-machine', stage, app)),
      deploy: iam('role', roleName('deploy', stage, app)),
    },
    boundary: iam('policy', boundaryName(stage, app)),
    /** The managed policies that hold the deploy role's statements. */
    deployPolicies: deployPolicyNames(stage, app).map((name) => iam('policy', name)),
    /** SST's state bucket (named when SST bootstrapped the account): this app's and stage's keys only. */
    sstState: {
      bucket: $interpolate`arn:${home.partition}:s3:::sst-state-*`,
      readWrite: [...state.current, ...state.history].map((key) => $interpolate`arn:${home.partition}:s3:::sst-state-*/${key}`),
      read: state.secrets.map((key) => $interpolate`arn:${home.partition}:s3:::sst-state-*/${key}`),
      listPrefixes: [...state.current, ...state.history],
    },
    /** SST's asset bucket: the stage's function code, and the functions' source maps (keyed by log group). */
    sstAssets: [
      $interpolate`arn:${home.partition}:s3:::sst-asset-*/${assetKeyPrefix(app, stage)}*`,
      ...functions.map((fn) => $interpolate`arn:${home.partition}:s3:::sst-asset-*/sourcemap/${functionLogGroup(fn)}/*`),
    ],
    sstParameters: [arn('ssm', home.region, `parameter${state.passphraseParameter}`), arn('ssm', home.region, `parameter${state.bootstrapParameter}`)],
  };
}

export type StageArns = ReturnType<typeof stageArns>;
