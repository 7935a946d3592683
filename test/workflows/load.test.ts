/** Queue-depth readings and load: caching for CACHE_TTL, unreadable regions, every region over the threshold. */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients, type AwsClients } from '../../aws/clients.js';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import { createSnapshotHandler, type SnapshotHandler } from '../../functions/snapshot.js';
import { localConfig, type FunctionSettings } from '../../tools/local/dispatch.js';
import { drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';

const local = useLocalDispatch();
beforeEach(async () => {
  await Promise.all(Object.values(local.aws.sqsServers).map((server) => server.setAvailable(true)));
  await drainRegions(local.aws);
});

const opened: AwsClients[] = [];
afterAll(() => opened.forEach((clients) => clients.destroy()));

/** A snapshot function with these settings: a new container, nothing cached. */
function snapshotWith(settings: FunctionSettings): SnapshotHandler {
  const config = localConfig(local.aws.resources, local.aws.codeEndpoints, settings);
  const clients = createClients(config);
  opened.push(clients);
  return createSnapshotHandler({ config, clients });
}

async function fill(region: string, count: number, lane: 'normal' | 'high' = 'normal') {
  const queues = local.aws.resources.regions.find((r) => r.region === region);
  const url = (lane === 'high' ? queues?.highQueueUrl : queues?.queueUrl) as string;
  for (let i = 0; i < count; i += 10) {
    const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({ Id: String(j), MessageBody: `backlog-${i + j}` }));
    await local.aws.sqs(region).send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  }
}

const visible = async (takeSnapshot: SnapshotHandler, region: string) => {
  const snapshot = await takeSnapshot();
  const reading = snapshot.readings.find((r) => r.region === region);
  return reading?.known ? reading.visible : undefined;
};

describe('queue depth snapshot', () => {
  it('serves cached readings for CACHE_TTL seconds, then reads again', async () => {
    const cached = snapshotWith({ cacheTtlSeconds: 60 });
    expect(await visible(cached, 'us-west-1')).toBe(0);
    await fill('us-west-1', 4);
    expect(await visible(cached, 'us-west-1')).toBe(0); // cached
    // A new container, or the TTL passed.
    expect(await visible(snapshotWith({ cacheTtlSeconds: 60 }), 'us-west-1')).toBe(4);

    const uncached = snapshotWith({ cacheTtlSeconds: 0 });
    await fill('us-west-1', 1);
    expect(await visible(uncached, 'us-west-1')).toBe(5);
  });

  it("reads both lanes of a region: the totals at the top, the high lane's own counts apart", async () => {
    const takeSnapshot = snapshotWith({ cacheTtlSeconds: 0 });
    await fill('us-west-1', 3);
    await fill('us-west-1', 2, 'high');
    const reading = (await takeSnapshot()).readings.find((r) => r.region === 'us-west-1');
    expect(reading).toMatchObject({ known: true, visible: 5, high: { visible: 2, inFlight: 0, delayed: 0 } });
  });

  it('marks a region it cannot read as unknown, without failing, and does not cache that', async () => {
    const takeSnapshot = snapshotWith({ cacheTtlSeconds: 60 });
    await local.aws.sqsServers['us-west-2']?.setAvailable(false);
    const snapshot = await takeSnapshot();
    const reading = snapshot.readings.find((r) => r.region === 'us-west-2');
    expect(reading?.known).toBe(false);
    expect(snapshot.readings.filter((r) => r.known)).toHaveLength(2);
    await local.aws.sqsServers['us-west-2']?.setAvailable(true);
    expect(await visible(takeSnapshot, 'us-west-2')).toBe(0);
  });
});

describe('placement by load', () => {
  it('sends a batch away from a region with a backlog', async () => {
    const runner = local.runnerWith({ cacheTtlSeconds: 0 });
    await fill('us-east-1', 40);
    const messages = Array.from({ length: 10 }, (_, i) => envelope(`req-avoid-backlog-${i}`));
    const record = await runner.run(executionInput(messages));
    const outcomes = flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output));
    expect(outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
    expect(outcomes.filter((o) => o.region === 'us-east-1')).toHaveLength(0);
  });

  it('still dispatches when every region is over MAX_QUEUE_DEPTH_THRESHOLD, to the least loaded', async () => {
    const runner = local.runnerWith({ cacheTtlSeconds: 0, maxQueueDepthThreshold: 5 });
    await fill('us-east-1', 30);
    await fill('us-west-2', 8);
    await fill('us-west-1', 30);
    const messages = Array.from({ length: 10 }, (_, i) => envelope(`req-all-hot-${i}`));
    const record = await runner.run(executionInput(messages));
    const outcomes = flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output));
    expect(outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
    // Nothing is held back in the master queue. us-west-2 holds far less: it wins every pair it is
    // drawn into (2 in 3 on average; the exact split is the policy's, tested with a seeded random in test/unit).
    expect(outcomes.filter((o) => o.region === 'us-west-2').length).toBeGreaterThan(0);
  });
});
