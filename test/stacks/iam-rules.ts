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
