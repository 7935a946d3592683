/**
 * The four Lambda functions share one shape: Node 24 on arm64 (about 20% cheaper per GB-second than
 * x86 for the same work), JSON logs kept a month without Lambda's own per-call records, X-Ray active tracing, and a role that
 * holds exactly the permissions passed in plus writing to its own log group.
 */
import { resourceNames } from '../core/topology.js';
import { roleName } from './role-names.js';
import { FUNCTION_LOG_LEVELS, LIVE_IN_SST_DEV } from './settings.js';
import type { HomeContext } from './context.js';

export const FUNCTION_ROLES = ['intake', 'snapshot', 'select', 'forward'] as const;
export type FunctionRole = (typeof FUNCTION_ROLES)[number];

export interface DispatchFunctionArgs {
  readonly role: FunctionRole;
  readonly description: string;
  readonly memory: `${number} MB`;
  readonly timeoutSeconds: number;
  readonly environment: $util.Input<Record<string, $util.Input<string>>>;
  readonly permissions: readonly sst.aws.FunctionPermissionArgs[];
}

/**
 * X-Ray has no resource-level permissions: AWS requires Resource "*" for these two actions
 * (the same two that the AWSXrayWriteOnlyAccess managed policy grants on "*").
 */
export const XRAY_WRITE_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

const LAMBDA_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

export function functionName(role: FunctionRole): string {
  return resourceNames($app.stage, $app.name).function(role);
}

export function dispatchFunction(args: DispatchFunctionArgs, home: HomeContext): sst.aws.Function {
  const name = functionName(args.role);
  const logGroupArn = $interpolate`arn:${home.partition}:logs:${home.region}:${home.accountId}:log-group:/aws/lambda/${name}`;
  const logicalName = args.role.charAt(0).toUpperCase() + args.role.slice(1);
  return new sst.aws.Function(logicalName, {
    name,
    description: args.description,
    handler: `functions/${args.role}.handler`,
    // Under `sst dev`: live (run on the developer's machine) or deployed (stacks/settings.ts).
    ...(LIVE_IN_SST_DEV[args.role] ? {} : { dev: false as const }),
    runtime: 'nodejs24.x',
    architecture: 'arm64',
    memory: args.memory,
    timeout: `${args.timeoutSeconds} seconds`,
    environment: args.environment,
    logging: { format: 'json', retention: '1 month' },
    permissions: [
      ...args.permissions,
      // The log streams of this function's own log group (SST creates the group, named after the
      // function). Stream names are chosen by Lambda at run time, hence the ":*" after the group.
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [$interpolate`${logGroupArn}:*`] },
      { actions: XRAY_WRITE_ACTIONS, resources: ['*'] },
    ],
    transform: {
      role: (role) => {
        // An exact name (SST's carries a random suffix): the deploy role names each role it may manage.
        role.name = roleName(args.role);
        // SST attaches AWSLambdaBasicExecutionRole (logs:* actions on "*"); the statement above
        // grants the same, scoped to this function's log group.
        role.managedPolicyArns = [];
        // SST 4.17 lets the account root assume function roles even outside `sst dev` (its check
        // tests an Output for truth). Only `sst dev` needs that, to run the handlers locally as the role.
        if (!$dev) role.assumeRolePolicy = LAMBDA_TRUST_POLICY;
      },
      function: (fn) => {
        // The intake passes through the upstream sampling decision, so the sampling rule as code
        // (stacks/tracing.ts) decides which executions are traced; Active would sample there itself
        // (1 a second plus 5%) and hand that decision on to every execution.
        fn.tracingConfig = { mode: args.role === 'intake' ? 'PassThrough' : 'Active' };
        // SST sets the format and the group; the levels Lambda filters at are ours (stacks/settings.ts).
        fn.loggingConfig = $output(fn.loggingConfig).apply((config) => ({
          ...config,
          logFormat: 'JSON',
          systemLogLevel: FUNCTION_LOG_LEVELS.system,
        }));
      },
    },
  });
}
