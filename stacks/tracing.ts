/**
 * X-Ray sampling of the dispatch, as code: one sampling rule for the state machine, with no reservoir
 * and a low fixed rate (stacks/settings.ts TRACE_SAMPLING, where the cost is worked out).
 *
 * Sampling is decided once, where a trace starts, and every service downstream follows the decision it
 * receives (X-Ray developer guide, "Configuring sampling rules"). Step Functions applies sampling rules
 * to an execution started without a decision; the execution passes its decision on to the task
 * functions (snapshot, select, forward: Active tracing), whose captured SDK clients (functions/tracing.ts)
 * then show each region's SendMessageBatch with its latency.
 *
 * The rule decides only for executions the intake starts without a decision. An intake in Active mode
 * makes its own (Lambda's fixed 1 a second plus 5%, which sampling rules cannot change) and the SDK
 * passes it on to StartSyncExecution; in PassThrough mode it passes only the trace id of an untraced
 * message, and the state machine decides by this rule.
 */
import { createHash } from 'node:crypto';
import { TRACE_SAMPLING } from './settings.js';

/** X-Ray's limit on a sampling rule's name. */
export const SAMPLING_RULE_NAME_MAX = 32;

/** The state machine's name when it fits X-Ray's 32 characters; otherwise cut, with a hash of the whole. */
export function samplingRuleName(stateMachineName: string): string {
  if (stateMachineName.length <= SAMPLING_RULE_NAME_MAX) return stateMachineName;
  const hash = createHash('sha256').update(stateMachineName).digest('hex').slice(0, 8);
  return `${stateMachineName.slice(0, SAMPLING_RULE_NAME_MAX - hash.length - 1)}-${hash}`;
}

export function createSamplingRule(stateMachineName: string): aws.xray.SamplingRule {
  return new aws.xray.SamplingRule('DispatchSamplingRule', {
    ruleName: samplingRuleName(stateMachineName),
    priority: TRACE_SAMPLING.priority,
    version: 1,
    reservoirSize: TRACE_SAMPLING.reservoirPerSecond,
    fixedRate: TRACE_SAMPLING.fixedRate,
    // The state machine's executions, whatever their request attributes.
    serviceName: stateMachineName,
    serviceType: '*',
    resourceArn: '*',
    host: '*',
    httpMethod: '*',
    urlPath: '*',
  });
}
