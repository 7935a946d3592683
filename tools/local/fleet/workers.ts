/**
 * Simulated GPU inference workers for one region, so that regional queue depths move as they would
 * with real consumers: each worker takes one message at a time, "processes" it for a fixed time,
 * then deletes it. Stopping interrupts work in progress the way a Spot interruption does, except
 * that the message is handed back at once (visibility 0) instead of after the visibility timeout.
 *
 * With a `fence` (worker/), each worker accepts the request before processing it, completes it after,
 * releases it when interrupted, and deletes a copy whose acceptance is refused (another copy holds or
 * finished the request, or it is dead-lettered) without processing it: `dropped()` counts those.
 *
 * Each worker has a Fence of its own, as each real worker process does (a restarted worker a new one):
 * what one worker's fence watched (worker/watch.ts) is not another's. With `clockSkewSeconds` each
 * worker's fence reads a wall clock off by its skew. A copy refused IN_FLIGHT (this very copy held by a
 * worker, its lease not yet watched for its duration by this worker's fence) is kept by the worker that
 * received it while its fence watches (worker/keep.ts): its visibility is extended, the worker goes on
 * with other messages, and tries the copy's acceptance again once the watch is ripe (taking the lease
 * over). Handed back instead, its next receive would usually reach another fence, which watches again,
 * and after maxReceiveCount (3) receives the copy would go to the regional DLQ: docs/chaos.md, Findings.
 *
 * For chaos runs: `crash` makes a worker die while processing a copy (after its acceptance): the copy is
 * neither deleted nor handed back, the acceptance is not released and its heartbeat stops, so the copy
 * comes back after the queue's visibility timeout; the worker that receives it keeps it while its fence
 * watches the acceptance's lease unchanged for the lease's duration (its own clock, worker/watch.ts), then
 * accepts the same copy again. The worker's slot starts afresh under a new worker id and a new fence, as
 * a restarted instance would; the copies the dead worker kept come back after their visibility. `onEvent`
 * tells what happened to every copy received (a kept copy tried again emits no second `received`).
 *
 * The pool scales while it runs (`setCount`), as a fleet behind a queue does: new workers start polling
 * at once; a worker scaled away finishes the message it holds (a receive it has waiting may still bring
 * one, which it finishes too) and takes no other; a message that its other lane's watch poll brings
 * after that is handed back at once (visibility 0). Each new worker has an id of its own.
 */
import {
  ChangeMessageVisibilityCommand,
  type MessageSystemAttributeName,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { TIMEOUTS } from '../../../core/topology.js';
import { MESSAGE_ATTRIBUTE } from '../../../core/record.js';
import { AlreadyAcceptedError, LeaseLostError, type DropReason } from '../../../worker/errors.js';
import { Fence } from '../../../worker/fence.js';
import { LaneReceiver } from '../../../worker/lanes.js';
import { WatchedCopies } from '../../../worker/keep.js';
import { PresenceReporter } from '../../../worker/presence.js';
import { StealingReceiver, type StealCounters, type StealRegion, type WorkerStealingInput } from '../../../worker/stealing.js';
import { fenced } from '../../../worker/wrapper.js';

/** The dispatch fence on the idempotency table. */
export interface WorkersFence {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  /** The acceptance lease: the queue's visibility timeout. Default: the regional queues' (TIMEOUTS). */
  readonly leaseSeconds?: number;
  /** Prefix of each worker's id (`<prefix>-<n>`). Default: `<region>-<random>`. */
  readonly workerIdPrefix?: string;
  /**
   * Skews of the workers' wall clocks, whole seconds (+ fast, - slow): worker n's fence reads the system
   * time plus entry n modulo the list's length (its `clock` option, worker/fence.ts). Default: none, the
   * system clock. Every worker has a fence of its own either way.
   */
  readonly clockSkewSeconds?: readonly number[];
  /** Watches a copy refused IN_FLIGHT is kept for before it is handed back (worker/keep.ts `maxKeeps`). Default 3. */
  readonly maxKeeps?: number;
}

/** Each worker reports itself in its region's presence item (worker/presence.ts). */
export interface WorkersPresence {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  /** Between renewals, ms (default PRESENCE.heartbeatSeconds). */
  readonly heartbeatMs?: number;
  /** How long an entry counts without a renewal, ms (default PRESENCE.leaseSeconds). */
  readonly leaseMs?: number;
}

/** Each worker steals from other regions' lanes when its own are empty (worker/stealing.ts). */
export interface WorkersStealing {
  /** allowRegions, maxLatencyMs, minBacklogPerWorker, checkEverySeconds, models (worker/stealing.ts). */
  readonly settings: WorkerStealingInput;
  /** The other regions' lanes and SQS clients. */
  readonly regions: readonly StealRegion[];
  /** Where the presence items are read (live workers per region); none: every region counts one worker. */
  readonly presence?: { readonly tableName: string; readonly client: DynamoDBClient };
}

export interface WorkersOptions {
  readonly region: string;
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** The region's high-priority lane: taken first, with the starvation guard of core/lanes.ts (worker/lanes.ts). */
  readonly highQueueUrl?: string;
  /** Concurrent workers, each processing one message at a time. */
  readonly workers: number;
  /** Processing time per message; fractions allowed. */
  readonly secondsPerRequest: number;
  readonly onProcessed?: (body: string, region: string) => void;
  /** Receive/delete errors (a regional outage, say); the worker pauses and goes on. */
  readonly onError?: (error: unknown) => void;
  /** Long-poll wait of each lane's idle watch (worker/lanes.ts, here without rest), whole seconds 1..20. Short, so that stop() returns quickly. Default 1. */
  readonly waitTimeSeconds?: number;
  /** Accept each request through the dispatch fence before processing it; none when absent. */
  readonly fence?: WorkersFence;
  /** A copy the fence refused, deleted without processing (fence only). */
  readonly onDropped?: (body: string, region: string, reason: DropReason) => void;
  /**
   * Asked once per copy a worker takes on (after its acceptance, with a fence): true makes the worker die
   * while processing it (see the header). Absent: no worker ever crashes.
   */
  readonly crash?: (copy: WorkerCopy) => boolean;
  /** Every copy received and what became of it (observation for checkers). */
  readonly onEvent?: (event: WorkerEvent) => void;
  /**
   * stop() aborts the long polls in flight instead of waiting for them. Only when the queue is known to
   * be idle: a receive cut after SQS took a message hides it until its visibility timeout ends.
   */
  readonly abortReceivesOnStop?: boolean;
  /** Report presence (worker/presence.ts); none when absent. */
  readonly presence?: WorkersPresence;
  /** Steal from other regions when the own lanes are empty (worker/stealing.ts); off when absent. */
  readonly stealing?: WorkersStealing;
}

/** One received copy, as a worker saw it. */
export interface WorkerCopy {
  readonly region: string;
  readonly workerId: string;
  /** The regional queue's message id: one per copy, the same on every redelivery of it. */
  readonly messageId: string;
  /** From the message attributes (the dispatch's), absent when the message has none. */
  readonly requestId?: string;
  readonly token?: string;
  readonly receiveCount: number;
  /** How far this worker's fence clock is off, seconds: only when the pool was given `clockSkewSeconds`. */
  readonly clockSkewSeconds?: number;
  /** A stolen copy: the region whose queue it came from (the worker's own region is `region`). */
  readonly stolenFrom?: string;
}

/**
 * received: taken from the queue; processed: done and deleted (with a fence: accepted, processed,
 * completed); dropped: refused by the fence and deleted unprocessed; crashed: the worker died holding it;
 * deferred: not accepted now (IN_FLIGHT: kept while this worker's fence watches, or handed back when kept
 * too often; DynamoDB unreachable; interrupted by stop).
 */
export type WorkerEventKind = 'received' | 'processed' | 'dropped' | 'crashed' | 'deferred';
export interface WorkerEvent extends WorkerCopy {
  readonly kind: WorkerEventKind;
  readonly at: number;
  /** dropped: the fence's reason; deferred: why; processed: 'not completed' when the fence's complete failed. */
  readonly reason?: string;
  /** deferred IN_FLIGHT: true when the worker keeps the copy (worker/keep.ts), false when it hands it back. */
  readonly kept?: boolean;
  /** received: the copy's body. */
  readonly body?: string;
}

export interface Workers {
  /** Stops receiving, hands back messages being processed, waits for every worker to finish. */
  stop(): Promise<void>;
  /**
   * Scales the pool while it runs: up starts new workers at once; down retires the newest ones, each
   * after the message it holds (finished, not handed back), before its next receive. Throws a
   * RangeError for anything but a whole number >= 0, and after stop().
   */
  setCount(count: number): void;
  /** Workers: `count` working (what setCount last asked), `retiring` still finishing their message, `busy` holding one now. */
  counts(): WorkerCounts;
  /** Messages processed and deleted so far. */
  processed(): number;
  /** Copies the fence refused, deleted without processing (always 0 without a fence). */
  dropped(): number;
  /** Times a worker died while processing (see `crash`). */
  crashed(): number;
  /**
   * Kills every worker at once, as a Spot reclaim does, none restarting: receives are cut, copies being
   * processed are neither released, deleted nor handed back (they come back after their visibility and
   * are taken over through the fence), presence entries are left to lapse. Resolves when all are gone.
   */
  kill(): Promise<void>;
  /** Stealing counters summed over the pool's workers (worker/stealing.ts); zeros without `stealing`. */
  stealCounters(): StealCounters;
}

export interface WorkerCounts {
  readonly count: number;
  readonly retiring: number;
  readonly busy: number;
}

class Interrupted extends Error {
  override name = 'Interrupted';
}

const RECEIVE_COUNT: MessageSystemAttributeName[] = ['ApproximateReceiveCount'];
const attribute = (message: Message, name: string) => message.MessageAttributes?.[name]?.StringValue || undefined;

const ERROR_PAUSE_MS = 500;

const checkCount = (count: number) => {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`workers must be a whole number >= 0, got ${count}`);
};

/** One worker of the pool: told to retire, it finishes the message it holds and takes no other. */
interface Slot {
  retiring: boolean;
  busy: boolean;
}

/** Worker n's clock skew: entry n modulo the list's length, or none. */
export const clockSkewOf = (skews: readonly number[] | undefined, index: number): number | undefined =>
  skews?.length ? skews[index % skews.length] : undefined;

/** A fence of one worker's own, on a wall clock `skewSeconds` off (none: the system clock). */
function workerFence(options: WorkersFence, skewSeconds: number | undefined): Fence {
  const skew = skewSeconds ?? 0;
  return Fence.dynamo(options.client, options.tableName, skew ? { clock: () => Math.floor(Date.now() / 1000) + skew } : {});
}

export function startWorkers(options: WorkersOptions): Workers {
  checkCount(options.workers);
  for (const skew of options.fence?.clockSkewSeconds ?? []) {
    if (!Number.isSafeInteger(skew)) throw new RangeError(`clock skews must be whole seconds, got ${skew}`);
  }
  if (!(options.secondsPerRequest >= 0)) throw new Error(`secondsPerRequest must be >= 0, got ${options.secondsPerRequest}`);
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  let stopping = false;
  let killed = false;
  const aborter = new AbortController();
  // Aborted by stop() and kill(): ends a transient acceptance failure's retrying at once.
  const stopped = new AbortController();
  const receivers = new Set<StealingReceiver>();
  const finishedSteals: StealCounters[] = [];
  let processed = 0;
  let dropped = 0;
  let crashed = 0;
  const leaseSeconds = options.fence?.leaseSeconds ?? TIMEOUTS.regionalVisibilitySeconds;
  const workerIdPrefix = options.fence?.workerIdPrefix ?? `${options.region}-${randomUUID().slice(0, 8)}`;
  const sleepers = new Set<() => void>();
  /** The lane each copy in hand came from: where its heartbeat extends its visibility. */
  const queueOf = new WeakMap<Message, string>();
  /** The SQS client of a stolen copy's region (own copies: options.client). */
  const clientOf = new WeakMap<Message, SQSClient>();
  const sqsFor = (message: Message) => clientOf.get(message) ?? options.client;

  /** Resolves true after ms, or false as soon as stop() is called. */
  const sleep = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (stopping) return resolve(false);
      const finish = (completed: boolean) => {
        clearTimeout(timer);
        sleepers.delete(interrupt);
        resolve(completed);
      };
      const interrupt = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      sleepers.add(interrupt);
    });

  const report = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // A failing error callback must not kill the worker.
    }
  };

  const handBack = (queueUrl: string, receiptHandle: string, seconds = 0, client: SQSClient = options.client) =>
    client
      .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }))
      .then(() => undefined, report);

  const notify = (callback: () => void) => {
    try {
      callback();
    } catch (error) {
      report(error);
    }
  };

  /** "Processing": false when interrupted by stop(). */
  const processOne = () => sleep(options.secondsPerRequest * 1000);

  const emit = (copy: WorkerCopy, kind: WorkerEventKind, reason?: string, extra: { kept?: boolean } = {}) => {
    if (options.onEvent) notify(() => options.onEvent?.({ ...copy, kind, at: Date.now(), ...(reason === undefined ? {} : { reason }), ...extra }));
  };

  /** Sets a message's visibility; throws what SQS answers (handBack reports it instead). */
  const setVisibility = async (message: Message, seconds: number) => {
    const queueUrl = queueOf.get(message);
    if (!queueUrl || !message.ReceiptHandle) throw new TypeError('a kept copy needs its queue URL and receipt handle');
    await sqsFor(message).send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: seconds }));
  };
  // A kept copy's visibility outlasts its watch by one turn of a worker: a job and a receive's wait.
  const keepMarginSeconds = Math.ceil(options.secondsPerRequest) + waitTimeSeconds + 1;

  const work = async (index: number, slot: Slot) => {
    // A crashed worker's slot starts again as a new worker, with its own id.
    let life = 0;
    const workerId = () => `${workerIdPrefix}-${index}${life ? `-r${life}` : ''}`;
    const clockSkewSeconds = clockSkewOf(options.fence?.clockSkewSeconds, index);
    /** Resolves when the worker dies while processing (it never resolves otherwise). */
    let die: () => void = () => undefined;
    // A fence per worker life: a restarted worker is a new process, with nothing watched yet.
    const accepting = (id: string) => {
      const fence = options.fence ? workerFence(options.fence, clockSkewSeconds) : undefined;
      return fence
        ? fenced(
            async (message: Message, held) => {
              if (options.crash?.(copyOf(message, id))) {
                // Dead: nothing after this runs (no heartbeat, no complete, no release, no delete).
                held.stopHeartbeat();
                die();
                return new Promise<never>(() => undefined);
              }
              if (!(await processOne())) {
                if (killed) {
                  // Killed: nothing after this runs, as in a crash.
                  held.stopHeartbeat();
                  die();
                  return new Promise<never>(() => undefined);
                }
                throw new Interrupted();
              }
            },
            {
              fence,
              workerId: id,
              leaseSeconds,
              // The heartbeat keeps the copy invisible as long as its lease holds; so does a transient
              // acceptance failure's retrying, which hands the copy back once past its window. Killed: nothing.
              extendVisibility: async (message, seconds) => {
                const queueUrl = queueOf.get(message);
                if (queueUrl && message.ReceiptHandle && !killed) await handBack(queueUrl, message.ReceiptHandle, seconds, sqsFor(message));
              },
              // A throttled or unanswered acceptance is tried again here (worker/transient.ts), up to the
              // lease, rather than left to the visibility timeout: that would spend one of the copy's receives.
              transientRetry: { marginSeconds: keepMarginSeconds, signal: stopped.signal },
              // A copy without the dispatch attributes is fenced by its body's request_id and message id: not an error.
              onWarning: (message, detail) => detail.kind !== 'fallback' && report(new Error(`dispatch fence: ${message} (${JSON.stringify(detail)})`)),
            },
          )
        : undefined;
    };
    const stolenFrom = new WeakMap<Message, string>();
    const copyOf = (message: Message, id: string): WorkerCopy => {
      const requestId = attribute(message, MESSAGE_ATTRIBUTE.requestId);
      const token = attribute(message, MESSAGE_ATTRIBUTE.dispatchToken);
      return {
        region: options.region,
        workerId: id,
        messageId: message.MessageId ?? '',
        ...(requestId ? { requestId } : {}),
        ...(token ? { token } : {}),
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
        ...(clockSkewSeconds === undefined ? {} : { clockSkewSeconds }),
        ...(stolenFrom.has(message) ? { stolenFrom: stolenFrom.get(message) as string } : {}),
      };
    };
    let accept = accepting(workerId());
    // The copies this worker keeps while its fence watches their lease (worker/keep.ts).
    const kept = new WatchedCopies<Message>({
      extendVisibility: setVisibility,
      marginSeconds: keepMarginSeconds,
      ...(options.fence?.maxKeeps ? { maxKeeps: options.fence.maxKeeps } : {}),
      onError: report,
    });
    /** Hands every kept copy back at once: this worker stops or retires. */
    const handBackKept = async () => {
      for (const { message } of kept.release()) {
        const queueUrl = queueOf.get(message);
        if (queueUrl && message.ReceiptHandle) await handBack(queueUrl, message.ReceiptHandle, 0, sqsFor(message));
      }
    };
    // This worker's entry in its region's presence item, one per worker life (a restarted worker is a new one).
    const reporting = () =>
      options.presence
        ? new PresenceReporter({
            client: options.presence.client,
            tableName: options.presence.tableName,
            region: options.region,
            workerId: workerId(),
            ...(options.presence.heartbeatMs === undefined ? {} : { heartbeatMs: options.presence.heartbeatMs }),
            ...(options.presence.leaseMs === undefined ? {} : { leaseMs: options.presence.leaseMs }),
            onError: report,
          }).start()
        : undefined;
    let reporter = reporting();
    const observe = Boolean(options.fence || options.onEvent || options.crash);
    // This worker's lanes, high first (core/lanes.ts): one receiver keeps its turn across messages.
    const lanes = new LaneReceiver(
      async (queueUrl, waitSeconds) =>
        (
          await options.client.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 1,
              WaitTimeSeconds: waitSeconds,
              ...(observe ? { MessageAttributeNames: ['All'], MessageSystemAttributeNames: RECEIVE_COUNT } : {}),
            }),
            ...(options.abortReceivesOnStop || options.stealing ? [{ abortSignal: aborter.signal }] : []),
          )
        ).Messages?.[0],
      { normal: options.queueUrl, ...(options.highQueueUrl ? { high: options.highQueueUrl } : {}) },
      // Both lanes watched with the pool's short wait and no rest, so that stop() returns quickly.
      { idleWaitSeconds: waitTimeSeconds, idleRestSeconds: 0 },
    );
    // With stealing: the own lanes first, then other regions' when they come back empty.
    const receiver = new StealingReceiver({
      ownRegion: options.region,
      lanes,
      regions: options.stealing?.regions ?? [],
      settings: options.stealing?.settings ?? {},
      ...(options.stealing?.presence ? { presence: options.stealing.presence } : {}),
      onError: report,
    });
    receivers.add(receiver);
    /** Stops this worker's lane watch: a message a watch poll brought and no next() took goes back at once. */
    const closeLanes = async () => {
      for (const { queueUrl: url, message } of await receiver.close()) {
        // Killed: what a cut poll brought stays hidden until its visibility ends, as on AWS.
        if (message.ReceiptHandle && !killed) await handBack(url, message.ReceiptHandle);
      }
    };
    try {
      while (!stopping && !slot.retiring) {
        slot.busy = false;
        let message: Message | undefined;
        let queueUrl = options.queueUrl;
        // A kept copy whose watch is ripe comes first: tried again without a receive.
        const due = kept.takeDue();
        if (due) {
          message = due.message;
          queueUrl = queueOf.get(message) ?? queueUrl;
        } else {
          try {
            const received = await receiver.next();
            message = received?.message;
            if (received) {
              queueUrl = received.queueUrl;
              if (received.stolen && received.client) {
                clientOf.set(received.message, received.client);
                stolenFrom.set(received.message, received.region);
              }
            }
          } catch (error) {
            if (killed) break;
            report(error);
            await sleep(ERROR_PAUSE_MS);
            continue;
          }
        }
        if (!message?.ReceiptHandle) continue;
        // Held from here until deleted, handed back, kept or left: a retiring worker finishes it first.
        slot.busy = true;
        const receiptHandle = message.ReceiptHandle;
        queueOf.set(message, queueUrl);
        const body = message.Body ?? '';
        const copy = copyOf(message, workerId());
        if (!due && options.onEvent) notify(() => options.onEvent?.({ ...copy, kind: 'received', at: Date.now(), body }));
        const died = new Promise<'died'>((resolve) => {
          die = () => resolve('died');
        });
        const crashNow = () => {
          crashed += 1;
          emit(copy, 'crashed');
          // A dead process keeps nothing: its kept copies come back after their visibility.
          kept.abandon();
          reporter?.abandon();
          life += 1;
          accept = accepting(workerId());
          reporter = killed ? undefined : reporting();
        };
        if (accept) {
          let outcome;
          try {
            const settled = await Promise.race([accept(message), died]);
            if (settled === 'died') {
              crashNow();
              continue;
            }
            outcome = settled;
          } catch (error) {
            if (error instanceof Interrupted) {
              // Released by the wrapper: give the message back now rather than after the visibility timeout.
              emit(copy, 'deferred', 'interrupted');
              await handBack(queueUrl, receiptHandle, 0, sqsFor(message));
              return;
            }
            if (error instanceof LeaseLostError) {
              // Another worker took this copy over while it was processed here: it is that worker's to finish.
              emit(copy, 'deferred', 'lease lost');
              continue;
            }
            if (error instanceof AlreadyAcceptedError && error.retryAfterSeconds !== undefined) {
              // This very copy is held by a worker: keep it while this worker's fence watches its lease, and
              // try again once the watch is ripe (worker/keep.ts); kept too often, hand it back for that long.
              let keeping = false;
              try {
                keeping = await kept.keep(message, error.retryAfterSeconds, due?.keeps ?? 0);
              } catch (keepError) {
                // Its visibility could not be extended: left to the visibility timeout.
                report(keepError);
                emit(copy, 'deferred', error.reason, { kept: false });
                continue;
              }
              emit(copy, 'deferred', error.reason, { kept: keeping });
              if (!keeping) await handBack(queueUrl, receiptHandle, Math.min(error.retryAfterSeconds, 43_200), sqsFor(message));
              continue;
            }
            // Not accepted: a transient failure (a throttle, DynamoDB unreachable) after the wrapper retried it
            // for the lease, the copy kept meanwhile and then handed back; any other (no request_id): left to
            // the visibility timeout, as on AWS.
            emit(copy, 'deferred', `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`);
            report(error);
            await sleep(ERROR_PAUSE_MS);
            continue;
          }
          try {
            await sqsFor(message).send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
          } catch (error) {
            // Not deleted: it comes back; the fence then drops it (the request is completed).
            report(error);
            // The work was done all the same (the event says so; the counters count deleted copies only).
            if (!outcome.skipped) emit(copy, 'processed', outcome.completed ? 'not deleted' : 'not completed, not deleted');
            continue;
          }
          if (outcome.skipped) {
            dropped += 1;
            const reason = outcome.reason;
            emit(copy, 'dropped', reason);
            notify(() => options.onDropped?.(body, options.region, reason));
          } else {
            processed += 1;
            emit(copy, 'processed', ...(outcome.completed ? [] : ['not completed']));
            notify(() => options.onProcessed?.(body, options.region));
          }
          continue;
        }
        if (options.crash?.(copy)) {
          // Dead while processing: the message is neither deleted nor handed back.
          crashNow();
          continue;
        }
        if (!(await processOne())) {
          if (killed) {
            crashNow();
            return;
          }
          // Interrupted: give the message back now rather than after the visibility timeout.
          emit(copy, 'deferred', 'interrupted');
          await handBack(queueUrl, receiptHandle, 0, sqsFor(message));
          return;
        }
        try {
          await sqsFor(message).send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
        } catch (error) {
          // Not deleted: it comes back after the visibility timeout and is processed again, as on AWS.
          report(error);
          emit(copy, 'processed', 'not deleted');
          continue;
        }
        processed += 1;
        emit(copy, 'processed');
        notify(() => options.onProcessed?.(body, options.region));
      }
    } finally {
      // Stopped or retired: what this worker kept, or its lane watch holds, goes back to the queue at once;
      // its presence entry is removed. Killed: nothing goes back and the entry lapses.
      if (killed) {
        kept.abandon();
        reporter?.abandon();
      } else {
        await handBackKept();
        await reporter?.stop();
      }
      await closeLanes();
      receivers.delete(receiver);
      finishedSteals.push(receiver.counters());
    }
  };

  // Working slots, oldest first (scaling down retires the newest); retired ones finishing their message;
  // every worker still running, retiring ones included.
  const working: Slot[] = [];
  const retired = new Set<Slot>();
  const running = new Set<Promise<void>>();
  let nextIndex = 0;
  const add = () => {
    const slot: Slot = { retiring: false, busy: false };
    working.push(slot);
    const done: Promise<void> = work(nextIndex++, slot).finally(() => {
      slot.busy = false;
      running.delete(done);
      retired.delete(slot);
    });
    running.add(done);
  };
  for (let i = 0; i < options.workers; i++) add();

  return {
    async stop() {
      stopping = true;
      if (options.abortReceivesOnStop) aborter.abort();
      stopped.abort();
      for (const interrupt of [...sleepers]) interrupt();
      await Promise.all([...running]);
    },
    setCount(count: number) {
      checkCount(count);
      if (stopping) throw new RangeError('the workers are stopped');
      while (working.length < count) add();
      while (working.length > count) {
        const slot = working.pop() as Slot;
        slot.retiring = true;
        retired.add(slot);
      }
    },
    counts: () => ({
      count: working.length,
      retiring: retired.size,
      busy: [...working, ...retired].filter((slot) => slot.busy).length,
    }),
    processed: () => processed,
    dropped: () => dropped,
    crashed: () => crashed,
    async kill() {
      killed = true;
      stopping = true;
      aborter.abort();
      stopped.abort();
      for (const interrupt of [...sleepers]) interrupt();
      await Promise.all([...running]);
    },
    stealCounters: () => sumSteals([...finishedSteals, ...[...receivers].map((r) => r.counters())]),
  };
}

/** Stealing counters of several workers, summed. */
export function sumSteals(all: readonly StealCounters[]): StealCounters {
  const byRegion: Record<string, { stolen: number; handedBackForModel: number }> = {};
  for (const c of all) {
    for (const [region, r] of Object.entries(c.byRegion)) {
      const sum = (byRegion[region] ??= { stolen: 0, handedBackForModel: 0 });
      sum.stolen += r.stolen;
      sum.handedBackForModel += r.handedBackForModel;
    }
  }
  const total = (key: 'readings' | 'stolen' | 'handedBackForModel' | 'sqsRequests' | 'dynamoReads') => all.reduce((n, c) => n + c[key], 0);
  return {
    readings: total('readings'),
    stolen: total('stolen'),
    handedBackForModel: total('handedBackForModel'),
    sqsRequests: total('sqsRequests'),
    dynamoReads: total('dynamoReads'),
    byRegion,
  };
}
