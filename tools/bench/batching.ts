/**
 * The intake's event source mapping as both benches see it: its batching window, batch size and
 * pollers AS DEPLOYED (INTAKE_SUBSCRIPTION in stacks/settings.ts; the pollers at low traffic from
 * lowTrafficPollers below), the analytic batching model the cost model prices
 * (batch sizes, the delay batching adds, the time pollers spend gathering), and the same event source
 * simulated message by message for the placement simulation (tools/bench/sim/model.ts). One model:
 * test/tools/bench/batching.test.ts checks the simulated batches against the formulas.
 *
 * Each poller gathers its own batch: arrivals are shared among the pollers at random, a batch opens with
 * its poller's first message and closes when it holds maxBatch messages or when the window has passed
 * since it opened.
 */
import { INTAKE_SUBSCRIPTION } from '../../stacks/settings.js';

/**
 * Pollers of the event source mapping at low traffic. Lambda developer guide, "Configuring scaling
 * behavior for SQS event source mappings": "For standard queues, Lambda uses long polling to poll a queue
 * until it becomes active. ... When traffic is low, Lambda scales back the processing to five concurrent
 * batches, and can optimize to as few as 2 concurrent batches ... this optimization is not available when
 * you enable the maximum concurrency setting." Each poller long-polls the empty queue (20 s receives)
 * while it gathers no batch (cost/model.ts eventSourceIdleReceives).
 */
export function lowTrafficPollers(maximumConcurrencySet: boolean): number {
  return maximumConcurrencySet ? 5 : 2;
}

/** P(N = n) for N ~ Poisson(mu). */
export function poissonPmf(n: number, mu: number): number {
  if (mu === 0) return n === 0 ? 1 : 0;
  let logP = -mu + n * Math.log(mu);
  for (let i = 2; i <= n; i++) logP -= Math.log(i);
  return Math.exp(logP);
}

export interface BatchingInput {
  /** Messages per second arriving on the master queue (Poisson). */
  readonly ratePerSecond: number;
  /** MaximumBatchingWindowInSeconds. */
  readonly windowSeconds: number;
  /**
   * Concurrent pollers of the event source mapping, each gathering its own batch: arrivals are shared
   * among them, so each sees ratePerSecond / pollers.
   */
  readonly pollers: number;
  /** BatchSize (10). */
  readonly maxBatch: number;
}

/**
 * The distribution of messages per batch, index k-1 for k = 1..maxBatch. A batch opens with its first
 * message and closes when it holds maxBatch or when the window has passed since it opened: K = 1 +
 * min(maxBatch - 1, N), N ~ Poisson(rate / pollers x window). A window of 0 gives batches of one at low
 * rates. (At rates where pollers are busy back to back, batches are fuller than this: the model is
 * conservative there.)
 */
export function batchSizeDistribution(input: BatchingInput): number[] {
  const mu = (input.ratePerSecond / Math.max(1, input.pollers)) * input.windowSeconds;
  const p = new Array<number>(input.maxBatch).fill(0);
  let below = 0;
  for (let n = 0; n < input.maxBatch - 1; n++) {
    p[n] = poissonPmf(n, mu);
    below += p[n] as number;
  }
  p[input.maxBatch - 1] = Math.max(0, 1 - below);
  return p;
}

/** A distribution with the given mean fill (1..maxBatch): the two neighbouring sizes, weighted. */
export function batchDistributionForFill(fill: number, maxBatch: number): number[] {
  if (!(fill >= 1 && fill <= maxBatch)) throw new RangeError(`batch fill must be from 1 to ${maxBatch}, got ${fill}`);
  const p = new Array<number>(maxBatch).fill(0);
  const low = Math.floor(fill);
  const high = Math.min(maxBatch, low + 1);
  const wHigh = fill - low;
  p[low - 1] = (p[low - 1] ?? 0) + (1 - wHigh);
  if (wHigh > 0) p[high - 1] = (p[high - 1] ?? 0) + wHigh;
  return p;
}

export const meanBatch = (p: readonly number[]) => p.reduce((sum, pk, i) => sum + pk * (i + 1), 0);

/**
 * What batching adds to a message's latency: from its arrival to its batch closing. Mean over messages
 * (sum of waits per batch / messages per batch, both in expectation), and the maximum (the window).
 * With C the closing time after the first message and N(t) the arrivals after it:
 *   E[sum of waits] = E[C] + E[integral_0^C N(t) dt] = int_0^W P(N(t) <= B-2) dt + int_0^W E[N(t); N(t) <= B-2] dt
 */
export function batchingDelaySeconds(input: BatchingInput): { readonly mean: number; readonly max: number } {
  const rate = input.ratePerSecond / Math.max(1, input.pollers);
  const w = input.windowSeconds;
  if (w <= 0 || rate <= 0) return { mean: 0, max: Math.max(0, w) };
  const limit = input.maxBatch - 2;
  const integrand = (t: number) => {
    let open = 0;
    let waiting = 0;
    for (let n = 0; n <= limit; n++) {
      const pn = poissonPmf(n, rate * t);
      open += pn;
      waiting += n * pn;
    }
    return open + waiting;
  };
  // Simpson's rule on [0, W].
  const steps = 400;
  const h = w / steps;
  let sum = integrand(0) + integrand(w);
  for (let i = 1; i < steps; i++) sum += (i % 2 ? 4 : 2) * integrand(i * h);
  const waits = (sum * h) / 3;
  const messages = meanBatch(batchSizeDistribution(input));
  return { mean: waits / messages, max: w };
}

/** Share of batches that close on the window rather than on a full batch. */
export function closedByWindowShare(input: BatchingInput): number {
  const p = batchSizeDistribution(input);
  return 1 - (p[input.maxBatch - 1] ?? 0);
}


/**
 * Time a poller spends gathering one batch: from its first message until the batch is full or the
 * window has passed, E[C] = int_0^W P(N(t) <= maxBatch - 2) dt (N: the poller's arrivals after the first).
 * While it gathers, a poller receives once per message and once when the window closes; outside batches
 * it long-polls the empty queue, 20 s a receive.
 */
export function batchGatheringSeconds(input: BatchingInput): number {
  const rate = input.ratePerSecond / Math.max(1, input.pollers);
  const w = input.windowSeconds;
  if (w <= 0) return 0;
  const limit = input.maxBatch - 2;
  if (limit < 0) return 0;
  const open = (t: number) => {
    let p = 0;
    for (let n = 0; n <= limit; n++) p += poissonPmf(n, rate * t);
    return p;
  };
  const steps = 400;
  const h = w / steps;
  let sum = open(0) + open(w);
  for (let i = 1; i < steps; i++) sum += (i % 2 ? 4 : 2) * open(i * h);
  return (sum * h) / 3;
}

/** The intake's batching as deployed: window, batch size and pollers (at low traffic, as the bill assumes). */
export const DEPLOYED_BATCHING = {
  windowSeconds: INTAKE_SUBSCRIPTION.maximumBatchingWindowInSeconds,
  maxBatch: INTAKE_SUBSCRIPTION.batchSize,
  pollers: lowTrafficPollers('maximumConcurrency' in INTAKE_SUBSCRIPTION),
} as const;

export type BatchingSettings = Omit<BatchingInput, 'ratePerSecond'>;

/**
 * The event source simulated: `add` a message arriving at `time` (non-decreasing) on poller `poller`;
 * `flush(until)` closes every batch whose window ends at or before `until` (an arrival first closes
 * those, so an arrival exactly at a window's end opens a new batch). `onBatch(closedAt, arrivals)`
 * receives each batch as it closes (full: at its last arrival; otherwise at its first arrival + window),
 * in closing order.
 */
export class EventSourceBatcher {
  private readonly open: number[][];
  constructor(
    private readonly settings: BatchingSettings,
    private readonly onBatch: (closedAt: number, arrivals: readonly number[]) => void,
  ) {
    this.open = Array.from({ length: Math.max(1, settings.pollers) }, () => []);
  }
  get pollers(): number {
    return this.open.length;
  }
  add(time: number, poller: number): void {
    this.flush(time);
    const batch = this.open[poller] as number[];
    batch.push(time);
    if (batch.length >= this.settings.maxBatch) {
      this.open[poller] = [];
      this.onBatch(time, batch);
    }
  }
  /** Closes, in order of their window's end, the batches whose window ends at or before `until`. */
  flush(until = Number.POSITIVE_INFINITY): void {
    for (;;) {
      let first = -1;
      let end = Number.POSITIVE_INFINITY;
      this.open.forEach((b, i) => {
        if (b.length && (b[0] as number) + this.settings.windowSeconds < end) {
          end = (b[0] as number) + this.settings.windowSeconds;
          first = i;
        }
      });
      if (first < 0 || end > until) return;
      const batch = this.open[first] as number[];
      this.open[first] = [];
      this.onBatch(end, batch);
    }
  }
}
