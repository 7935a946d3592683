/**
 * A fleet that vanishes, on the whole local stack (event source, intake, the dispatch workflow, DynamoDB
 * and SQS servers, real SDK clients): every region's workers report themselves in its presence item
 * (written here as worker/presence.ts writes them: UpdateItem SET w_<id> = lease end); then one region's
 * leases end and none is renewed. Within vanishedFleetBoundSeconds (core/presence.ts) no new message is
 * placed there, while messages keep flowing to the others, and none is lost.
 *
 * Prints the measured time from the region's last lease end to its last placement (the copy's
 * SentTimestamp in its regional queue): docs/capacity.md quotes it.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PRESENCE, presenceAttribute, presenceKey, vanishedFleetBoundSeconds } from '../../core/presence.js';
import { HOME_REGION } from '../../core/topology.js';
import { fleetCacheMs } from '../../functions/snapshot.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../tools/local/stack.js';
import { drain, request, until } from '../support/local-aws.js';

/** Short settings, as the brief of the measure: a 1 s cache (CACHE_TTL) and a 0.3 s batching window. */
const CACHE_TTL_SECONDS = 1;
const WINDOW_SECONDS = 0.3;
const VANISHING = 'us-west-1';
/** One message to the master queue every this many ms. */
const EVERY_MS = 50;

let stack: LocalStack;
let home: SQSClient;
let dynamo: DynamoDBClient;
const regional = new Map<string, SQSClient>();

beforeAll(async () => {
  stack = await startLocalStack({
    batchWindowSeconds: WINDOW_SECONDS,
    pollers: 2,
    masterVisibilitySeconds: 10,
    env: { cacheTtlSeconds: CACHE_TTL_SECONDS },
    quickStop: true,
  });
  home = sqsAt(HOME_REGION, stack.description.endpoints.sqs[HOME_REGION] as string);
  dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: stack.description.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
  for (const r of stack.description.regions) regional.set(r.region, sqsAt(r.region, stack.description.endpoints.sqs[r.region] as string));
}, 60_000);
afterAll(async () => {
  home?.destroy();
  dynamo?.destroy();
  regional.forEach((client) => client.destroy());
  await stack?.stop();
});

/** A worker's renewal, as worker/presence.ts makes it. */
const renew = (region: string, workerId: string, leaseEnd: number) =>
  dynamo.send(
    new UpdateItemCommand({
      TableName: stack.description.tableName,
      Key: { request_id: { S: presenceKey(region) } },
      UpdateExpression: 'SET #w = :until',
      ExpressionAttributeNames: { '#w': presenceAttribute(workerId) },
      ExpressionAttributeValues: { ':until': { N: String(leaseEnd) } },
    }),
  );

/** Every copy in a region (both lanes), removed. */
async function drainRegion(region: string): Promise<Message[]> {
  const r = stack.description.regions.find((x) => x.region === region)!;
  const client = regional.get(region)!;
  return [...(await drain(client, r.queueUrl)), ...(r.highQueueUrl ? await drain(client, r.highQueueUrl) : [])];
}

it('places nothing in a region whose fleet vanished within the bound, and keeps placing in the others', { timeout: 90_000 }, async () => {
  const regions = stack.description.regions.map((r) => r.region);
  expect(regions).toContain(VANISHING);
  const start = Date.now();
  // Two workers in each region but the vanishing one, which has six (so that it takes most messages
  // up to its end, and the time of its last placement tells the lag, not the gaps between its
  // placements); its workers renewed for the last time a lease before their lease ends.
  const lastLeaseEnd = start + 2_500;
  for (const region of regions) {
    if (region === VANISHING) {
      await renew(region, `${region}-gpu-0`, lastLeaseEnd - 500);
      for (let i = 1; i < 6; i++) await renew(region, `${region}-gpu-${i}`, lastLeaseEnd);
    } else {
      await renew(region, `${region}-gpu-1`, start + 600_000);
      await renew(region, `${region}-gpu-2`, start + 600_000);
    }
  }
  // The bound counts from the last renewal (a lease earlier than the last lease end).
  const cacheSeconds = fleetCacheMs({ cacheTtlSeconds: CACHE_TTL_SECONDS }) / 1000;
  const boundSeconds = vanishedFleetBoundSeconds(cacheSeconds, WINDOW_SECONDS);
  const lastRenewal = lastLeaseEnd - PRESENCE.leaseSeconds * 1000;
  const boundAt = lastRenewal + boundSeconds * 1000;
  expect(boundAt).toBeGreaterThan(lastLeaseEnd);

  // A steady stream to the master queue, until well past the bound.
  const sendUntil = boundAt + 2_000;
  let sent = 0;
  while (Date.now() < sendUntil) {
    const next = start + sent * EVERY_MS;
    if (next > Date.now()) await new Promise((resolve) => setTimeout(resolve, next - Date.now()));
    await home.send(new SendMessageCommand({ QueueUrl: stack.description.masterQueueUrl, MessageBody: JSON.stringify(request(`presence-${sent}`)) }));
    sent++;
  }

  // Every message reaches a regional queue (none is lost, none dead-lettered).
  const copies = new Map<string, Message[]>(regions.map((region) => [region, []]));
  const total = () => [...copies.values()].reduce((n, list) => n + list.length, 0);
  const complete = await until(async () => {
    for (const region of regions) copies.get(region)!.push(...(await drainRegion(region)));
    return total() >= sent;
  }, 30_000, 200);
  expect(complete, `${total()} of ${sent} placed`).toBe(true);
  expect(total()).toBe(sent);

  const placedAt = (region: string) => copies.get(region)!.map((m) => Number(m.Attributes?.SentTimestamp));
  const there = placedAt(VANISHING);
  const lastThere = Math.max(...there);
  const measuredMs = lastThere - lastLeaseEnd;
  const elsewhereAfter = regions.filter((r) => r !== VANISHING).flatMap(placedAt).filter((t) => t > boundAt);
  console.log(
    `presence: ${VANISHING}'s last lease ended at +${lastLeaseEnd - start} ms; its last placement ${Math.abs(measuredMs)} ms ${measuredMs > 0 ? 'after' : 'before'} it ` +
      `(bound: ${boundSeconds} s from the last renewal = ${(boundAt - lastLeaseEnd) / 1000} s after the last lease end, ` +
      `cache ${cacheSeconds} s, window ${WINDOW_SECONDS} s); placed there ${there.length} of ${sent}, ` +
      `${there.filter((t) => t > lastLeaseEnd).length} after the lease end; ${elsewhereAfter.length} placed elsewhere after the bound`,
  );

  // The region took its share while its workers were live...
  expect(there.filter((t) => t < lastLeaseEnd).length).toBeGreaterThan(5);
  // ...and nothing new once the bound has passed; the others keep taking work.
  expect(lastThere).toBeLessThanOrEqual(boundAt);
  expect(elsewhereAfter.length).toBeGreaterThan(10);
});
