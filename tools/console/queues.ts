/**
 * What the console reads from the queues and the table: where a request is now (its record, the DLQ
 * that holds it with the reason, or the live queue it waits in), the regions' depths over time, their
 * health and the capacity each is weighed by.
 *
 * Two ways to look into a queue without consuming it:
 * - the dispatch and master DLQs are read as `dlq` and `status` read them (receive, then make visible
 *   again): a request's copies are found as `status` finds them (ops/dlq-search.ts findDeadLetters, asked
 *   for their bodies too), by the request_id attribute or the request_id in the body, with the reasons as
 *   `dlq` gives them. A DLQ has no redrive policy, so a receive there costs nothing.
 * - the master queue, the regional queues and their DLQs are read through the local SQS server's
 *   inspection endpoint (fauxqs: GET /_fauxqs/queues/<name>), which moves nothing: a ReceiveMessage on a
 *   queue with a redrive policy counts toward its maxReceiveCount, so looking would push messages into
 *   a DLQ. Local only: a deployed stage's console does not look into them (console/source.ts).
 * Either way each message comes with its body and attributes, cut as ops/body-preview.ts cuts them.
 */
import { Repeater } from './repeater.js';
import { BatchGetItemCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { forgetAfterMs } from '../../aws/region-health.js';
import { config } from '../../core/config.js';
import { healthOf, type RegionHealth } from '../../core/health.js';
import { regionHealthKey } from '../../core/record.js';
import type { StackDescription } from '../local/stack.js';
import { readFleet, regionCapacities, type RegionCapacity } from '../ops/capacity-view.js';
import { DLQ_KINDS, messageRequestId, queueName, readRecord, type DlqKind } from '../ops/dlq-model.js';
import { BODY_PREVIEW_BYTES, previewMessage, type MessagePreview } from '../ops/body-preview.js';
import { findDeadLetters, type DeadLetterCopy } from '../ops/dlq-search.js';
import { lanesDepth, type QueueDepth } from '../ops/queue-reader.js';
import { statusRows } from '../ops/record-rows.js';
import type { RedriveDeps } from '../ops/redrive.js';
import type { ExecutionStore } from './executions.js';

/** Reads of the DLQs (listDlqs, redrive) hide what they read for a while: one at a time. */
export class Lock {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * How the console reads the DLQs: short polls (a local server answers at once), each message listed with
 * the first bytes of its body (ops/dlq.ts ListOptions.bodyBytes; the reads of a redrive ignore it).
 */
export const DLQ_READ = { visibilitySeconds: 30, waitSeconds: 0, idleReceives: 2, bodyBytes: BODY_PREVIEW_BYTES } as const;

const inspectedSchema = z.object({
  messages: z.object({
    ready: z.array(z.unknown()).default([]),
    delayed: z.array(z.unknown()).default([]),
    inflight: z.array(z.object({ message: z.unknown() })).default([]),
  }),
});
const storedMessageSchema = z.looseObject({
  messageId: z.string(),
  body: z.string(),
  messageAttributes: z.record(z.string(), z.looseObject({ StringValue: z.string().optional() })).default({}),
  approximateReceiveCount: z.number().optional(),
  sentTimestamp: z.number().optional(),
});

export interface HeldMessage {
  readonly queue: string;
  readonly kind: 'master queue' | 'regional queue' | 'regional DLQ' | 'dispatch DLQ' | 'master DLQ';
  readonly region: string;
  readonly state: 'ready' | 'in flight' | 'delayed';
  readonly messageId: string;
  readonly requestId?: string;
  readonly receiveCount?: number;
  /** When SQS took the message into this queue. */
  readonly sentAt?: string;
  readonly reason?: string;
  readonly record?: string;
  /** A DLQ copy: who put it there, and whether it was known by its request_id attribute or its body's. */
  readonly by?: DeadLetterCopy['by'];
  readonly matchedBy?: DeadLetterCopy['matchedBy'];
  /** Its body and attributes, the body cut to its first DLQ_READ.bodyBytes. */
  readonly preview: MessagePreview;
}

type LiveKind = 'master queue' | 'regional queue' | 'regional DLQ';

/** Every message of a queue on the local SQS server, read without touching it. */
export async function inspectQueue(endpoint: string, url: string, kind: LiveKind, region: string): Promise<HeldMessage[]> {
  const response = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(queueName(url))}`, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`inspecting ${queueName(url)}: HTTP ${response.status}`);
  const parsed = inspectedSchema.parse(await response.json());
  const entries = [
    ...parsed.messages.ready.map((m) => ['ready', m] as const),
    ...parsed.messages.delayed.map((m) => ['delayed', m] as const),
    ...parsed.messages.inflight.map((m) => ['in flight', m.message] as const),
  ];
  return entries.flatMap(([state, raw]) => {
    const m = storedMessageSchema.safeParse(raw);
    if (!m.success) return [];
    const attributes = Object.fromEntries(Object.entries(m.data.messageAttributes).map(([k, v]) => [k, v.StringValue]));
    const requestId = messageRequestId(attributes, m.data.body)?.requestId;
    return [
      {
        queue: queueName(url),
        kind,
        region,
        state,
        messageId: m.data.messageId,
        ...(requestId ? { requestId } : {}),
        ...(m.data.approximateReceiveCount !== undefined ? { receiveCount: m.data.approximateReceiveCount } : {}),
        ...(m.data.sentTimestamp ? { sentAt: new Date(m.data.sentTimestamp).toISOString() } : {}),
        ...(m.data.messageAttributes.reason?.StringValue ? { reason: m.data.messageAttributes.reason.StringValue } : {}),
        preview: previewMessage(m.data.body, attributes, DLQ_READ.bodyBytes),
      },
    ];
  });
}

export interface ConsoleDeps extends RedriveDeps {
  readonly description: StackDescription;
  /** The local SQS servers' inspection endpoint shows the live queues; a deployed stage has none. */
  readonly inspectLiveQueues: boolean;
}

export interface RequestStory {
  readonly requestId: string;
  readonly record: { readonly found: boolean; readonly rows: Array<[string, string]>; readonly invalid?: string };
  readonly executions: Awaited<ReturnType<ExecutionStore['withRequest']>>;
  readonly held: HeldMessage[];
  readonly warnings: string[];
}

/** The live queues (not the two DLQs `dlq` reads): master, each region's queue and its DLQ. */
function liveQueues(d: StackDescription): Array<{ url: string; kind: LiveKind; region: string }> {
  return [
    { url: d.masterQueueUrl, kind: 'master queue', region: d.homeRegion },
    ...(d.masterHighQueueUrl ? [{ url: d.masterHighQueueUrl, kind: 'master queue' as const, region: d.homeRegion }] : []),
    ...d.regions.flatMap((r) => [
      { url: r.queueUrl, kind: 'regional queue' as const, region: r.region },
      { url: r.deadLetterQueueUrl, kind: 'regional DLQ' as const, region: r.region },
      // The high lanes (core/lanes.ts): a request there is in the same region.
      ...(r.highQueueUrl ? [{ url: r.highQueueUrl, kind: 'regional queue' as const, region: r.region }] : []),
      ...(r.highDeadLetterQueueUrl ? [{ url: r.highDeadLetterQueueUrl, kind: 'regional DLQ' as const, region: r.region }] : []),
    ]),
  ];
}

export async function requestStory(deps: ConsoleDeps, store: ExecutionStore, lock: Lock, requestId: string): Promise<RequestStory> {
  const d = deps.description;
  const warnings: string[] = [];
  const recordRead = async (): Promise<RequestStory['record']> => {
    const { Item } = await deps.dynamo().send(new GetItemCommand({ TableName: d.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
    const read = readRecord(Item);
    if (!read.found) return { found: false, rows: [] };
    if ('invalid' in read) return { found: true, rows: [], invalid: read.invalid };
    return { found: true, rows: statusRows(read.record).flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as [string, string]])) };
  };
  // On a stage: a receive from a queue with a redrive policy counts toward its maxReceiveCount.
  if (!deps.inspectLiveQueues) warnings.push(LIVE_QUEUES_NOT_READ);
  const live = Promise.all(
    (deps.inspectLiveQueues ? liveQueues(d) : []).map((q) =>
      inspectQueue(d.endpoints.sqs[q.region] as string, q.url, q.kind, q.region).catch((error: Error) => {
        warnings.push(`${queueName(q.url)} could not be read: ${error.message}`);
        return [] as HeldMessage[];
      }),
    ),
  );
  // The DLQs are searched as `status` searches them (ops/dlq-search.ts): by attribute, else by body;
  // each copy kept with its body.
  const dlqs = lock.run(() => findDeadLetters(deps, dlqKindsOf(d), requestId, DLQ_READ));
  const [record, executions, liveHeld, dead] = await Promise.all([recordRead(), store.withRequest(requestId), live, dlqs]);
  const names = new Map(dead.dlqs.map((s) => [s.queue, s.name]));
  const held: HeldMessage[] = [
    ...liveHeld.flat().filter((m) => m.requestId === requestId),
    ...dead.deadLetters.map((copy) => ({
      queue: names.get(copy.queue) ?? copy.queue,
      kind: copy.queue === 'dispatch' ? ('dispatch DLQ' as const) : ('master DLQ' as const),
      region: d.homeRegion,
      state: 'ready' as const,
      messageId: copy.messageId,
      requestId,
      reason: copy.reason,
      by: copy.by,
      matchedBy: copy.matchedBy,
      ...(copy.receiveCount !== undefined ? { receiveCount: copy.receiveCount } : {}),
      ...(copy.sentAt ? { sentAt: copy.sentAt } : {}),
      preview: copy.preview,
    })),
  ];
  for (const s of dead.dlqs) {
    if (s.stillHidden) warnings.push(`${s.stillHidden} message(s) of ${s.name} could not be made visible again: hidden until their visibility timeout ends`);
  }
  return { requestId, record, executions, held, warnings };
}

export interface RegionSample {
  readonly visible: number;
  readonly inFlight: number;
  /** Cumulative, over the executions the console has seen finish. */
  readonly dispatched: number;
  readonly failedOverFrom: number;
  readonly failedOverTo: number;
}

export interface Sample {
  /** Epoch ms. */
  readonly t: number;
  readonly regions: Record<string, RegionSample>;
  readonly master: QueueDepth;
  readonly dlqs: Record<string, QueueDepth>;
}

/**
 * Samples every region's queue and the DLQs every `intervalMs`, and counts dispatched and failed-over
 * messages from the executions as they finish. Keeps the last `keep` samples.
 */
export class RegionSampler {
  readonly samples: Sample[] = [];
  private readonly counted = new Set<string>();
  private readonly totals: Record<string, { dispatched: number; failedOverFrom: number; failedOverTo: number }> = {};
  private repeater: Repeater | undefined;

  constructor(
    private readonly deps: ConsoleDeps,
    private readonly store: ExecutionStore,
    readonly intervalMs = 1500,
    private readonly keep = 240,
  ) {
    for (const r of deps.description.regions) this.totals[r.region] = { dispatched: 0, failedOverFrom: 0, failedOverTo: 0 };
  }

  start(): void {
    this.repeater ??= new Repeater(() => this.sample(), this.intervalMs);
    this.repeater.start();
  }

  async stop(): Promise<void> {
    await this.repeater?.stop();
  }

  /** The queues' DLQs by label: dispatch and master, and each region's. */
  dlqUrls(): Array<{ label: string; url: string; region: string }> {
    const d = this.deps.description;
    return [
      { label: 'dispatch DLQ', url: d.dispatchDeadLetterQueueUrl, region: d.homeRegion },
      { label: 'master DLQ', url: d.masterDeadLetterQueueUrl, region: d.homeRegion },
      ...(d.masterHighDeadLetterQueueUrl ? [{ label: 'master high DLQ', url: d.masterHighDeadLetterQueueUrl, region: d.homeRegion }] : []),
      ...d.regions.flatMap((r) => [
        { label: `${r.region} DLQ`, url: r.deadLetterQueueUrl, region: r.region },
        ...(r.highDeadLetterQueueUrl ? [{ label: `${r.region} high DLQ`, url: r.highDeadLetterQueueUrl, region: r.region }] : []),
      ]),
    ];
  }

  async sample(): Promise<Sample> {
    const d = this.deps.description;
    for (const e of await this.store.all()) {
      if (e.summary.status === 'RUNNING' || this.counted.has(e.summary.arn)) continue;
      this.counted.add(e.summary.arn);
      for (const row of e.rows) {
        if (row.outcome !== 'dispatched' || !row.region) continue;
        const to = this.totals[row.region];
        if (to) {
          to.dispatched++;
          if (row.failedOver) to.failedOverTo++;
        }
        const from = row.failedOver && row.branch ? this.totals[row.branch] : undefined;
        if (from) from.failedOverFrom++;
      }
    }
    // A queue and its high lane, read together (core/lanes.ts).
    const depth = (region: string, url: string, highUrl?: string) =>
      lanesDepth(this.deps.sqs(region), url, highUrl).catch(() => ({ visible: Number.NaN, inFlight: Number.NaN }));
    const [master, regional, dlqs] = await Promise.all([
      depth(d.homeRegion, d.masterQueueUrl, d.masterHighQueueUrl),
      Promise.all(d.regions.map((r) => depth(r.region, r.queueUrl, r.highQueueUrl))),
      Promise.all(this.dlqUrls().map((q) => depth(q.region, q.url))),
    ]);
    const sample: Sample = {
      t: Date.now(),
      master,
      regions: Object.fromEntries(d.regions.map((r, i) => [r.region, { ...(regional[i] as QueueDepth), ...(this.totals[r.region] as RegionSample) }])),
      dlqs: Object.fromEntries(this.dlqUrls().map((q, i) => [q.label, dlqs[i] as QueueDepth])),
    };
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.splice(0, this.samples.length - this.keep);
    return sample;
  }
}

/** Each configured region's health item (`#health#<region>`), as the snapshot reads it. */
export async function regionHealth(dynamo: DynamoDBClient, description: StackDescription, nowMs = Date.now()): Promise<Record<string, RegionHealth | null>> {
  let forget = 300_000;
  try {
    forget = forgetAfterMs(config());
  } catch {
    // The stack sets the functions' environment in this process; without it, the default (30 s x 10).
  }
  const keys = description.regions.map((r) => ({ request_id: { S: regionHealthKey(r.region) } }));
  const { Responses = {} } = await dynamo.send(
    new BatchGetItemCommand({ RequestItems: { [description.tableName]: { Keys: keys, ConsistentRead: true } } }),
  );
  const found = new Map((Responses[description.tableName] ?? []).map((item) => [item.request_id?.S, item]));
  return Object.fromEntries(
    description.regions.map((r) => {
      const item = found.get(regionHealthKey(r.region));
      const health = item
        ? healthOf({ region: r.region, until: Number(item.until?.N ?? 0), failures: Number(item.failures?.N ?? 0), error: item.error?.S ?? '' }, nowMs, forget)
        : undefined;
      return [r.region, health ?? null];
    }),
  );
}

/**
 * The capacity each region is weighed by (core/capacity.ts), as `capacity list` shows it: the settings and
 * the fleets' presence read from the table (tools/ops/capacity-view.ts readFleet), the configured
 * capacities, and the queues as the last sample saw them. A table that cannot be read leaves the settings
 * and presence out, with a warning, as the dispatch then falls back.
 */
export async function regionCapacityView(
  dynamo: DynamoDBClient,
  description: StackDescription,
  sample: Sample | undefined,
): Promise<{ regions: RegionCapacity[]; warning?: string }> {
  const fleet = await readFleet({ client: dynamo, tableName: description.tableName }, description.regions.map((r) => r.region));
  const regions = regionCapacities(
    description.regions.map((r) => {
      const depth = sample?.regions[r.region];
      return { region: r.region, configured: r.capacity, depth: depth && { visible: depth.visible, inFlight: depth.inFlight } };
    }),
    fleet.settings,
    fleet.presence,
  );
  const warning = fleet.warnings.length ? fleet.warnings.join('; ') : undefined;
  return { regions, ...(warning ? { warning } : {}) };
}

/** The DLQs `dlq` and `redrive` read that this stack has (the master high lane's only with lanes). */
export function dlqKindsOf(description: StackDescription): DlqKind[] {
  return DLQ_KINDS.filter((kind) => kind !== 'master-high' || description.masterHighDeadLetterQueueUrl !== undefined);
}

/** What a request's story says on a deployed stage, where only the DLQs are read (as `status` reads them). */
export const LIVE_QUEUES_NOT_READ =
  'On a deployed stage the master and regional queues are not looked into (a receive there would count toward their maxReceiveCount): the record says where the request went; the Regions page has their depths.';

/**
 * What `dlq` and `redrive` need, built from the stack's description (a stage's names in its shape) with
 * clients made once; `inspectLiveQueues` only on the local stack.
 */
export function consoleDeps(
  description: StackDescription,
  sqs: (region: string) => SQSClient,
  dynamo: () => DynamoDBClient,
  inspectLiveQueues = true,
): ConsoleDeps {
  return {
    description,
    inspectLiveQueues,
    homeRegion: description.homeRegion,
    masterQueueUrl: description.masterQueueUrl,
    masterDeadLetterQueueUrl: description.masterDeadLetterQueueUrl,
    ...(description.masterHighQueueUrl ? { masterHighQueueUrl: description.masterHighQueueUrl } : {}),
    ...(description.masterHighDeadLetterQueueUrl ? { masterHighDeadLetterQueueUrl: description.masterHighDeadLetterQueueUrl } : {}),
    dispatchDeadLetterQueueUrl: description.dispatchDeadLetterQueueUrl,
    tableName: description.tableName,
    sqs,
    dynamo,
  };
}

