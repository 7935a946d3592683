/**
 * Vended log delivery is configured by Step Functions on the caller's behalf; these actions do not
 * support resource-level permissions, so AWS requires Resource "*" (Step Functions developer guide,
 * "IAM policies for logging to CloudWatch Logs"). The state machine's role holds them, and the deploy
 * role too (stacks/pipeline.ts), which sets the delivery up.
 */
export const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];
