/**
 * The Target of a running local stack, from its description (the stack file `up` writes, or the stack
 * a test starts): its resource names, and clients on its local servers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS } from '../local/resources.js';
import type { StackDescription } from '../local/stack.js';
import { memo, once } from './lazy.js';
import type { Target } from './target.js';

export function localStackTarget(stack: StackDescription): Target {
  const sqs = memo(
    (region) =>
      new SQSClient({ region, endpoint: stack.endpoints.sqs[region] ?? stack.endpoints.sqs[stack.homeRegion], credentials: LOCAL_CREDENTIALS }),
  );
  const local = { region: stack.homeRegion, credentials: LOCAL_CREDENTIALS };
  return {
    kind: 'local',
    description: `local stack (pid ${stack.pid})`,
    homeRegion: stack.homeRegion,
    masterQueueUrl: stack.masterQueueUrl,
    masterDeadLetterQueueUrl: stack.masterDeadLetterQueueUrl,
    dispatchDeadLetterQueueUrl: stack.dispatchDeadLetterQueueUrl,
    tableName: stack.tableName,
    stateMachineArn: stack.stateMachineArn,
    regions: stack.regions.map((r) => ({
      region: r.region,
      queueUrl: r.queueUrl,
      ...(r.highQueueUrl ? { highQueueUrl: r.highQueueUrl } : {}),
      ...(r.deadLetterQueueUrl ? { deadLetterQueueUrl: r.deadLetterQueueUrl } : {}),
      ...(r.highDeadLetterQueueUrl ? { highDeadLetterQueueUrl: r.highDeadLetterQueueUrl } : {}),
    })),
    ...(stack.masterHighQueueUrl ? { masterHighQueueUrl: stack.masterHighQueueUrl } : {}),
    ...(stack.masterHighDeadLetterQueueUrl ? { masterHighDeadLetterQueueUrl: stack.masterHighDeadLetterQueueUrl } : {}),
    capacities: Object.fromEntries(stack.regions.map((r) => [r.region, r.capacity])),
    sqs,
    dynamo: once(() => new DynamoDBClient({ ...local, endpoint: stack.endpoints.dynamodb })),
    sfn: once(() => new SFNClient({ ...local, endpoint: stack.endpoints.stepFunctions, disableHostPrefix: true })),
  };
}
