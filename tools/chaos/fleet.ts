/**
 * The workers of a chaos run that report presence and steal (issue 20): the same simulated workers as the
 * stack's (tools/local/fleet/workers.ts, a fence per worker), started by the harness with `presence` and
 * `stealing` on, since the stack starts its workers with neither. Every call they make goes through the
 * fault proxies (each region's SQS, DynamoDB), as the stack's own workers' do, so that a fault meets
 * stolen copies, renewals and steal readings alike.
 *
 * The time scale (tools/chaos/harness.ts TIME_SCALE): presence renewed every 0.5 s and good for 4 s
 * (deployed 20 s and 60 s), steal readings at most every 0.3 s (deployed default 30 s).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { HOME_REGION } from '../../core/topology.js';
import { startWorkers, sumSteals, type WorkerCopy, type WorkerEvent, type Workers } from '../local/fleet/workers.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../local/resources.js';
import type { LocalStack, StackFaults } from '../local/stack.js';
import type { StealCounters } from '../../worker/stealing.js';

/** What the scenario asks of its fleet. */
export interface FleetSpec {
  /** Workers report presence (worker/presence.ts): the dispatcher weighs regions by their live workers. */
  readonly presence: boolean;
  /** Workers steal from every other region when their own lanes are empty (worker/stealing.ts). */
  readonly stealing: boolean;
  /** Processing time per message in these regions (the others: the scenario's `workers.secondsPerRequest`). */
  readonly secondsPerRequestIn?: Readonly<Record<string, number>>;
}

/** Presence and stealing at the chaos time scale. */
export interface FleetScale {
  readonly presenceHeartbeatSeconds: number;
  readonly presenceLeaseSeconds: number;
  readonly stealCheckSeconds: number;
  readonly fenceLeaseSeconds: number;
}

export interface ChaosFleet {
  readonly pools: Readonly<Record<string, Workers>>;
  /** Stealing counters over every pool (killed ones included). */
  steals(): StealCounters;
  /** Stops every pool still running (a killed one is already gone). */
  stop(): Promise<void>;
  /** Stops the pools and closes the clients. */
  close(): Promise<void>;
}

export interface FleetWorkers {
  readonly perRegion: number;
  readonly secondsPerRequest: number;
  readonly crash: (copy: WorkerCopy) => boolean;
  readonly onEvent: (event: WorkerEvent) => void;
}

export function startChaosFleet(stack: LocalStack & { readonly faults: StackFaults }, spec: FleetSpec, scale: FleetScale, workers: FleetWorkers): ChaosFleet {
  const d = stack.description;
  const sqs: Record<string, SQSClient> = {};
  for (const r of d.regions) sqs[r.region] = sqsAt(r.region, stack.faults.sqs[r.region]?.endpoint ?? (d.endpoints.sqs[r.region] as string));
  const dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: stack.faults.dynamodb.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
  const table = { tableName: d.tableName, client: dynamo };
  const pools: Record<string, Workers> = {};
  for (const r of d.regions) {
    const others = d.regions.filter((o) => o.region !== r.region);
    pools[r.region] = startWorkers({
      region: r.region,
      client: sqs[r.region] as SQSClient,
      queueUrl: r.queueUrl,
      ...(r.highQueueUrl ? { highQueueUrl: r.highQueueUrl } : {}),
      workers: workers.perRegion,
      secondsPerRequest: spec.secondsPerRequestIn?.[r.region] ?? workers.secondsPerRequest,
      fence: { ...table, leaseSeconds: scale.fenceLeaseSeconds },
      ...(spec.presence ? { presence: { ...table, heartbeatMs: scale.presenceHeartbeatSeconds * 1000, leaseMs: scale.presenceLeaseSeconds * 1000 } } : {}),
      ...(spec.stealing
        ? {
            stealing: {
              settings: { allowRegions: others.map((o) => o.region), checkEverySeconds: scale.stealCheckSeconds, minBacklogPerWorker: 0.5 },
              regions: others.map((o) => ({
                region: o.region,
                client: sqs[o.region] as SQSClient,
                queues: { normal: o.queueUrl, ...(o.highQueueUrl ? { high: o.highQueueUrl } : {}) },
              })),
              ...(spec.presence ? { presence: table } : {}),
            },
          }
        : {}),
      crash: workers.crash,
      onEvent: workers.onEvent,
      // Stopped only once the queues are idle (the harness's drain), as the stack's quickStop.
      abortReceivesOnStop: true,
    });
  }
  const stop = async () => {
    await Promise.all(Object.values(pools).map((p) => p.stop()));
  };
  return {
    pools,
    steals: () => sumSteals(Object.values(pools).map((p) => p.stealCounters())),
    stop,
    close: async () => {
      await stop().catch(() => undefined);
      for (const client of Object.values(sqs)) client.destroy();
      dynamo.destroy();
    },
  };
}
