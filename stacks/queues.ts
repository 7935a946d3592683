/**
 * The queues: the master queue and its DLQ, the dispatch DLQ (messages no region would take, with the
 * reason), and per region a work queue with its own DLQ, created in that region through its provider.
 * The master queue and every region's work queue have a high-priority lane beside them, each with its
 * own DLQ and the same settings (core/lanes.ts, docs/lanes.md).
 * Every queue is created by `queue()` below, which gives it the two security properties each one has
 * (docs/deploy.md, Security):
 * - encryption at rest with SQS-managed keys (SSE-SQS): no KMS key policy to keep in step with the
 *   roles, no kms:* permission for the functions, the state machine or the workers, no KMS charge per
 *   data key. SSE-KMS with the AWS managed key aws/sqs would add those, and its key policy cannot be
 *   edited, so it would keep out no one whom the queues' IAM does not already keep out;
 * - a queue policy that denies any request not made over TLS (stacks/policies.ts), created in the
 *   queue's region through the same provider.
 */
import { MAX_RECEIVE_COUNT, RETENTION, TIMEOUTS, type resourceNames } from '../core/topology.js';
import type { QueueRetention } from '../workflows/lifetime.js';
import { tlsOnlyQueuePolicy } from './policies.js';
import { SST_DEV_MASTER_QUEUE } from './settings.js';
import type { DeployRegion } from './regions.js';

type Names = ReturnType<typeof resourceNames>;

/** SQS maximum. A DLQ keeps its messages longer than its source queue (AWS advice). */
const DEAD_LETTER_RETENTION_SECONDS = RETENTION.deadLetterSeconds;
/** SQS default, stated: a request nobody takes in 4 days has long gone to the master DLQ. */
const MASTER_RETENTION_SECONDS = RETENTION.masterSeconds;

export interface RegionalQueue {
  readonly region: string;
  readonly capacity: number;
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;
  /** The region's high-priority lane and its DLQ. */
  readonly highQueue: aws.sqs.Queue;
  readonly highDeadLetterQueue: aws.sqs.Queue;
  readonly deployRegion: DeployRegion;
}

export interface Queues {
  readonly master: aws.sqs.Queue;
  readonly masterDeadLetter: aws.sqs.Queue;
  /** The master queue's high-priority lane (the intake subscribes to both) and its DLQ. */
  readonly masterHigh: aws.sqs.Queue;
  readonly masterHighDeadLetter: aws.sqs.Queue;
  readonly dispatchDeadLetter: aws.sqs.Queue;
  readonly regional: readonly RegionalQueue[];
  /** Every queue above by name with its retention: what a record must outlive (workflows/lifetime.ts). */
  readonly retentions: readonly QueueRetention[];
}

type QueueArgs = Omit<aws.sqs.QueueArgs, 'sqsManagedSseEnabled' | 'kmsMasterKeyId' | 'policy'>;

/** A queue encrypted with SSE-SQS and its TLS-only policy, both in the region `opts` places them. */
function queue(logicalName: string, args: QueueArgs, opts: { readonly provider?: aws.Provider } = {}): aws.sqs.Queue {
  const created = new aws.sqs.Queue(logicalName, { ...args, sqsManagedSseEnabled: true }, opts);
  tlsOnlyQueuePolicy(logicalName, created, opts);
  return created;
}

function redrive(deadLetter: aws.sqs.Queue, maxReceiveCount = MAX_RECEIVE_COUNT) {
  return $jsonStringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount });
}

/**
 * The master queue's retention and receive limit: as deployed, or under `sst dev` (stacks/settings.ts
 * SST_DEV_MASTER_QUEUE) more receives than its retention allows, so a stopped `sst dev` never moves a
 * message to the master DLQ.
 */
export function masterQueueLimits(dev: boolean) {
  if (!dev) return { retentionSeconds: MASTER_RETENTION_SECONDS, maxReceiveCount: MAX_RECEIVE_COUNT };
  const retentionSeconds = SST_DEV_MASTER_QUEUE.retentionSeconds;
  return { retentionSeconds, maxReceiveCount: Math.ceil(retentionSeconds / TIMEOUTS.masterVisibilitySeconds) + 1 };
}

export function createQueues(names: Names, regions: readonly DeployRegion[]): Queues {
  const limits = masterQueueLimits($dev);
  // Each queue's retention as deployed, for the record lifetime check (stacks/table.ts).
  const retentions: QueueRetention[] = [];
  const kept = (name: string, seconds: number) => {
    retentions.push({ queue: name, seconds });
    return seconds;
  };
  const masterLane = (logical: string, name: string, deadLetterName: string) => {
    const deadLetter = queue(`${logical}DeadLetterQueue`, { name: deadLetterName, messageRetentionSeconds: kept(deadLetterName, DEAD_LETTER_RETENTION_SECONDS) });
    const work = queue(`${logical}Queue`, {
      name,
      // >= 6 x the intake timeout (AWS advice for SQS event sources), so a batch still being
      // processed is not delivered again.
      visibilityTimeoutSeconds: TIMEOUTS.masterVisibilitySeconds,
      messageRetentionSeconds: kept(name, limits.retentionSeconds),
      redrivePolicy: redrive(deadLetter, limits.maxReceiveCount),
    });
    return { work, deadLetter };
  };
  const { work: master, deadLetter: masterDeadLetter } = masterLane('Master', names.masterQueue, names.masterDeadLetterQueue);
  const { work: masterHigh, deadLetter: masterHighDeadLetter } = masterLane('MasterHigh', names.masterHighQueue, names.masterHighDeadLetterQueue);
  const dispatchDeadLetter = queue('DispatchDeadLetterQueue', {
    name: names.dispatchDeadLetterQueue,
    messageRetentionSeconds: kept(names.dispatchDeadLetterQueue, DEAD_LETTER_RETENTION_SECONDS),
  });

  const regional = regions.map((deployRegion) => {
    const { region, pascal, opts } = deployRegion;
    const lane = (logical: string, name: string, deadLetterName: string) => {
      const deadLetterQueue = queue(
        `${logical}DeadLetterQueue${pascal}`,
        { name: deadLetterName, messageRetentionSeconds: kept(deadLetterName, DEAD_LETTER_RETENTION_SECONDS) },
        opts,
      );
      const work = queue(
        `${logical}Queue${pascal}`,
        {
          name,
          // Seed values: an inference job may hold a message for up to an hour; a backlog may wait 14 days.
          visibilityTimeoutSeconds: TIMEOUTS.regionalVisibilitySeconds,
          messageRetentionSeconds: kept(name, RETENTION.regionalSeconds),
          // A job that crashes its worker 3 times is parked instead of poisoning the region.
          redrivePolicy: redrive(deadLetterQueue),
        },
        opts,
      );
      return { work, deadLetterQueue };
    };
    const normal = lane('Regional', names.regionalQueue(region), names.regionalDeadLetterQueue(region));
    const high = lane('RegionalHigh', names.regionalHighQueue(region), names.regionalHighDeadLetterQueue(region));
    return {
      region,
      capacity: deployRegion.capacity,
      queue: normal.work,
      deadLetterQueue: normal.deadLetterQueue,
      highQueue: high.work,
      highDeadLetterQueue: high.deadLetterQueue,
      deployRegion,
    };
  });

  return { master, masterDeadLetter, masterHigh, masterHighDeadLetter, dispatchDeadLetter, regional, retentions };
}
