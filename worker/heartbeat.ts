/**
 * The holder's side of a lease: while a job runs, extend the lease every third of it (a new version each
 * time, so that a watcher's watch starts again) and, through `onBeat`, the message's visibility with it.
 * Stops on completion, release or a thrown job (`stop`); its timers are unref'd, so a process that dies or
 * ends never keeps beating and a beat never keeps a process alive.
 *
 * The job is told through `signal` when the lease is lost: a beat refused (another worker took the copy
 * over, or it was completed or released elsewhere: NOT_HOLDER) or no beat got through before the lease ran
 * out by this holder's own monotonic clock (EXPIRED). Pass `versions` to complete / release: they then
 * hold only on this holder's own lease.
 */
import { randomUUID } from 'node:crypto';
import { LeaseLostError, NotHolderError } from './errors.js';
import type { Fence, HeldLease } from './fence.js';

export interface HeartbeatOptions {
  /** Between beats, ms. Default: a third of the lease. */
  readonly everyMs?: number;
  /** Called after each beat with the lease's seconds: extend the message's visibility by as much. */
  readonly onBeat?: (seconds: number) => Promise<void>;
  /** A beat or an onBeat that failed without losing the lease (DynamoDB or SQS unreachable): tried again at the next beat. */
  readonly onError?: (error: unknown) => void;
}

/** Versions kept while beats go unanswered: each may have landed. */
const MAX_VERSIONS = 8;

export class Heartbeat {
  private readonly controller = new AbortController();
  private versions: string[];
  private leaseSeconds: number;
  private validUntil: number;
  private stopped = false;
  private beatTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fence: Fence,
    private readonly lease: HeldLease,
    private readonly options: HeartbeatOptions = {},
  ) {
    this.versions = [lease.version];
    this.leaseSeconds = lease.leaseSeconds;
    this.validUntil = lease.validUntil;
    this.armExpiry();
    this.schedule();
  }

  /** Aborted, with a LeaseLostError as its reason, when the lease is lost. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the lease is lost, or undefined while it holds. */
  get lost(): LeaseLostError | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as LeaseLostError) : undefined;
  }

  /** The lease versions this holder may hold now: its complete / release hold only on one of them. */
  get heldVersions(): readonly string[] {
    return [...this.versions];
  }

  /** One beat now; the lease holds `seconds` from now and later beats keep that length. Throws LeaseLostError when lost. */
  beat(seconds = this.leaseSeconds): Promise<void> {
    const next = this.inFlight.then(() => this.beatOnce(seconds));
    this.inFlight = next.catch(() => undefined);
    return next;
  }

  /** No more beats; waits for one in flight, so that no heartbeat races the completion or release that follows. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.beatTimer);
    clearTimeout(this.expiryTimer);
    await this.inFlight;
  }

  private async beatOnce(seconds: number): Promise<void> {
    const lost = this.lost;
    if (lost) throw lost;
    const newVersion = randomUUID();
    const before = this.versions;
    // Until the answer comes, the record may hold either version; the write itself holds on both, so that
    // its resend after a lost answer (the SDK's) meets its own new version and is not taken for a loss.
    this.versions = [...before, newVersion].slice(-MAX_VERSIONS);
    try {
      const renewed = await this.fence.renew({ requestId: this.lease.requestId, token: this.lease.token, workerId: this.lease.workerId, seconds, versions: this.versions, newVersion });
      this.versions = [renewed.version];
      this.leaseSeconds = seconds;
      this.validUntil = renewed.validUntil;
      if (!this.stopped) this.armExpiry();
    } catch (error) {
      if (error instanceof NotHolderError) {
        const lostNow = new LeaseLostError(this.lease.requestId, 'NOT_HOLDER', error.record);
        this.lose(lostNow);
        throw lostNow;
      }
      throw error;
    }
    await this.options.onBeat?.(seconds);
  }

  private schedule(): void {
    if (this.stopped || this.lost) return;
    const everyMs = this.options.everyMs ?? (this.leaseSeconds * 1000) / 3;
    this.beatTimer = setTimeout(() => {
      this.beat().then(
        () => this.schedule(),
        (error: unknown) => {
          if (!(error instanceof LeaseLostError)) this.options.onError?.(error);
          this.schedule();
        },
      );
    }, everyMs);
    this.beatTimer.unref();
  }

  /** Told the moment the lease runs out by this holder's clock: a watcher may take it over from then on. */
  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.lose(new LeaseLostError(this.lease.requestId, 'EXPIRED')), Math.max(0, this.validUntil - this.fence.monotonic()));
    this.expiryTimer.unref();
  }

  private lose(error: LeaseLostError): void {
    if (this.controller.signal.aborted) return;
    clearTimeout(this.beatTimer);
    clearTimeout(this.expiryTimer);
    this.controller.abort(error);
  }
}
