import type { Statement } from './harness/model.js';
import { actionMatches, everAllowed, globMatch, reaches } from './iam-eval.js';

/**
 * The only IAM actions this project grants on Resource "*": AWS offers no resource-level permission
 * for them. Written here independently of stacks/, so adding a wildcard there fails the tests.
 */
export const AWS_REQUIRES_STAR: ReadonlySet<string> = new Set([
  // X-Ray (Lambda active tracing, Step Functions tracing).
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  // Step Functions' vended log delivery to CloudWatch Logs.
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

/** A log group's streams: arn:aws:logs:<region>:<account>:log-group:<name>:* (stream names are chosen at run time). */
export const LOG_STREAMS_ARN = /^arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:[^*]+:\*$/;

/**
 * Resource policies (a queue's, the table's) follow their own rule, apart from the roles': they may hold
 * one statement only, the TLS-only Deny the SQS developer guide recommends ("Enforce encryption of data
 * in transit"): Deny, Principal "*", every action of the service, on the resource itself, when
 * aws:SecureTransport is false. Its wildcards are the point of it: a Deny of every action to every
 * caller over plain HTTP. No Allow: a resource policy here opens nothing to anyone.
 */
export const TLS_ONLY_DENY_ACTIONS: ReadonlyMap<string, string> = new Map([
  ['aws:sqs/queue:Queue', 'sqs:*'],
  ['aws:dynamodb/table:Table', 'dynamodb:*'],
]);
export const TLS_ONLY_CONDITION = { Bool: { 'aws:SecureTransport': 'false' } } as const;

/**
 * Read-only lookups and creations the deploy role makes that AWS offers on "*" only (the service
 * authorization reference lists no resource type for them), written here apart from stacks/pipeline.ts.
 */
export const DEPLOY_REQUIRES_STAR: ReadonlySet<string> = new Set([
  'sts:GetCallerIdentity',
  'xray:GetSamplingRules',
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
  'logs:DescribeLogGroups',
  'ssm:DescribeParameters',
  // A key has no ARN before it exists.
  'kms:CreateKey',
]);

/** Writes that change a role's own permissions or trust, checked on the role itself. */
export const ROLE_SELF_WRITES = [
  'iam:PutRolePolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:UpdateRole',
  'iam:DeleteRole',
  'iam:TagRole',
  'iam:UntagRole',
  'iam:PassRole',
] as const;

/** Writes that change a managed policy, checked on the role's boundary and on its attached policies. */
export const POLICY_WRITES = ['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicyVersion', 'iam:DeletePolicy'] as const;

/** What may only be allowed with an iam:PermissionsBoundary condition (AWS's delegation pattern). */
export const NEEDS_BOUNDARY = [
  'iam:CreateRole',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:CreateUser',
  'iam:PutUserPolicy',
  'iam:AttachUserPolicy',
  'iam:PutUserPermissionsBoundary',
  'iam:PutGroupPolicy',
  'iam:AttachGroupPolicy',
] as const;

/** Never allowed: removing a boundary is how a bounded role would leave it. */
export const NEVER_ALLOWED = ['iam:DeleteRolePermissionsBoundary', 'iam:DeleteUserPermissionsBoundary'] as const;

/** The services the stage's roles are passed to, written apart from stacks/pipeline.ts. */
export const PASSED_TO_SERVICES: ReadonlySet<string> = new Set(['lambda.amazonaws.com', 'states.amazonaws.com']);

export interface RoleUnderTest {
  readonly arn: string;
  readonly boundaryArn: string | undefined;
  readonly managedPolicyArns: readonly string[];
  readonly statements: readonly Statement[];
}

/** Every way a role's own statements let it change itself, its boundary or its managed policies. */
export function selfChanges(role: RoleUnderTest): string[] {
  const found: string[] = [];
  for (const action of ROLE_SELF_WRITES) {
    if (everAllowed(role.statements, action, role.arn)) found.push(`${action} on itself`);
  }
  for (const policy of [...(role.boundaryArn ? [role.boundaryArn] : []), ...role.managedPolicyArns]) {
    for (const action of POLICY_WRITES) {
      if (everAllowed(role.statements, action, policy)) found.push(`${action} on ${policy}`);
    }
  }
  return found;
}

const stringEqualsValues = (statement: Statement, key: string): string[] | undefined => {
  const condition = (statement.condition ?? {}) as Record<string, Record<string, string | string[]>>;
  const value = condition.StringEquals?.[key];
  return value === undefined ? undefined : typeof value === 'string' ? [value] : value;
};

/** Allow statements that let a role or user be created or its policies written without the boundary. */
export function boundaryGaps(statements: readonly Statement[], boundaryArn: string): string[] {
  return statements
    .filter((s) => s.effect === 'Allow')
    .flatMap((s) => {
      const gaps: string[] = [];
      for (const action of NEVER_ALLOWED) if (actionMatches(s, action)) gaps.push(`${s.sid ?? '?'}: allows ${action}`);
      const conditioned = stringEqualsValues(s, 'iam:PermissionsBoundary');
      const pinned = conditioned !== undefined && conditioned.length === 1 && conditioned[0] === boundaryArn;
      for (const action of NEEDS_BOUNDARY) {
        if (actionMatches(s, action) && !pinned) gaps.push(`${s.sid ?? '?'}: ${action} without iam:PermissionsBoundary = ${boundaryArn}`);
      }
      return gaps;
    });
}

/** Allow statements that pass roles without naming the services they may be passed to (or naming others). */
export function passRoleGaps(statements: readonly Statement[], services: ReadonlySet<string> = PASSED_TO_SERVICES): string[] {
  return statements
    .filter((s) => s.effect === 'Allow' && actionMatches(s, 'iam:PassRole'))
    .flatMap((s) => {
      const passedTo = stringEqualsValues(s, 'iam:PassedToService');
      if (!passedTo || passedTo.length === 0) return [`${s.sid ?? '?'}: iam:PassRole without iam:PassedToService`];
      return passedTo.filter((service) => !services.has(service)).map((service) => `${s.sid ?? '?'}: iam:PassRole to ${service}`);
    });
}

/**
 * Wildcards that reach another app's or another stage's resources: each Allow's resource patterns, and
 * the ARN patterns and S3 prefixes its conditions name, tried on the names the other synthesis made.
 */
export function foreignReach(statements: readonly Statement[], foreign: { readonly arns: readonly string[]; readonly stateKeys: readonly string[] }): string[] {
  const reached: string[] = [];
  for (const s of statements.filter((st) => st.effect === 'Allow')) {
    for (const pattern of s.resources.filter((r) => r !== '*' && r.includes('*'))) {
      for (const arn of foreign.arns) if (reaches(s, arn, pattern)) reached.push(`${s.sid ?? '?'}: ${pattern} matches ${arn}`);
    }
    const condition = (s.condition ?? {}) as Record<string, Record<string, string | string[]>>;
    for (const [operator, keys] of Object.entries(condition)) {
      for (const [key, value] of Object.entries(keys)) {
        const values = typeof value === 'string' ? [value] : value;
        if (key === 'aws:SourceArn' && /Like$/.test(operator)) {
          for (const pattern of values) for (const arn of foreign.arns) if (globMatch(pattern, arn)) reached.push(`${s.sid ?? '?'}: aws:SourceArn ${pattern} matches ${arn}`);
        }
        if (key === 's3:prefix') {
          for (const pattern of values) for (const stateKey of foreign.stateKeys) if (globMatch(pattern, stateKey)) reached.push(`${s.sid ?? '?'}: s3:prefix ${pattern} matches ${stateKey}`);
        }
      }
    }
  }
  return reached;
}

/** Roles that do not carry the boundary, but for those named (the deploy role: it deploys, administrators change it). */
export function rolesWithoutBoundary(
  roles: ReadonlyArray<{ readonly name: string; readonly inputs: Record<string, unknown> }>,
  boundaryArn: string,
  except: ReadonlySet<string>,
): string[] {
  return roles.filter((r) => !except.has(r.name) && r.inputs.permissionsBoundary !== boundaryArn).map((r) => r.name);
}

/**
 * A role's grants that its boundary does not allow: on AWS the role would be refused them. Each Allow's
 * (action, resource) pairs, tried on the boundary (its conditions taken as satisfiable).
 */
export function outsideBoundary(role: readonly Statement[], boundary: readonly Statement[]): string[] {
  return role
    .filter((s) => s.effect === 'Allow')
    .flatMap((s) => s.actions.flatMap((action) => s.resources.map((resource) => ({ action, resource }))))
    .filter(({ action, resource }) => !everAllowed(boundary, action, resource))
    .map(({ action, resource }) => `${action} on ${resource}`);
}
