/**
 * What each lever does to the bill at a load: a longer batching window, a lower log level or no execution
 * data, a longer CACHE_TTL; the table's capacity mode and its break-even; the recommended settings; the
 * issue's targets. Pure.
 */
import type { MeasuredFigures } from './figures.js';
import { MIN_PROVISIONED_WRITE_UNITS } from '../../../stacks/settings.js';
import { computeBill, type Bill, type CostSettings } from './model.js';
import { DAYS_PER_MONTH, PRICES, SECONDS_PER_MONTH } from './prices.js';

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
/** Issue 19's targets at 100,000 requests a day: production, every dispatch inspectable, and an idle worker's receives. */
export const TARGETS = { perDay: 100_000, inspectableUsd: 30, productionUsd: 15, idleWorkerUsd: 0.1 } as const;

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
      scenario(
        base.lambdaPlatformLogs ? "functions' system log level WARN (no platform records)" : "functions' system log level INFO (Lambda's platform records)",
        { ...base, lambdaPlatformLogs: !base.lambdaPlatformLogs },
      ),
      scenario(base.dashboards > 0 ? 'no dashboard' : 'with the dashboard (DISPATCH_DASHBOARD=on)', { ...base, dashboards: base.dashboards > 0 ? 0 : 1 }),
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

// ---- the table's capacity: on-demand or provisioned ---------------------------------------------------

/**
 * How a provisioned table is sized for a steady load here: twice the mean rate of write and of read units
 * (a daily peak at twice the mean; the seconds-long bursts of a batch's claims are taken by DynamoDB's
 * burst capacity, up to 300 s of unused capacity), and never under the floors: MIN_PROVISIONED_WRITE_UNITS
 * write units (stacks/settings.ts, a full batch's claims at once) and 1 read unit.
 */
export const CAPACITY_HEADROOM = 2;
export const MIN_READ_UNITS = 1;

/** DynamoDB request units one request costs, on average (the claim, its mark, the worker's two writes; reads). */
export interface UnitsPerRequest {
  readonly wru: number;
  readonly rru: number;
}

export interface ProvisionedUnits {
  readonly readUnits: number;
  readonly writeUnits: number;
}

/** The provisioned capacity a steady load needs: headroom x the mean units a second, rounded up, at least the floors. */
export function capacityFor(perDay: number, units: UnitsPerRequest, headroom = CAPACITY_HEADROOM): ProvisionedUnits {
  const perSecond = (u: number) => (perDay * u) / 86_400;
  return {
    readUnits: Math.max(MIN_READ_UNITS, Math.ceil(headroom * perSecond(units.rru) - 1e-9)),
    writeUnits: Math.max(MIN_PROVISIONED_WRITE_UNITS, Math.ceil(headroom * perSecond(units.wru) - 1e-9)),
  };
}

/** On-demand: what a month of the table's requests costs at a load. */
export function onDemandTableUsd(perDay: number, units: UnitsPerRequest): number {
  return perDay * DAYS_PER_MONTH * (units.wru * PRICES.dynamoWriteUnit.usd + units.rru * PRICES.dynamoReadUnit.usd);
}

/** Provisioned: a month of the capacity held, whatever is consumed. */
export function provisionedTableUsd(capacity: ProvisionedUnits): number {
  return (SECONDS_PER_MONTH / 3600) * (capacity.writeUnits * PRICES.dynamoWcuHour.usd + capacity.readUnits * PRICES.dynamoRcuHour.usd);
}

/**
 * The break-even: the lowest load (whole requests a day) from which provisioned capacity sized by
 * capacityFor costs no more than on-demand requests; undefined when it never does (a headroom that makes
 * every unit dearer held than bought). Between two loads where the capacity is the same the provisioned
 * cost is flat and on-demand grows, so the first crossing is found by jumping to where on-demand reaches
 * the provisioned cost of the load reached so far.
 */
export function tableBreakEven(units: UnitsPerRequest, headroom = CAPACITY_HEADROOM): number | undefined {
  const perRequest = onDemandTableUsd(1, units);
  if (!(perRequest > 0)) return undefined;
  let perDay = 1;
  for (let i = 0; i < 100_000 && perDay < 1e12; i++) {
    const needed = provisionedTableUsd(capacityFor(perDay, units, headroom));
    const crossing = Math.max(perDay, Math.ceil(needed / perRequest - 1e-9));
    if (crossing === perDay) return perDay;
    const at = capacityFor(crossing, units, headroom);
    const here = capacityFor(perDay, units, headroom);
    if (at.writeUnits === here.writeUnits && at.readUnits === here.readUnits) return crossing;
    perDay = crossing;
  }
  return undefined;
}

/** The table's request units per request in a bill (its WRU and RRU lines over the month's messages). */
export function unitsPerRequest(bill: Bill): UnitsPerRequest {
  const units = (unit: string) => bill.lines.filter((l) => l.service === 'DynamoDB' && l.unit === unit).reduce((t, l) => t + l.quantity, 0);
  return { wru: units('WRU') / bill.derived.messagesPerMonth, rru: units('RRU') / bill.derived.messagesPerMonth };
}

export interface TableCapacityFigures {
  readonly perDay: number;
  readonly units: UnitsPerRequest;
  readonly onDemandUsd: number;
  /** The capacity this load needs (capacityFor) and its month. */
  readonly sized: ProvisionedUnits;
  readonly sizedUsd: number;
  readonly headroom: number;
  /** Requests a day from which provisioned (sized for the load) is cheaper; units per request taken at that load. */
  readonly breakEvenPerDay: number | undefined;
}

/**
 * The table's two modes at `base`'s load and the break-even. Units per request change a little with the
 * load (the health reads follow executions, not messages): they are taken at the load given, then again
 * at the break-even found, until it settles.
 */
export function tableCapacityFigures(base: CostSettings, measured: MeasuredFigures, headroom = CAPACITY_HEADROOM): TableCapacityFigures {
  const onDemand = { ...base, tableCapacity: { mode: 'on-demand' } as const };
  const units = unitsPerRequest(computeBill(onDemand, measured));
  let breakEven = tableBreakEven(units, headroom);
  for (let i = 0; i < 5 && breakEven !== undefined; i++) {
    const next = tableBreakEven(unitsPerRequest(computeBill({ ...onDemand, perDay: breakEven }, measured)), headroom);
    if (next === breakEven) break;
    breakEven = next;
  }
  const sized = capacityFor(base.perDay, units, headroom);
  return {
    perDay: base.perDay,
    units,
    onDemandUsd: onDemandTableUsd(base.perDay, units),
    sized,
    sizedUsd: provisionedTableUsd(sized),
    headroom,
    breakEvenPerDay: breakEven,
  };
}
