/**
 * What an operation talks to: a deployment's resource names and a client per service, made on first
 * use. The CLI finds one (tools/cli/target.ts: the local stack, or a deployed stage); ops/local-target.ts
 * makes one from a local stack's description; the console builds only the part its operations need
 * (console/queues.ts consoleDeps). Each operation asks for the part it needs (a Pick of this).
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';

export interface Target {
  readonly kind: 'local' | 'aws';
  readonly description: string;
  readonly homeRegion: string;
  readonly masterQueueUrl?: string;
  readonly masterDeadLetterQueueUrl?: string;
  readonly dispatchDeadLetterQueueUrl?: string;
  readonly tableName?: string;
  readonly stateMachineArn?: string;
  readonly logGroupName?: string;
  /** Both lanes (core/lanes.ts): the high lane where the stack or stage has one; their DLQs where known. */
  readonly regions: ReadonlyArray<{ region: string; queueUrl: string; highQueueUrl?: string; deadLetterQueueUrl?: string; highDeadLetterQueueUrl?: string }>;
  /** The master queue's high lane: where high-priority requests are sent; and its DLQ. */
  readonly masterHighQueueUrl?: string;
  readonly masterHighDeadLetterQueueUrl?: string;
  /**
   * Each region's configured capacity, as the functions are configured (the local stack's regions, a
   * stage's REGION_QUEUES); absent when the target does not say.
   */
  readonly capacities?: Readonly<Record<string, number>>;
  sqs(region: string): SQSClient;
  dynamo(): DynamoDBClient;
  sfn(): SFNClient;
  /** AWS only: the state machine's log group holds Express executions. */
  logs?(): CloudWatchLogsClient;
  /** AWS only: each region's alarm topic; every alarm of the stage notifies its own region's (stacks/monitoring.ts). */
  readonly alarmTopicArns?: Readonly<Record<string, string>>;
  /** AWS only: CloudWatch in a region (the stage's alarms). */
  cloudwatch?(region: string): CloudWatchClient;
}

/** The target lacks what an operation needs (a queue URL, the table), or could not be found at all. */
export class TargetError extends Error {
  override name = 'TargetError';
}
