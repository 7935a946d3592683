/**
 * Work stealing, worker side (core/stealing.ts decides where from): a receiver that wraps the worker's
 * own lane receiver (worker/lanes.ts). Its own lanes come first; when they come back empty, it reads the
 * other allowed regions (at most every `checkEverySeconds`): each lane's depth (GetQueueAttributes
 * ApproximateNumberOfMessages, one SQS client per region, its round trip measured) and their presence
 * items (one BatchGetItem, eventually consistent: live workers per region), asks chooseSteal, and
 * receives ONE message from the chosen lane without waiting. While that lane keeps giving, the next turn
 * asks the own lanes without waiting on their long polls (LaneReceiver.nextNow), then receives from that
 * lane again without a new reading; an empty receive there ends it until the next reading. So a stealing
 * worker takes the next stolen message as soon as it is free, as an own busy lane would give it.
 *
 * A stolen copy goes through the fence exactly as an own one does (the fence checks the dispatch token,
 * not the region): no new copies, nothing processed twice. The caller deletes it, extends or hands back
 * its visibility with the message's own region's client (`TakenMessage.client`).
 *
 * A stolen copy whose model (MESSAGE_ATTRIBUTE.model) this worker does not serve is handed back at once
 * (ChangeMessageVisibility 0) and counted; that lane is then left alone until the next reading but one,
 * since every receive counts toward the queue's maxReceiveCount (docs/worker-fence.md, "Stealing and
 * presence").
 *
 * With otherHighFirst or fleetlessFirst (core/stealing.ts chooseBeforeOwnNormal), a worker also reads
 * when due while busy, and takes from the lane chosen there after its own high lane and before its own
 * normal lane, until that lane comes back empty.
 *
 * Off unless configured: an empty allow-list steals nothing and makes no request.
 */
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageSystemAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Lane } from '../core/lanes.js';
import { countPresence, leasesFromAttributes, presenceKey } from '../core/presence.js';
import { ATTR, MESSAGE_ATTRIBUTE } from '../core/record.js';
import { chooseBeforeOwnNormal, chooseSteal, servesModel, stealingSettingsSchema, type StealCandidate, type StealChoice } from '../core/stealing.js';
import type { LaneMessage, LaneQueues } from './lanes.js';

/** A worker's stealing settings: core/stealing.ts's, plus how often it reads the other regions. */
export const workerStealingSchema = stealingSettingsSchema.extend({
  /** Shortest time between two readings of the other regions (depths and presence), seconds. */
  checkEverySeconds: z.number().positive().default(30),
  /** Models this worker serves; absent or empty: every model. */
  models: z.array(z.string().min(1)).optional(),
});
export type WorkerStealingSettings = z.infer<typeof workerStealingSchema>;
export type WorkerStealingInput = z.input<typeof workerStealingSchema>;

/** Parses the settings with a clear error: `stealing: allowRegions.0: ...`. */
export function parseStealingSettings(input: unknown): WorkerStealingSettings {
  const parsed = workerStealingSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new TypeError(`stealing: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Another region a worker may steal from: its lanes and the SQS client for that region. */
export interface StealRegion {
  readonly region: string;
  readonly client: SQSClient;
  readonly queues: LaneQueues;
}

/** What the receiver takes: an own or a stolen message, with its region and the client that reaches it. */
export interface TakenMessage extends LaneMessage {
  readonly region: string;
  readonly stolen: boolean;
  /** For a stolen message: its region's SQS client (delete, visibility); undefined for an own one. */
  readonly client?: SQSClient;
}

/** What the receiver wraps (worker/lanes.ts LaneReceiver). */
export interface OwnLanes {
  next(): Promise<LaneMessage | undefined>;
  /** A message without waiting on an open long poll, of these lanes or all (worker/lanes.ts LaneReceiver.nextNow). */
  nextNow?(lanes?: readonly Lane[]): Promise<LaneMessage | undefined>;
  close(): Promise<LaneMessage[]>;
}

export interface StealingReceiverOptions {
  readonly ownRegion: string;
  readonly lanes: OwnLanes;
  /** Regions it may read (others than those allowed are ignored; its own region is never stolen from). */
  readonly regions: readonly StealRegion[];
  readonly settings: WorkerStealingInput;
  /** Where the presence items are (the idempotency table); without it every region counts one worker. */
  readonly presence?: { readonly client: DynamoDBClient; readonly tableName: string };
  /** Wall clock for presence leases, epoch ms. Default Date.now. */
  readonly now?: () => number;
  /** Monotonic clock, ms, for the reading interval and round trips. Default performance.now. */
  readonly monotonic?: () => number;
  /** A reading or a receive that failed (a region unreachable): stealing goes on without it. */
  readonly onError?: (error: unknown) => void;
}

export interface RegionStealCounters {
  stolen: number;
  handedBackForModel: number;
  /** Last measured round trip, ms. */
  latencyMs?: number;
}

export interface StealCounters {
  /** Readings of the other regions made. */
  readonly readings: number;
  readonly stolen: number;
  readonly handedBackForModel: number;
  /** SQS requests made for stealing (depth reads, receives, hand-backs) and DynamoDB BatchGetItem calls. */
  readonly sqsRequests: number;
  readonly dynamoReads: number;
  readonly byRegion: Readonly<Record<string, Readonly<RegionStealCounters>>>;
}

const LANES: readonly Lane[] = ['high', 'normal'];
const RECEIVE_COUNT: MessageSystemAttributeName[] = ['ApproximateReceiveCount'];

export class StealingReceiver {
  readonly settings: WorkerStealingSettings;
  private readonly regions: ReadonlyMap<string, StealRegion>;
  private readonly monotonic: () => number;
  private readonly now: () => number;
  private lastReading = Number.NEGATIVE_INFINITY;
  /** The lane that gave last: received from again until it comes back empty. */
  private current: StealChoice | undefined;
  /** From the last reading: where to take before the own normal lane (otherHighFirst, fleetlessFirst), until it comes back empty. */
  private prior: StealChoice | undefined;
  /** From the last reading, not used yet: where to steal when the own lanes are empty. */
  private idleChoice: StealChoice | undefined;
  /** Lanes that gave a model this worker does not serve: skipped until this reading count. */
  private readonly shunned = new Map<string, number>();
  private readonly latency = new Map<string, number>();
  private counts = { readings: 0, stolen: 0, handedBackForModel: 0, sqsRequests: 0, dynamoReads: 0 };
  private readonly perRegion = new Map<string, RegionStealCounters>();

  constructor(private readonly options: StealingReceiverOptions) {
    this.settings = parseStealingSettings(options.settings);
    const given = new Map(options.regions.map((r) => [r.region, r]));
    const unknown = this.settings.allowRegions.filter((r) => r !== options.ownRegion && !given.has(r));
    if (unknown.length) {
      throw new TypeError(
        `stealing: allowRegions names ${unknown.join(', ')}, for which no queues were given (given: ${[...given.keys()].join(', ') || 'none'})`,
      );
    }
    this.regions = new Map(this.settings.allowRegions.filter((r) => r !== options.ownRegion).map((r) => [r, given.get(r) as StealRegion]));
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.now = options.now ?? Date.now;
    for (const region of this.regions.keys()) this.perRegion.set(region, { stolen: 0, handedBackForModel: 0 });
  }

  /** Whether this receiver ever steals (an allow-list with another region). */
  get enabled(): boolean {
    return this.regions.size > 0;
  }

  counters(): StealCounters {
    return {
      ...this.counts,
      byRegion: Object.fromEntries([...this.perRegion].map(([region, c]) => [region, { ...c }])),
    };
  }

  private report(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A failing error callback must not stop the worker.
    }
  }

  /** An own message first; when the own lanes came back empty, a stolen one; undefined when neither. */
  async next(): Promise<TakenMessage | undefined> {
    const early = await this.beforeOwnNormal();
    if (early) return early;
    if (this.current && this.options.lanes.nextNow) {
      // A lane that keeps giving: the own lanes are asked without waiting on their long polls (still
      // open: what they bring comes next), so stolen work does not wait for an own poll to end.
      const own = await this.options.lanes.nextNow();
      if (own) return { ...own, region: this.options.ownRegion, stolen: false };
      const taken = await this.receiveFrom(this.current);
      if (taken) return taken;
      this.current = undefined;
    }
    const own = await this.options.lanes.next();
    if (own) return { ...own, region: this.options.ownRegion, stolen: false };
    if (!this.enabled) return undefined;
    return this.steal();
  }

  /** Closes the own lanes; what they hold is returned as own messages (hand them back). */
  async close(): Promise<TakenMessage[]> {
    return (await this.options.lanes.close()).map((m) => ({ ...m, region: this.options.ownRegion, stolen: false }));
  }

  private laneKey(choice: { region: string; lane: Lane }) {
    return `${choice.region}/${choice.lane}`;
  }

  /** One steal attempt: from the lane that gave last, or from a fresh reading when due. */
  async steal(): Promise<TakenMessage | undefined> {
    if (this.current) {
      const taken = await this.receiveFrom(this.current);
      if (taken) return taken;
      this.current = undefined;
    }
    await this.readWhenDue();
    const choice = this.idleChoice;
    this.idleChoice = undefined;
    if (!choice) return undefined;
    const taken = await this.receiveFrom(choice);
    if (taken) this.current = choice;
    return taken;
  }

  /**
   * With otherHighFirst or fleetlessFirst: the own high lane, asked without waiting, then the lane the
   * last reading chose to come before the own normal lane (a reading made when due, busy or idle), until
   * it comes back empty. Needs the own lanes' nextNow; off otherwise.
   */
  private async beforeOwnNormal(): Promise<TakenMessage | undefined> {
    if (!this.enabled || (!this.settings.otherHighFirst && !this.settings.fleetlessFirst) || !this.options.lanes.nextNow) return undefined;
    await this.readWhenDue();
    if (!this.prior) return undefined;
    const high = await this.options.lanes.nextNow(['high']);
    if (high) return { ...high, region: this.options.ownRegion, stolen: false };
    const taken = await this.receiveFrom(this.prior);
    if (taken) return taken;
    this.prior = undefined;
    return undefined;
  }

  /** A reading of the other regions when the last is `checkEverySeconds` old: both choices made from it. */
  private async readWhenDue(): Promise<void> {
    if (this.monotonic() - this.lastReading < this.settings.checkEverySeconds * 1000) return;
    this.lastReading = this.monotonic();
    const candidates = await this.read();
    this.prior = chooseBeforeOwnNormal(this.options.ownRegion, candidates, this.settings);
    this.idleChoice = chooseSteal(this.options.ownRegion, candidates, this.settings);
  }

  /** The other allowed regions' lane depths (with round trips) and live workers. */
  async read(): Promise<StealCandidate[]> {
    this.counts.readings += 1;
    const reading = this.counts.readings;
    const [depths, workers] = await Promise.all([
      Promise.all([...this.regions.values()].map((r) => this.depths(r, reading))),
      this.workers(),
    ]);
    return depths.map(({ region, waiting }) => ({
      region,
      waiting,
      ...(workers.has(region) ? { workers: workers.get(region) as number } : {}),
      ...(this.latency.has(region) ? { latencyMs: this.latency.get(region) as number } : {}),
    }));
  }

  private async depths(target: StealRegion, reading: number): Promise<{ region: string; waiting: Partial<Record<Lane, number>> }> {
    const waiting: Partial<Record<Lane, number>> = {};
    await Promise.all(
      LANES.map(async (lane) => {
        const queueUrl = lane === 'high' ? target.queues.high : target.queues.normal;
        if (!queueUrl) return;
        if ((this.shunned.get(this.laneKey({ region: target.region, lane })) ?? 0) >= reading) return;
        const started = this.monotonic();
        try {
          this.counts.sqsRequests += 1;
          const { Attributes = {} } = await target.client.send(
            new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
          );
          const took = this.monotonic() - started;
          // The region's round trip: the quicker of its lanes' reads this time.
          const seen = this.latency.get(target.region);
          this.latency.set(target.region, seen === undefined || lane === 'high' ? took : Math.min(seen, took));
          const value = Number(Attributes.ApproximateNumberOfMessages);
          if (Number.isFinite(value)) waiting[lane] = value;
        } catch (error) {
          this.report(error);
        }
      }),
    );
    const counters = this.perRegion.get(target.region);
    if (counters && this.latency.has(target.region)) counters.latencyMs = this.latency.get(target.region) as number;
    return { region: target.region, waiting };
  }

  /** Live workers per region from the presence items; a region without an item is left out. */
  private async workers(): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const presence = this.options.presence;
    if (!presence || !this.regions.size) return found;
    try {
      this.counts.dynamoReads += 1;
      const { Responses } = await presence.client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [presence.tableName]: { Keys: [...this.regions.keys()].map((r) => ({ [ATTR.key]: { S: presenceKey(r) } })), ConsistentRead: false },
          },
        }),
      );
      const now = this.now();
      for (const item of Responses?.[presence.tableName] ?? []) {
        const key = item[ATTR.key]?.S ?? '';
        const region = [...this.regions.keys()].find((r) => presenceKey(r) === key);
        if (!region) continue;
        const plain = Object.fromEntries(Object.entries(item).map(([name, value]) => [name, value.N ?? value.S]));
        found.set(region, countPresence({ region, leases: leasesFromAttributes(plain) }, now).live);
      }
    } catch (error) {
      this.report(error);
    }
    return found;
  }

  private async receiveFrom(choice: StealChoice): Promise<TakenMessage | undefined> {
    const target = this.regions.get(choice.region);
    const queueUrl = choice.lane === 'high' ? target?.queues.high : target?.queues.normal;
    if (!target || !queueUrl) return undefined;
    let message: Message | undefined;
    try {
      this.counts.sqsRequests += 1;
      message = (
        await target.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: 0,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: RECEIVE_COUNT,
          }),
        )
      ).Messages?.[0];
    } catch (error) {
      this.report(error);
      return undefined;
    }
    if (!message?.ReceiptHandle) return undefined;
    const counters = this.perRegion.get(choice.region) as RegionStealCounters;
    const model = message.MessageAttributes?.[MESSAGE_ATTRIBUTE.model]?.StringValue;
    if (!servesModel(this.settings.models, model)) {
      // Not this worker's model: visible again at once for a worker that serves it; this lane rests.
      this.counts.handedBackForModel += 1;
      counters.handedBackForModel += 1;
      this.shunned.set(this.laneKey(choice), this.counts.readings + 1);
      try {
        this.counts.sqsRequests += 1;
        await target.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
      } catch (error) {
        this.report(error);
      }
      return undefined;
    }
    this.counts.stolen += 1;
    counters.stolen += 1;
    return { lane: choice.lane, queueUrl, message, region: choice.region, stolen: true, client: target.client };
  }
}
