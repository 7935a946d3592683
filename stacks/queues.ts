/**
 * The queues: the master queue and its DLQ, the dispatch DLQ (messages no region would take, with the
 * reason), and per region a work queue with its own DLQ, created in that region through its provider.
 * Every queue is created by `queue()` below, which gives it the two security properties each one has
 * (docs/deploy.md, Security):
 * - encryption at rest with SQS-managed keys (SSE-SQS): no KMS key policy to keep in step with the
 *   roles, no kms:* permission for the functions, the state machine or the workers, no KMS charge per
 *   data key. SSE-KMS with the AWS managed key aws/sqs would add those, and its key policy cannot be
 *   edited, so it would keep out no one whom the queues' IAM does not already keep out;
 * - a queue policy that denies any request not made over TLS (stacks/policies.ts), created in the
 *   queue's region through the same provider.
 */
import { MAX_RECEIVE_COUNT, TIMEOUTS, type resourceNames } from '../core/topology.js';
import { tlsOnlyQueuePolicy } from './policies.js';
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

type QueueArgs = Omit<aws.sqs.QueueArgs, 'sqsManagedSseEnabled' | 'kmsMasterKeyId' | 'policy'>;

/** A queue encrypted with SSE-SQS and its TLS-only policy, both in the region `opts` places them. */
function queue(logicalName: string, args: QueueArgs, opts: { readonly provider?: aws.Provider } = {}): aws.sqs.Queue {
  const created = new aws.sqs.Queue(logicalName, { ...args, sqsManagedSseEnabled: true }, opts);
  tlsOnlyQueuePolicy(logicalName, created, opts);
  return created;
}

function redrive(deadLetter: aws.sqs.Queue) {
  return $jsonStringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: MAX_RECEIVE_COUNT });
}

export function createQueues(names: Names, regions: readonly DeployRegion[]): Queues {
  const masterDeadLetter = queue('MasterDeadLetterQueue', {
    name: names.masterDeadLetterQueue,
    messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
  });
  const master = queue('MasterQueue', {
    name: names.masterQueue,
    // >= 6 x the intake timeout (AWS advice for SQS event sources), so a batch still being
    // processed is not delivered again.
    visibilityTimeoutSeconds: TIMEOUTS.masterVisibilitySeconds,
    messageRetentionSeconds: MASTER_RETENTION_SECONDS,
    redrivePolicy: redrive(masterDeadLetter),
  });
  const dispatchDeadLetter = queue('DispatchDeadLetterQueue', {
    name: names.dispatchDeadLetterQueue,
    messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
  });

  const regional = regions.map((deployRegion) => {
    const { region, pascal, opts } = deployRegion;
    const deadLetterQueue = queue(
      `RegionalDeadLetterQueue${pascal}`,
      {
        name: names.regionalDeadLetterQueue(region),
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
      },
      opts,
    );
    const work = queue(
      `RegionalQueue${pascal}`,
      {
        name: names.regionalQueue(region),
        // Seed values: an inference job may hold a message for up to an hour; a backlog may wait 14 days.
        visibilityTimeoutSeconds: TIMEOUTS.regionalVisibilitySeconds,
        messageRetentionSeconds: TIMEOUTS.regionalRetentionSeconds,
        // A job that crashes its worker 3 times is parked instead of poisoning the region.
        redrivePolicy: redrive(deadLetterQueue),
      },
      opts,
    );
    return { region, capacity: deployRegion.capacity, queue: work, deadLetterQueue, deployRegion };
  });

  return { master, masterDeadLetter, dispatchDeadLetter, regional };
}
