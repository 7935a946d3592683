/** The dispatch definition for ARNs of a made-up account, for tests of the definition itself. */
import { dispatchDefinition, type Definition, type DispatchRefs } from '../../workflows/dispatch.js';

export const REGIONS = ['us-east-1', 'us-west-2', 'us-west-1'] as const;

export function testRefs(regions: readonly string[] = REGIONS): DispatchRefs {
  return {
    regions,
    functions: {
      snapshot: 'arn:aws:lambda:us-east-1:123456789012:function:snapshot',
      select: 'arn:aws:lambda:us-east-1:123456789012:function:select',
      forward: 'arn:aws:lambda:us-east-1:123456789012:function:forward',
    },
    tableName: 'inference-dispatch-idempotency-dev',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-dlq-dev',
  };
}

export const testDefinition = (regions: readonly string[] = REGIONS): Definition => dispatchDefinition(testRefs(regions));
