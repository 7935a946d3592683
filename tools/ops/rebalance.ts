/**
 * Rebalance: moves the messages waiting in one region's lanes (high first, then normal) to the master
 * queue's matching lane, so that the dispatcher places them again, in regions that take work (`rebalance`,
 * cli/commands/rebalance.ts). For a region whose fleet is gone (capacity set to 0, or a fleet that
 * reported itself and vanished: docs/capacity.md) when stealing is off. For each copy received, in order:
 *   a. its record is marked REDRIVEN (one conditional write), only if it is DISPATCHED (or REDRIVEN by an
 *      interrupted rebalance) to this region with this copy's dispatch token and no worker has accepted it;
 *      the claim (workflows/claim.ts) then takes the record over for the copy sent next. The condition
 *      failing means a worker holds or finished the request, or the record names another copy: the copy
 *      is left where it is, and the entry says why. The copy about to be sent starts a new retention
 *      period, so the record's expiry becomes at least now + the record lifetime (invariant 11);
 *   b. the body, unchanged, is sent to the master lane with the attributes redrive sends (redriven_from,
 *      redrive_reason); a failed send puts the record back to DISPATCHED (conditional: still REDRIVEN to
 *      this copy, not accepted), which is safe whether or not the send landed: a master copy that finds
 *      the record DISPATCHED is dropped by the claim;
 *   c. only then is the regional copy deleted.
 * Crash between a and b: the record is REDRIVEN to this copy and the copy is still in the region; the next
 * rebalance accepts REDRIVEN with the same region and token, and a worker may still accept the copy (the
 * fence accepts a record no one holds). Crash between b and c: a master copy and the regional one. The claim
 * lets the master copy through once, and the new dispatch gives it a new token; the old copy is now stale.
 * The fence (worker/persistence.ts, the accept condition) accepts a request once whatever the copy: the
 * first copy a worker accepts is processed, and every other is dropped (ALREADY_ACCEPTED, ALREADY_COMPLETED).
 * A later rebalance leaves the stale copy alone (its token is no longer the record's). Nothing is lost and
 * nothing is processed twice (docs/architecture.md, invariants 1 and 2).
 */
import { ConditionalCheckFailedException, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { MESSAGE_ATTRIBUTE, ATTR, RECORD_STATUS, type RequestRecord } from '../../core/record.js';
import { SMOKE_ATTRIBUTE } from '../../core/smoke.js';
import { DEFAULT_RECORD_LIFETIME_SECONDS } from '../../core/topology.js';
import { FLEET_CACHE_MAX_MS } from '../../functions/snapshot.js';
import type { Lane } from '../../core/lanes.js';
import { readFleet, regionCapacities, type RegionCapacity } from './capacity-view.js';
import { getRecord } from './dlq.js';
import { queueName, redriveAttributes, type RecordRead } from './dlq-model.js';
import { lanesDepth, queueDepth, QueueReader, READ_DEFAULTS, type QueueDepth, type ReaderOptions } from './queue-reader.js';
import { TargetError, type Target } from './target.js';

/** What a rebalance needs of a Target (a Target is one). */
export type RebalanceDeps = Pick<Target, 'homeRegion' | 'masterQueueUrl' | 'masterHighQueueUrl' | 'tableName' | 'regions' | 'capacities' | 'sqs' | 'dynamo'>;

export interface RebalanceOptions extends Partial<Omit<ReaderOptions, 'signal'>> {
  /** The region whose lanes are emptied. */
  readonly from: string;
  readonly dryRun?: boolean;
  /** At most this many copies moved (or, in a dry run, listed as would move); failures count too. */
  readonly max?: number;
  /** Rebalance even though the region is still weighed above capacity 0, or no other region is. */
  readonly force?: boolean;
  /**
   * How long the dispatch may still use settings read before a change (its fleet cache: CACHE_TTL, at most
   * FLEET_CACHE_MAX_MS); default that maximum. A capacity set to 0 more recently is refused without --force.
   */
  readonly settleMs?: number;
  /** How long a record must live after a copy is sent (IDEMPOTENCY_TTL_SECONDS); default the deployment's. */
  readonly recordLifetimeSeconds?: number;
  readonly now?: () => Date;
  /** Stops after the copy at hand; what is held is released. */
  readonly signal?: AbortSignal;
  /** After each batch read: the lane, copies read in it so far, SQS's approximate count, copies moved in all. */
  onProgress?(progress: RebalanceProgress): void;
}

export interface RebalanceProgress {
  readonly lane: Lane;
  readonly read: number;
  readonly estimate: number;
  readonly moved: number;
}

export type RebalanceOutcome = 'moved' | 'would-move' | 'left' | 'failed';

export interface RebalanceEntry {
  readonly lane: Lane;
  /** The regional copy's message id. */
  readonly messageId: string;
  readonly requestId?: string;
  /** The copy's dispatch token. */
  readonly token?: string;
  readonly outcome: RebalanceOutcome;
  /** What was done or decided, and why; for a copy left or failed, where it is now. */
  readonly detail: string;
  /** The record as read before the mark (or after a refused one): status, region, worker. */
  readonly record?: RecordSummary;
  /** The master-lane message id of the copy sent. */
  readonly sentMessageId?: string;
  /** The record's expiry as this run left it (epoch seconds). */
  readonly expiresAt?: number;
}

export interface RecordSummary {
  readonly status: string;
  readonly region?: string;
  readonly token?: string;
  readonly acceptedBy?: string;
  readonly workStatus?: string;
}

export interface LaneResult {
  readonly lane: Lane;
  readonly from: { readonly name: string; readonly url: string };
  readonly to: { readonly name: string; readonly url: string };
  readonly approximate: QueueDepth;
  /** Distinct copies read from the lane. */
  readonly read: number;
}

export interface RebalanceResult {
  readonly region: string;
  readonly dryRun: boolean;
  readonly forced: boolean;
  /** The region's capacity as the dispatcher weighs it now, and every region's. */
  readonly capacity: RegionCapacity;
  readonly regions: RegionCapacity[];
  /** Why --force was needed, when it was given and was needed. */
  readonly forcedPast: string[];
  readonly warnings: string[];
  readonly lanes: LaneResult[];
  readonly entries: RebalanceEntry[];
  readonly counts: Record<RebalanceOutcome, number>;
  readonly stoppedAtMax: boolean;
  readonly aborted: boolean;
  /** Copies that could not be made visible again at the end: hidden until their visibility timeout ends. */
  readonly stillHidden: number;
  /** False when anything failed. */
  readonly ok: boolean;
}

/** The region still takes work, or the others take none: the dispatcher could place the copies back. */
export class RebalanceRefusedError extends Error {
  override name = 'RebalanceRefusedError';
  constructor(
    message: string,
    readonly reasons: readonly string[],
  ) {
    super(message);
  }
}

const describeError = (error: unknown) => {
  const e = error as Error;
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
};

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';

const attribute = (message: Message, name: string) => message.MessageAttributes?.[name]?.StringValue || undefined;

function summary(read: RecordRead): RecordSummary | undefined {
  if (!read.found) return undefined;
  if (!('record' in read)) return { status: 'unreadable' };
  const r: RequestRecord = read.record;
  return {
    status: r.status ?? 'no status',
    ...(r.region ? { region: r.region } : {}),
    ...(r.token ? { token: r.token } : {}),
    ...(r.acceptedBy ? { acceptedBy: r.acceptedBy } : {}),
    ...(r.workStatus ? { workStatus: r.workStatus } : {}),
  };
}

/**
 * Why this record does not let the copy move (the condition of step a, read in code), or undefined when
 * it does. The same cases the write's condition checks; the write decides, this explains.
 */
export function leaveReason(read: RecordRead, region: string, token: string): string | undefined {
  if (!read.found) return 'no record for this request_id: not a copy the dispatch sent (or its record expired); left in the queue';
  if (!('record' in read)) return 'its record cannot be read as a record; left in the queue';
  const r = read.record;
  if (r.workStatus === 'COMPLETED') return `a worker (${r.acceptedBy ?? '?'}) finished this request; this copy is a duplicate the fence drops; left in the queue`;
  if (r.acceptedToken) {
    const which = r.acceptedToken === token ? 'this copy' : `another copy (token ${r.acceptedToken})`;
    return `a worker (${r.acceptedBy ?? '?'}) holds ${which}; left in the queue`;
  }
  if (r.status !== RECORD_STATUS.dispatched && r.status !== RECORD_STATUS.redriven) {
    return `the record is ${r.status ?? 'without status'}, not DISPATCHED: the dispatch is deciding or decided otherwise; left in the queue`;
  }
  if (r.region !== region) return `the record names ${r.region ?? 'no region'}, not ${region}: this copy is stale (the fence accepts the request once); left in the queue`;
  if (r.token !== token) return `the record names another copy (token ${r.token ?? 'none'}): this copy is stale (the fence accepts the request once); left in the queue`;
  return undefined;
}

/** What one run shares across the copies it moves. */
interface Run {
  readonly deps: RebalanceDeps;
  readonly region: string;
  readonly dryRun: boolean;
  readonly now: () => Date;
  readonly lifetime: number;
  readonly regional: SQSClient;
  readonly master: SQSClient;
}

interface LaneRun extends Run {
  readonly lane: Lane;
  readonly reader: QueueReader;
  readonly fromUrl: string;
  readonly fromName: string;
  readonly toUrl: string;
}

const nowSeconds = (run: Run) => Math.floor(run.now().getTime() / 1000);

/** Step a: REDRIVEN, on the condition that the record still sends this copy to this region and no worker took it. */
async function mark(run: LaneRun, requestId: string, token: string, expiresAt: number): Promise<boolean> {
  return updateIfStill(run, {
    TableName: run.deps.tableName,
    Key: { [ATTR.key]: { S: requestId } },
    UpdateExpression: 'SET #status = :redriven, #redrivenAt = :now, #expiresAt = :expiresAt',
    ConditionExpression: '#status IN (:dispatched, :redriven) AND #region = :region AND #token = :token AND attribute_not_exists(#acceptedToken)',
    ExpressionAttributeNames: {
      '#status': ATTR.status,
      '#redrivenAt': ATTR.redrivenAt,
      '#expiresAt': ATTR.expiresAt,
      '#region': ATTR.region,
      '#token': ATTR.token,
      '#acceptedToken': ATTR.acceptedToken,
    },
    ExpressionAttributeValues: {
      ':redriven': { S: RECORD_STATUS.redriven },
      ':dispatched': { S: RECORD_STATUS.dispatched },
      ':now': { S: run.now().toISOString() },
      ':expiresAt': { N: String(expiresAt) },
      ':region': { S: run.region },
      ':token': { S: token },
    },
  });
}

/** After a failed send: DISPATCHED again, if still REDRIVEN to this copy and not accepted. */
async function unmark(run: LaneRun, requestId: string, token: string): Promise<boolean> {
  return updateIfStill(run, {
    TableName: run.deps.tableName,
    Key: { [ATTR.key]: { S: requestId } },
    UpdateExpression: 'SET #status = :dispatched REMOVE #redrivenAt',
    ConditionExpression: '#status = :redriven AND #region = :region AND #token = :token AND attribute_not_exists(#acceptedToken)',
    ExpressionAttributeNames: { '#status': ATTR.status, '#redrivenAt': ATTR.redrivenAt, '#region': ATTR.region, '#token': ATTR.token, '#acceptedToken': ATTR.acceptedToken },
    ExpressionAttributeValues: { ':redriven': { S: RECORD_STATUS.redriven }, ':dispatched': { S: RECORD_STATUS.dispatched }, ':region': { S: run.region }, ':token': { S: token } },
  });
}

async function updateIfStill(run: Run, input: UpdateItemCommandInput): Promise<boolean> {
  try {
    await run.deps.dynamo().send(new UpdateItemCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** One copy: steps a, b, c of the file comment. */
async function moveCopy(run: LaneRun, message: Message): Promise<RebalanceEntry> {
  const requestId = attribute(message, MESSAGE_ATTRIBUTE.requestId);
  const token = attribute(message, MESSAGE_ATTRIBUTE.dispatchToken);
  const base = {
    lane: run.lane,
    messageId: message.MessageId as string,
    ...(requestId ? { requestId } : {}),
    ...(token ? { token } : {}),
  };
  if (attribute(message, SMOKE_ATTRIBUTE)) return { ...base, outcome: 'left', detail: 'a smoke copy: left to the smoke run that sent it' };
  if (!requestId || !token) {
    return { ...base, outcome: 'left', detail: `no ${requestId ? 'dispatch_token' : 'request_id'} attribute: not a copy the dispatch sent; left in the queue` };
  }
  let read: RecordRead;
  try {
    read = await getRecord(run.deps.dynamo(), run.deps.tableName, requestId);
  } catch (error) {
    return { ...base, outcome: 'failed', detail: `reading the record failed (${describeError(error)}); left in the queue` };
  }
  const record = summary(read);
  const withRecord = { ...base, ...(record ? { record } : {}) };
  const reason = leaveReason(read, run.region, token);
  if (reason) return { ...withRecord, outcome: 'left', detail: reason };
  const current = read.found && 'record' in read ? read.record.expiresAt : undefined;
  const needed = nowSeconds(run) + run.lifetime;
  const expiresAt = current !== undefined && current > needed ? current : needed;
  if (run.dryRun) return { ...withRecord, outcome: 'would-move', detail: `DISPATCHED to ${run.region} with this copy's token, not accepted: would be marked REDRIVEN and sent to ${queueName(run.toUrl)}` };

  // a. The mark: the claim takes the record over for the copy sent next.
  try {
    if (!(await mark(run, requestId, token, expiresAt))) {
      let after: RecordRead = read;
      try {
        after = await getRecord(run.deps.dynamo(), run.deps.tableName, requestId);
      } catch {
        // The write's refusal is the answer; the reread only explains it.
      }
      const afterSummary = summary(after);
      const why = leaveReason(after, run.region, token) ?? 'the record changed while it was being marked; left in the queue';
      return { ...base, ...(afterSummary ? { record: afterSummary } : {}), outcome: 'left', detail: why };
    }
  } catch (error) {
    return { ...withRecord, outcome: 'failed', detail: `marking the record REDRIVEN failed (${describeError(error)}); left in the queue` };
  }

  // b. The body, unchanged, to the master lane.
  let sentMessageId: string;
  try {
    const result = await run.master.send(
      new SendMessageCommand({
        QueueUrl: run.toUrl,
        MessageBody: message.Body ?? '',
        MessageAttributes: redriveAttributes(run.fromName, `rebalanced from ${run.region}: its fleet takes no work`),
      }),
    );
    sentMessageId = result.MessageId ?? '?';
  } catch (error) {
    let back = 'the record stays REDRIVEN to this copy (the next rebalance takes it; a worker may still accept the copy)';
    try {
      if (await unmark(run, requestId, token)) back = 'the record is DISPATCHED to this copy again (a master copy, if the send landed, is dropped by the claim)';
    } catch {
      // Left REDRIVEN: still safe (file comment, crash between a and b).
    }
    return { ...withRecord, outcome: 'failed', detail: `sending to ${queueName(run.toUrl)} failed (${describeError(error)}); ${back}; the copy is left in the queue` };
  }

  // c. Only now out of the region.
  try {
    const handle = run.reader.receiptHandle(base.messageId) ?? (message.ReceiptHandle as string);
    await run.regional.send(new DeleteMessageCommand({ QueueUrl: run.fromUrl, ReceiptHandle: handle }));
    run.reader.forget(base.messageId);
  } catch (error) {
    return {
      ...withRecord,
      sentMessageId,
      expiresAt,
      outcome: 'failed',
      detail:
        `sent to ${queueName(run.toUrl)} as ${sentMessageId}, but deleting the copy from ${run.fromName} failed (${describeError(error)}): ` +
        'it stays there as a stale copy; the request is dispatched again with a new token, and the fence accepts it once, whichever copy a worker takes first (the other is dropped)',
    };
  }
  return { ...withRecord, sentMessageId, expiresAt, outcome: 'moved', detail: `marked REDRIVEN and sent to ${queueName(run.toUrl)} as ${sentMessageId}; deleted from ${run.fromName}` };
}

/**
 * The region's capacity as the dispatch weighs it, and every other region's; why a rebalance is refused
 * without --force (empty when it is not).
 */
export async function rebalanceCheck(deps: RebalanceDeps, from: string, settleMs = FLEET_CACHE_MAX_MS, nowMs = Date.now()): Promise<{ capacity: RegionCapacity; regions: RegionCapacity[]; refusals: string[]; warnings: string[] }> {
  if (!deps.tableName) throw new TargetError('the target names no idempotency table');
  const names = deps.regions.map((r) => r.region);
  const [fleet, depths] = await Promise.all([
    readFleet({ client: deps.dynamo(), tableName: deps.tableName }, names),
    Promise.all(deps.regions.map((r) => lanesDepth(deps.sqs(r.region), r.queueUrl, r.highQueueUrl).catch(() => undefined))),
  ]);
  const regions = regionCapacities(
    deps.regions.map((r, i) => ({ region: r.region, configured: deps.capacities?.[r.region], depth: depths[i] })),
    fleet.settings,
    fleet.presence,
  );
  const capacity = regions.find((r) => r.region === from) as RegionCapacity;
  const refusals: string[] = [];
  if (capacity.effective.capacity > 0) {
    const why = {
      set: `its capacity is set to ${capacity.effective.capacity}`,
      present: `its fleet reports ${capacity.effective.capacity} live worker(s)`,
      estimated: `it is weighed at ${capacity.effective.capacity} from its queue's in-flight messages (nothing set, no presence)`,
      configured: `it is weighed at its configured capacity ${capacity.effective.capacity} (nothing set, no presence)`,
    }[capacity.effective.source];
    refusals.push(`${from} still takes work: ${why}; the dispatcher could place the moved messages there again (drain it first: capacity set ${from} 0)`);
  }
  const setAt = capacity.setting?.setAt;
  if (capacity.effective.source === 'set' && capacity.effective.capacity === 0 && setAt !== undefined && nowMs - setAt < settleMs) {
    const ready = new Date(setAt + settleMs).toISOString();
    refusals.push(
      `${from} was set to 0 only ${((nowMs - setAt) / 1000).toFixed(1)} s ago: the dispatch may still place there from settings it read before ` +
        `(kept up to ${settleMs / 1000} s); wait until ${ready}`,
    );
  }
  const others = regions.filter((r) => r.region !== from && r.effective.capacity > 0);
  if (!others.length) {
    refusals.push(`no other region has capacity above 0: the dispatcher weighs every region as configured then, and could place the moved messages in ${from} again`);
  }
  return { capacity, regions, refusals, warnings: [...fleet.warnings] };
}

/** Moves a region's waiting copies to the master queue's lanes (see the file comment for the order and why). */
export async function rebalance(deps: RebalanceDeps, options: RebalanceOptions): Promise<RebalanceResult> {
  const region = deps.regions.find((r) => r.region === options.from);
  if (!region) throw new TargetError(`unknown region "${options.from}": the target has ${deps.regions.map((r) => r.region).join(', ')}`);
  if (!deps.masterQueueUrl) throw new TargetError('the target names no master queue URL');
  const now = options.now ?? (() => new Date());
  const check = await rebalanceCheck(deps, options.from, options.settleMs ?? FLEET_CACHE_MAX_MS, now().getTime());
  const force = Boolean(options.force);
  if (check.refusals.length && !force) {
    throw new RebalanceRefusedError(`refusing to rebalance from ${options.from}: ${check.refusals.join('; and ')} (--force to rebalance anyway)`, check.refusals);
  }
  const base: Run = {
    deps,
    region: options.from,
    dryRun: Boolean(options.dryRun),
    now,
    lifetime: options.recordLifetimeSeconds ?? DEFAULT_RECORD_LIFETIME_SECONDS,
    regional: deps.sqs(options.from),
    master: deps.sqs(deps.homeRegion),
  };
  const lanes: Array<{ lane: Lane; fromUrl: string; toUrl: string }> = [
    ...(region.highQueueUrl ? [{ lane: 'high' as const, fromUrl: region.highQueueUrl, toUrl: deps.masterHighQueueUrl ?? deps.masterQueueUrl }] : []),
    { lane: 'normal', fromUrl: region.queueUrl, toUrl: deps.masterQueueUrl },
  ];
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const { signal, onProgress } = options;
  const entries: RebalanceEntry[] = [];
  const laneResults: LaneResult[] = [];
  let attempted = 0;
  let moved = 0;
  let stoppedAtMax = false;
  let stillHidden = 0;

  for (const { lane, fromUrl, toUrl } of lanes) {
    if (stoppedAtMax || signal?.aborted) break;
    const approximate = await queueDepth(base.regional, fromUrl);
    const reader = new QueueReader(base.regional, fromUrl, {
      visibilitySeconds: options.visibilitySeconds ?? READ_DEFAULTS.visibilitySeconds,
      waitSeconds: options.waitSeconds ?? READ_DEFAULTS.waitSeconds,
      idleReceives: options.idleReceives ?? READ_DEFAULTS.idleReceives,
      ...(signal ? { signal } : {}),
    });
    const run: LaneRun = { ...base, lane, reader, fromUrl, fromName: queueName(fromUrl), toUrl };
    try {
      reading: for await (const batch of reader.batches()) {
        for (const message of batch) {
          if (signal?.aborted) break reading;
          if (attempted >= max) {
            stoppedAtMax = true;
            break reading;
          }
          const entry = await moveCopy(run, message);
          entries.push(entry);
          if (entry.outcome !== 'left') attempted++;
          if (entry.outcome === 'moved') moved++;
        }
        onProgress?.({ lane, read: reader.read, estimate: approximate.visible, moved });
      }
    } finally {
      // What was read and not moved (left, failed, beyond --max, a dry run) is made visible again at once.
      stillHidden += (await reader.release()).length;
    }
    laneResults.push({ lane, from: { name: run.fromName, url: fromUrl }, to: { name: queueName(toUrl), url: toUrl }, approximate, read: reader.read });
  }
  const counts: Record<RebalanceOutcome, number> = { moved: 0, 'would-move': 0, left: 0, failed: 0 };
  for (const entry of entries) counts[entry.outcome]++;
  return {
    region: options.from,
    dryRun: base.dryRun,
    forced: force,
    capacity: check.capacity,
    regions: check.regions,
    forcedPast: force ? check.refusals : [],
    warnings: check.warnings,
    lanes: laneResults,
    entries,
    counts,
    stoppedAtMax,
    aborted: Boolean(signal?.aborted),
    stillHidden,
    ok: counts.failed === 0,
  };
}
