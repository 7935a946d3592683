/**
 * The dispatch state machine: EXPRESS, its definition produced by workflows/dispatch.ts from the
 * deployed ARNs (the same function the tests execute locally), every execution logged with its data
 * (Express executions have no history API: the log group is where they are inspected), X-Ray on.
 * Its role may do exactly what the definition's Tasks call, plus what AWS requires for logging and tracing.
 */
import { assertDispatchBudget } from '../workflows/budget.js';
import { dispatchDefinition } from '../workflows/dispatch.js';
import type { resourceNames } from '../core/topology.js';
import type { HomeContext } from './context.js';
import { LOG_DELIVERY_ACTIONS } from './log-delivery.js';
import { roleName } from './role-names.js';
import { LOG_RETENTION_DAYS, stateMachineLogging } from './settings.js';

type Names = ReturnType<typeof resourceNames>;

/** X-Ray tracing of a state machine (Step Functions developer guide); X-Ray requires Resource "*". */
export const STATE_MACHINE_XRAY_ACTIONS = [
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
];

/**
 * Keys of the table's items that are not requests (core/record.ts: '#' cannot start a request_id,
 * which core/request.ts limits to letters, digits and . _ : -).
 */
export const INTERNAL_ITEM_KEYS = '#*';

export interface StateMachineArgs {
  readonly names: Names;
  readonly regions: readonly string[];
  readonly functions: { readonly snapshot: sst.aws.Function; readonly select: sst.aws.Function; readonly forward: sst.aws.Function };
  readonly table: aws.dynamodb.Table;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly home: HomeContext;
}

export interface DispatchStateMachine {
  readonly stateMachine: aws.sfn.StateMachine;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly role: aws.iam.Role;
}

export function createStateMachine(args: StateMachineArgs): DispatchStateMachine {
  const { names, functions, table, deadLetterQueue, home } = args;

  const logGroup = new aws.cloudwatch.LogGroup('DispatchLogGroup', {
    // The /aws/vendedlogs/ prefix keeps the account's CloudWatch Logs resource policy small (AWS advice).
    name: `/aws/vendedlogs/states/${names.stateMachine}`,
    retentionInDays: LOG_RETENTION_DAYS,
  });

  const role = new aws.iam.Role('DispatchStateMachineRole', {
    // Exact, like the functions' roles: the deploy role names each role it may manage.
    name: roleName('state-machine'),
    assumeRolePolicy: $jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'states.amazonaws.com' },
          Action: 'sts:AssumeRole',
          // Only Step Functions acting for this account may assume it (confused-deputy guard).
          Condition: { StringEquals: { 'aws:SourceAccount': home.accountId } },
        },
      ],
    }),
  });

  const policy = new aws.iam.RolePolicy('DispatchStateMachinePolicy', {
    role: role.id,
    policy: $jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'InvokeTaskFunctions',
          Effect: 'Allow',
          Action: ['lambda:InvokeFunction'],
          Resource: [functions.snapshot.arn, functions.select.arn, functions.forward.arn],
        },
        {
          Sid: 'IdempotencyRecords',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: [table.arn],
        },
        {
          // The workflow reads and writes request records only, keyed by request_id, which never starts
          // with '#'; the table's other items (health, capacities, intake markers) are the functions'.
          Sid: 'NoInternalItems',
          Effect: 'Deny',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: [table.arn],
          Condition: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': [INTERNAL_ITEM_KEYS] } },
        },
        {
          Sid: 'DeadLetter',
          Effect: 'Allow',
          Action: ['sqs:SendMessage'],
          Resource: [deadLetterQueue.arn],
        },
        { Sid: 'LogDeliveryRequiresStar', Effect: 'Allow', Action: LOG_DELIVERY_ACTIONS, Resource: ['*'] },
        { Sid: 'XRayRequiresStar', Effect: 'Allow', Action: STATE_MACHINE_XRAY_ACTIONS, Resource: ['*'] },
      ],
    }),
  });

  const definition = $resolve([
    functions.snapshot.arn,
    functions.select.arn,
    functions.forward.arn,
    table.name,
    deadLetterQueue.url,
  ]).apply(([snapshot, select, forward, tableName, deadLetterQueueUrl]) => {
    const built = dispatchDefinition({
      regions: args.regions,
      functions: { snapshot, select, forward },
      tableName,
      deadLetterQueueUrl,
    });
    // A definition whose worst case breaks the time budget is not deployed (workflows/time-budget.ts).
    assertDispatchBudget(built);
    return JSON.stringify(built);
  });

  const stateMachine = new aws.sfn.StateMachine(
    'DispatchStateMachine',
    {
      name: names.stateMachine,
      type: 'EXPRESS',
      roleArn: role.arn,
      definition,
      loggingConfiguration: {
        ...stateMachineLogging($app.stage),
        logDestination: $interpolate`${logGroup.arn}:*`,
      },
      tracingConfiguration: { enabled: true },
    },
    // Creation checks that the role may deliver logs: the policy must be in place first.
    { dependsOn: [policy] },
  );

  return { stateMachine, logGroup, role };
}
