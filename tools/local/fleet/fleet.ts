/**
 * The running stack's simulated workers as one fleet, scaled per region while the stack runs (the web
 * console's /api/workers, `dispatch workers set REGION N`), as an autoscaling group scales the GPU
 * workers behind a regional queue.
 *
 * A region the stack started workers for is scaled through its own pool (tools/local/fleet/workers.ts setCount). A
 * region it started none for (`up --workers 0`, the default) gets a pool of its own here on its first
 * scale-up, made as the stack makes its pools (the dispatch fence on the stack's table, the stack's
 * SQS server), and stopped by stop(). The stack's pools are stopped by the stack.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, sqsAt } from '../resources.js';
import type { LocalStack } from '../stack.js';
import { startWorkers, type Workers } from './workers.js';

/** More simulated workers than any test or demo needs: a typo's guard. */
export const MAX_WORKERS = 100;

export interface FleetRegion {
  readonly region: string;
  /** Workers working now (what the last scaling asked). */
  readonly workers: number;
  /** Workers scaled away that still finish their message. */
  readonly retiring: number;
  /** Workers holding a message now. */
  readonly busy: number;
  /** Messages processed by this region's workers since they started. */
  readonly processed: number;
}

export interface WorkerFleet {
  list(): FleetRegion[];
  /** Scales one region's workers; throws UnknownRegionError or a RangeError for a bad count. */
  setCount(region: string, count: number): FleetRegion;
  /** Stops the pools the fleet started itself. */
  stop(): Promise<void>;
}

export class UnknownRegionError extends Error {
  override name = 'UnknownRegionError';
}

export interface FleetOptions {
  /** Processing time of the workers the fleet starts itself. */
  readonly secondsPerRequest: number;
  /** Accept through the dispatch fence (as the stack's own workers do unless told not to). Default true. */
  readonly fence?: boolean;
}

export function workerFleet(stack: Pick<LocalStack, 'description' | 'workers'>, options: FleetOptions): WorkerFleet {
  const d = stack.description;
  const own = new Map<string, { workers: Workers; client: SQSClient }>();
  let fenceClient: DynamoDBClient | undefined;
  let stopped = false;

  const pool = (region: string): Workers | undefined => stack.workers[region] ?? own.get(region)?.workers;

  const startPool = (region: string): Workers => {
    const spec = d.regions.find((r) => r.region === region);
    const endpoint = d.endpoints.sqs[region];
    if (!spec || !endpoint) throw new UnknownRegionError(`no region ${region}`);
    const client = sqsAt(region, endpoint);
    if (options.fence !== false) {
      fenceClient ??= new DynamoDBClient({ region: d.homeRegion, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
    }
    const workers = startWorkers({
      region,
      client,
      queueUrl: spec.queueUrl,
      ...(spec.highQueueUrl ? { highQueueUrl: spec.highQueueUrl } : {}),
      workers: 0,
      secondsPerRequest: options.secondsPerRequest,
      ...(fenceClient ? { fence: { tableName: d.tableName, client: fenceClient } } : {}),
    });
    own.set(region, { workers, client });
    return workers;
  };

  const view = (region: string): FleetRegion => {
    const workers = pool(region);
    const counts = workers?.counts() ?? { count: 0, retiring: 0, busy: 0 };
    return { region, workers: counts.count, retiring: counts.retiring, busy: counts.busy, processed: workers?.processed() ?? 0 };
  };

  return {
    list: () => d.regions.map((r) => view(r.region)),
    setCount(region, count) {
      if (!d.regions.some((r) => r.region === region)) {
        throw new UnknownRegionError(`no region ${region}: the stack has ${d.regions.map((r) => r.region).join(', ')}`);
      }
      if (!Number.isSafeInteger(count) || count < 0 || count > MAX_WORKERS) throw new RangeError(`workers must be a whole number from 0 to ${MAX_WORKERS}, got ${count}`);
      if (stopped) throw new RangeError('the fleet is stopped');
      const workers = pool(region) ?? (count === 0 ? undefined : startPool(region));
      workers?.setCount(count);
      return view(region);
    },
    async stop() {
      stopped = true;
      await Promise.all([...own.values()].map(({ workers }) => workers.stop()));
      for (const { client } of own.values()) client.destroy();
      fenceClient?.destroy();
    },
  };
}
