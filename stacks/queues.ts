/**
 * The queues: the master queue and its DLQ, the dispatch DLQ (messages no region would take, with the
 * reason), and per region a work queue with its own DLQ, created in that region through its provider.
 * All are encrypted at rest with SQS-managed keys (SSE-SQS): no KMS key policy to keep in step with
 * the roles, and no kms:* permission needed by the functions or the state machine.
 */
import { MAX_RECEIVE_COUNT, TIMEOUTS, type resourceNames } from '../core/topology.js';
import type { DeployRegion } from './regions.js';

type Names = ReturnType<typeof resourceNames>;

const DAY = 24 * 3600;
/** SQS maximum. A DLQ keeps its messages longer than its source queue (AWS advice). */
const DEAD_LETTER_RETENTION_SECONDS = 14 * DAY;
/** SQS default, stated: a request nobody takes in 4 days has long gone to the master DLQ. */
const MASTER_RETENTION_SECONDS = 4 * DAY;

export interface RegionalQueue {
  readonly region: string;
  readonly capacity: number;
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly deployRegion: DeployRegion;
}

export interface Queues {
  readonly master: aws.sqs.Queue;
  readonly masterDeadLetter: aws.sqs.Queue;
  readonly dispatchDeadLetter: aws.sqs.Queue;
  readonly regional: readonly RegionalQueue[];
}

function redrive(deadLetter: aws.sqs.Queue) {
  return $jsonStringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: MAX_RECEIVE_COUNT });
}

export function createQueues(names: Names, regions: readonly DeployRegion[]): Queues {
  const masterDeadLetter = new aws.sqs.Queue('MasterDeadLetterQueue', {
    name: names.masterDeadLetterQueue,
    messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
    sqsManagedSseEnabled: true,
  });
  const master = new aws.sqs.Queue('MasterQueue', {
    name: names.masterQueue,
    // >= 6 x the intake timeout (AWS advice for SQS event sources), so a batch still being
    // processed is not delivered again.
    visibilityTimeoutSeconds: TIMEOUTS.masterVisibilitySeconds,
    messageRetentionSeconds: MASTER_RETENTION_SECONDS,
    sqsManagedSseEnabled: true,
    redrivePolicy: redrive(masterDeadLetter),
  });
  const dispatchDeadLetter = new aws.sqs.Queue('DispatchDeadLetterQueue', {
    name: names.dispatchDeadLetterQueue,
    messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
    sqsManagedSseEnabled: true,
  });

  const regional = regions.map((deployRegion) => {
    const { region, pascal, opts } = deployRegion;
    const deadLetterQueue = new aws.sqs.Queue(
      `RegionalDeadLetterQueue${pascal}`,
      {
        name: names.regionalDeadLetterQueue(region),
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
        sqsManagedSseEnabled: true,
      },
      opts,
    );
    const queue = new aws.sqs.Queue(
      `RegionalQueue${pascal}`,
      {
        name: names.regionalQueue(region),
        // Seed values: an inference job may hold a message for up to an hour; a backlog may wait 14 days.
        visibilityTimeoutSeconds: TIMEOUTS.regionalVisibilitySeconds,
        messageRetentionSeconds: TIMEOUTS.regionalRetentionSeconds,
        sqsManagedSseEnabled: true,
        // A job that crashes its worker 3 times is parked instead of poisoning the region.
        redrivePolicy: redrive(deadLetterQueue),
      },
      opts,
    );
    return { region, capacity: deployRegion.capacity, queue, deadLetterQueue, deployRegion };
  });

  return { master, masterDeadLetter, dispatchDeadLetter, regional };
}
