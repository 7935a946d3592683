/**
 * `WatchedCopies`: the copies a worker keeps while its own Fence watches their lease.
 *
 * A copy refused IN_FLIGHT (`AlreadyAcceptedError` with `retryAfterSeconds`: this very copy is held, and
 * this worker's fence has not yet watched its lease unchanged for the lease's duration) is only taken over
 * by the fence that watched it (watch.ts). Handed back to the queue, its next receive usually goes to
 * another worker, whose fence starts watching again, and after the queue's maxReceiveCount receives SQS
 * moves it to the dead-letter queue unprocessed. So the worker that started watching keeps the copy
 * instead: `keep` extends the message's visibility over the rest of the watch plus a margin, and the
 * worker's loop takes it back with `takeDue` once the watch is ripe and tries its acceptance again,
 * through the same fence (which then takes the lease over, conditional on the version it watched).
 * Meanwhile the worker goes on receiving and processing other messages; a kept copy costs no receive.
 *
 * While a copy is kept and not yet taken back, its visibility is extended again by the margin shortly
 * before it would end (a worker busy with a long job takes it back only after that job). A copy whose
 * holder came back (the version changed: IN_FLIGHT again) is kept again, up to `maxKeeps` watches; past
 * that `keep` returns false and the caller hands it back, as without keeping.
 *
 * A worker that stops hands its kept copies back (`release`); one that dies keeps nothing (`abandon`):
 * they come back after their visibility, to be watched by whichever worker receives them.
 */
import type { FenceableMessage } from './identity.js';
import type { ExtendVisibility } from './visibility.js';

export interface WatchedCopiesOptions<M extends FenceableMessage> {
  /** Sets one kept message's visibility to `seconds` from now (`sqsVisibility`, visibility.ts). Errors reach `onError`, except in `keep`. */
  readonly extendVisibility: ExtendVisibility<M>;
  /**
   * Visibility beyond the watch, whole seconds: enough for the worker to come back to its loop after the
   * copy is due (a receive's wait, a job). Kept copies not yet taken back are extended by it again. Default 30.
   */
  readonly marginSeconds?: number;
  /** Watches one copy is kept for at most; past that it is handed back. Default 3. */
  readonly maxKeeps?: number;
  /** Milliseconds that never go back (the fence's `monotonic`). Default performance.now(). */
  readonly monotonic?: () => number;
  /** An extension of a kept copy's visibility failed (it may then be received elsewhere: the fence still decides). */
  readonly onError?: (error: unknown, message: M) => void;
}

/** One copy kept: taken back from `takeDue` or `release`. */
export interface KeptCopy<M> {
  readonly message: M;
  /** Monotonic ms when its watch is ripe: try its acceptance again then. */
  readonly dueAt: number;
  /** Watches it was kept for so far (pass to `keep` if refused again). */
  readonly keeps: number;
}

interface Entry<M> extends KeptCopy<M> {
  timer?: ReturnType<typeof setTimeout>;
}

const MAX_VISIBILITY_SECONDS = 43_200;

export class WatchedCopies<M extends FenceableMessage> {
  private readonly entries = new Set<Entry<M>>();
  private readonly monotonic: () => number;
  private readonly marginSeconds: number;
  private readonly maxKeeps: number;

  constructor(private readonly options: WatchedCopiesOptions<M>) {
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.marginSeconds = options.marginSeconds ?? 30;
    this.maxKeeps = options.maxKeeps ?? 3;
    if (!Number.isSafeInteger(this.marginSeconds) || this.marginSeconds < 1) throw new RangeError(`marginSeconds must be a whole number >= 1, got ${this.marginSeconds}`);
    if (!Number.isSafeInteger(this.maxKeeps) || this.maxKeeps < 1) throw new RangeError(`maxKeeps must be a whole number >= 1, got ${this.maxKeeps}`);
  }

  /**
   * Keeps a copy refused IN_FLIGHT for `retryAfterSeconds` (the error's), after `keptBefore` watches
   * (a copy taken back and refused again: its `keeps`). Extends its visibility first (an error there is
   * thrown, and nothing is kept). False: kept `maxKeeps` times already, nothing done: hand it back.
   */
  async keep(message: M, retryAfterSeconds: number, keptBefore = 0): Promise<boolean> {
    if (keptBefore >= this.maxKeeps) return false;
    const waitSeconds = Math.max(0, retryAfterSeconds);
    await this.options.extendVisibility(message, Math.min(Math.ceil(waitSeconds) + this.marginSeconds, MAX_VISIBILITY_SECONDS));
    const entry: Entry<M> = { message, dueAt: this.monotonic() + waitSeconds * 1000, keeps: keptBefore + 1 };
    this.entries.add(entry);
    this.schedule(entry, Math.ceil(waitSeconds) + this.marginSeconds / 2);
    return true;
  }

  /** The kept copy due longest (its watch ripe), no longer kept; undefined when none is due. */
  takeDue(): KeptCopy<M> | undefined {
    const now = this.monotonic();
    let first: Entry<M> | undefined;
    for (const entry of this.entries) if (entry.dueAt <= now && (!first || entry.dueAt < first.dueAt)) first = entry;
    return first ? this.take(first) : undefined;
  }

  /** Milliseconds until the next kept copy is due (0: one is), undefined when none is kept. */
  nextDueInMs(): number | undefined {
    let next: number | undefined;
    for (const entry of this.entries) next = next === undefined ? entry.dueAt : Math.min(next, entry.dueAt);
    return next === undefined ? undefined : Math.max(0, next - this.monotonic());
  }

  get size(): number {
    return this.entries.size;
  }

  /** Every kept copy, no longer kept (a worker that stops: hand them back). */
  release(): KeptCopy<M>[] {
    return [...this.entries].map((entry) => this.take(entry));
  }

  /** Forgets every kept copy without a word to SQS (a worker that dies): they come back after their visibility. */
  abandon(): void {
    this.release();
  }

  private take(entry: Entry<M>): KeptCopy<M> {
    clearTimeout(entry.timer);
    this.entries.delete(entry);
    return { message: entry.message, dueAt: entry.dueAt, keeps: entry.keeps };
  }

  /** Extends the copy's visibility by the margin again `afterSeconds` from now, and so on while it is kept. */
  private schedule(entry: Entry<M>, afterSeconds: number): void {
    entry.timer = setTimeout(() => {
      if (!this.entries.has(entry)) return;
      this.options.extendVisibility(entry.message, this.marginSeconds).catch((error: unknown) => this.options.onError?.(error, entry.message));
      this.schedule(entry, this.marginSeconds / 2);
    }, afterSeconds * 1000);
    entry.timer.unref?.();
  }
}
