/**
 * What each lever does to the bill at a load: a longer batching window, a lower log level or no execution
 * data, a longer CACHE_TTL; the recommended settings; the issue's targets. Pure.
 */
import type { MeasuredFigures } from './figures.js';
import { computeBill, type Bill, type CostSettings } from './model.js';

/** Batching windows the sweep tries (seconds; the event source allows 0..300). */
export const WINDOW_SWEEP = [0, 1, 2, 5, 10, 20, 30, 60, 120] as const;

/**
 * The recommended window is the shortest of the sweep whose total (every dispatch inspectable: ALL with
 * execution data) is within this share of the cheapest window's: past it, longer windows buy little and
 * cost every message their latency.
 */
export const WINDOW_WITHIN_SHARE = 0.1;
/** ...and no longer than this: a GPU request waits minutes, but batching should not add more than half a minute. */
export const WINDOW_MAX_SECONDS = 30;

/** The issue's targets at 100,000 requests a day. */
export const TARGETS = { perDay: 100_000, inspectableUsd: 15, productionUsd: 10 } as const;

export const LONGER_CACHE_TTL_SECONDS = 300;

export interface SweepRow {
  readonly windowSeconds: number;
  readonly meanBatch: number;
  readonly latencyMeanSeconds: number;
  readonly latencyMaxSeconds: number;
  readonly inspectableUsd: number;
  readonly productionUsd: number;
}

export interface Scenario {
  readonly name: string;
  readonly settings: CostSettings;
  readonly bill: Bill;
}

export const inspectable = (s: CostSettings): CostSettings => ({ ...s, logLevel: 'ALL', executionData: true });

export function windowSweep(base: CostSettings, measured: MeasuredFigures, production: (s: CostSettings) => CostSettings): SweepRow[] {
  return WINDOW_SWEEP.map((windowSeconds) => {
    const at = { ...base, batchingWindowSeconds: windowSeconds, batchFill: undefined };
    const bill = computeBill(inspectable(at), measured);
    return {
      windowSeconds,
      meanBatch: bill.derived.meanBatch,
      latencyMeanSeconds: bill.derived.batchingDelay?.mean ?? 0,
      latencyMaxSeconds: bill.derived.batchingDelay?.max ?? windowSeconds,
      inspectableUsd: bill.totalUsd,
      productionUsd: computeBill(production(at), measured).totalUsd,
    };
  });
}

export function recommendWindow(sweep: readonly SweepRow[]): number {
  const eligible = sweep.filter((r) => r.windowSeconds <= WINDOW_MAX_SECONDS);
  const cheapest = Math.min(...eligible.map((r) => r.inspectableUsd));
  const pick = eligible.find((r) => r.inspectableUsd <= cheapest * (1 + WINDOW_WITHIN_SHARE));
  return pick?.windowSeconds ?? WINDOW_MAX_SECONDS;
}

/**
 * The production default: the most the console can show for at most the production target. ALL without
 * execution data (every execution's path and errors) if it fits, else ERROR (failures only).
 */
export function productionLogging(base: CostSettings, measured: MeasuredFigures): Pick<CostSettings, 'logLevel' | 'executionData'> {
  const allPath = { ...base, logLevel: 'ALL' as const, executionData: false };
  if (computeBill(allPath, measured).totalUsd <= TARGETS.productionUsd) return { logLevel: 'ALL', executionData: false };
  return { logLevel: 'ERROR', executionData: true };
}

export interface Levers {
  readonly sweep: readonly SweepRow[];
  readonly recommendedWindowSeconds: number;
  readonly production: Pick<CostSettings, 'logLevel' | 'executionData'>;
  readonly scenarios: readonly Scenario[];
}

const describeLogging = (s: Pick<CostSettings, 'logLevel' | 'executionData'>) =>
  s.logLevel === 'ALL' ? `ALL ${s.executionData ? 'with' : 'without'} execution data` : s.logLevel;

export function levers(base: CostSettings, measured: MeasuredFigures): Levers {
  // The window and the production level are chosen at the targets' load, then applied at `base`'s.
  const atTarget = { ...base, perDay: TARGETS.perDay, batchFill: undefined };
  const firstSweep = windowSweep(atTarget, measured, (s) => ({ ...s, logLevel: 'ERROR', executionData: true }));
  const w = recommendWindow(firstSweep);
  const production = productionLogging({ ...atTarget, batchingWindowSeconds: w }, measured);
  const sweep = windowSweep({ ...base, batchFill: undefined }, measured, (s) => ({ ...s, ...production }));
  const scenario = (name: string, settings: CostSettings): Scenario => ({ name, settings, bill: computeBill(settings, measured) });
  const windowed = { ...base, batchingWindowSeconds: w, batchFill: undefined };
  return {
    sweep,
    recommendedWindowSeconds: w,
    production,
    scenarios: [
      scenario(`as given (${describeLogging(base)}, window ${base.batchFill === undefined ? `${base.batchingWindowSeconds} s` : `fill ${base.batchFill}`})`, base),
      scenario(`batching window ${w} s`, windowed),
      scenario('log level ALL without execution data', { ...base, logLevel: 'ALL', executionData: false }),
      scenario('log level ERROR', { ...base, logLevel: 'ERROR', executionData: true }),
      scenario('log level OFF', { ...base, logLevel: 'OFF' }),
      scenario(`CACHE_TTL ${LONGER_CACHE_TTL_SECONDS} s`, { ...base, cacheTtlSeconds: LONGER_CACHE_TTL_SECONDS }),
      scenario('2 event source pollers (maximumConcurrency unset)', { ...base, pollers: 2 }),
      scenario('X-Ray off', { ...base, xray: false }),
      scenario('functions\' system log level WARN (no platform records)', { ...base, lambdaPlatformLogs: false }),
      scenario(`recommended, every dispatch inspectable: window ${w} s, ALL with execution data`, inspectable(windowed)),
      scenario(`recommended production default: window ${w} s, ${describeLogging(production)}`, { ...windowed, ...production }),
      scenario(
        `floor: window ${w} s, log OFF, X-Ray off, system logs WARN, no dashboard, alarms or metrics`,
        { ...windowed, logLevel: 'OFF', xray: false, lambdaPlatformLogs: false, dashboards: 0, alarmMetrics: 0, alarmTopicKeys: 0, customMetrics: 0, emfLogs: false },
      ),
    ],
  };
}

export const loggingName = describeLogging;
