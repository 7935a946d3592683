/**
 * The deployment's own settings, as the cost model needs them: imported from stacks/settings.ts and
 * core/topology.ts where they are exported (the state machine's log level per stage among them); the
 * state machine's tracing and the table's point-in-time recovery are literals inside SST code that
 * cannot be imported outside SST, so they are read from the source text, and a warning says so when
 * they cannot be found.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_REGIONS } from '../../../core/topology.js';
import {
  DASHBOARD_ENV,
  dashboardEnabled,
  FUNCTION_LOG_LEVELS,
  FUNCTION_MEMORY_MB,
  FUNCTION_SETTINGS,
  INTAKE_HIGH_SUBSCRIPTION,
  INTAKE_SUBSCRIPTION,
  INSPECTABLE_STAGES_ENV,
  LOG_RETENTION_DAYS,
  stateMachineLogging,
  TABLE_CAPACITY_ENV,
  tableCapacity,
  TRACE_SAMPLING,
} from '../../../stacks/settings.js';
import * as laneReceiver from '../../../worker/lanes.js';
import type { LogLevel } from './log-records.js';
import { lowTrafficPollers } from '../batching.js';
import type { CostSettings, WorkerReceiver } from './model.js';

/**
 * The LaneReceiver of worker/lanes.ts before it exported its settings, when both lanes are empty: a
 * receive from the high lane without a wait, then one from the normal lane with a 1 s wait (2 receives a
 * second); the normal lane alone, 1 s waits.
 */
export const LANE_RECEIVER_DEFAULTS: WorkerReceiver = { idleCycleSeconds: 1, receivesPerIdleCycle: 2, normalOnlyWaitSeconds: 1 };

const positive = (value: unknown): number | undefined => (typeof value === 'number' && value > 0 ? value : undefined);

/**
 * The lane receiver's idle behaviour: from worker/lanes.ts's LANE_RECEIVE when it exports one (its idle
 * cycle: seconds and receives; the normal lane's idle wait), else LANE_RECEIVER_DEFAULTS. Says which.
 */
export function workerReceiverSettings(module: Readonly<Record<string, unknown>> = laneReceiver): { receiver: WorkerReceiver; source: string } {
  const exported = module.LANE_RECEIVE as
    | { idleCycle?: { seconds?: unknown; receives?: unknown }; idleWaitSeconds?: unknown; receivesPerIdleCycle?: unknown }
    | undefined;
  if (exported) {
    const wait = exported.idleWaitSeconds;
    const normalWait = positive(typeof wait === 'object' && wait !== null ? (wait as { normal?: unknown }).normal : wait);
    const cycleSeconds = positive(exported.idleCycle?.seconds) ?? normalWait;
    const cycleReceives = positive(exported.idleCycle?.receives) ?? positive(exported.receivesPerIdleCycle);
    if (cycleSeconds !== undefined && cycleReceives !== undefined && normalWait !== undefined) {
      return {
        receiver: { idleCycleSeconds: cycleSeconds, receivesPerIdleCycle: cycleReceives, normalOnlyWaitSeconds: normalWait },
        source: `worker/lanes.ts LANE_RECEIVE (idle: ${cycleReceives} receives per ${cycleSeconds} s; the normal lane alone: 1 per ${normalWait} s)`,
      };
    }
  }
  return { receiver: LANE_RECEIVER_DEFAULTS, source: "worker/lanes.ts LaneReceiver's defaults (idle: the high lane without a wait, then the normal lane 1 s)" };
}

// The event source's pollers at low traffic live with the batching model both benches share.
export { lowTrafficPollers } from '../batching.js';

/**
 * Alarm metrics of stacks/monitoring.ts: intake errors (1), failed executions (2, metric math), three home
 * DLQs (master, its high lane's, dispatch), and per region its two DLQs and its two lanes' age; plus
 * failovers and claims taken over (EMF). test/stacks/monitoring.test.ts counts them in the synthesis.
 */
export const alarmMetrics = (regions: number) => 1 + 2 + 3 + 4 * regions + 2;

/**
 * Share of requests sent at high priority, for the bill's high lane: a workload assumption, not a setting
 * (the simulations and docs/lanes.md use 10%); `npm run cost -- --high-share` changes it.
 */
export const ASSUMED_HIGH_SHARE = 0.1;

export interface Deployed {
  readonly settings: CostSettings;
  /** Where each setting came from. */
  readonly sources: Readonly<Record<string, string>>;
  readonly warnings: readonly string[];
}

function literal<T>(root: string, file: string, pattern: RegExp, parse: (match: string) => T, fallback: T, warnings: string[], what: string): T {
  try {
    const match = pattern.exec(readFileSync(join(root, file), 'utf8'));
    if (match?.[1] !== undefined) return parse(match[1]);
  } catch {
    // Reported below.
  }
  warnings.push(`could not read ${what} from ${file}; assuming ${String(fallback)}`);
  return fallback;
}

/** The stage the cost is computed for by default: production, whose log level the bill depends on. */
export const DEFAULT_COST_STAGE = 'production';

export interface StageChoice {
  readonly stage?: string;
  /** Price the stage as named in DISPATCH_INSPECTABLE_STAGES at deploy (its executions logged with their data). */
  readonly inspectable?: boolean;
  /** Price the stage as deployed with DISPATCH_DASHBOARD=on. */
  readonly dashboard?: boolean;
}

export function deployedSettings(root: string, choice: StageChoice = {}): Deployed {
  const warnings: string[] = [];
  const stage = choice.stage ?? DEFAULT_COST_STAGE;
  // Only the choice counts, not the shell's environment: the same command prices the same stage anywhere.
  const logging = stateMachineLogging(stage, choice.inspectable ? { [INSPECTABLE_STAGES_ENV]: stage } : {});
  const level: LogLevel = logging.level;
  const executionData = logging.includeExecutionData;
  const xray = literal(root, 'stacks/state-machine.ts', /tracingConfiguration:\s*\{\s*enabled:\s*(true|false)/, (m) => m === 'true', true, warnings, 'tracing');
  const pitr = literal(root, 'stacks/table.ts', /pointInTimeRecovery:\s*\{\s*enabled:\s*(true|false)/, (m) => m === 'true', true, warnings, 'point-in-time recovery');
  const regions = DEFAULT_REGIONS.length;
  const maximumConcurrencySet = 'maximumConcurrency' in INTAKE_SUBSCRIPTION;
  const receiver = workerReceiverSettings();
  return {
    settings: {
      perDay: 100_000,
      regions,
      batchingWindowSeconds: INTAKE_SUBSCRIPTION.maximumBatchingWindowInSeconds,
      pollers: lowTrafficPollers(maximumConcurrencySet),
      highLane: {
        share: ASSUMED_HIGH_SHARE,
        windowSeconds: INTAKE_HIGH_SUBSCRIPTION.maximumBatchingWindowInSeconds,
        pollers: lowTrafficPollers('maximumConcurrency' in INTAKE_HIGH_SUBSCRIPTION),
      },
      maxBatch: INTAKE_SUBSCRIPTION.batchSize,
      cacheTtlSeconds: Number(FUNCTION_SETTINGS.CACHE_TTL),
      logLevel: level,
      executionData,
      logRetentionDays: LOG_RETENTION_DAYS,
      memoryMb: { ...FUNCTION_MEMORY_MB },
      idempotencyTtlDays: Number(FUNCTION_SETTINGS.IDEMPOTENCY_TTL_SECONDS) / 86_400,
      duplicates: 0,
      pitr,
      // As a stage deploys without DISPATCH_TABLE_CAPACITY (the shell's environment does not count, as above).
      tableCapacity: tableCapacity({}),
      xray,
      xraySampling: { reservoirPerSecond: TRACE_SAMPLING.reservoirPerSecond, fixedRate: TRACE_SAMPLING.fixedRate },
      // Lambda writes its platform.start and platform.report records at system level INFO and below.
      lambdaPlatformLogs: FUNCTION_LOG_LEVELS.system !== 'WARN',
      alarmMetrics: alarmMetrics(regions),
      // As the choice says, not the shell's environment (as above).
      dashboards: dashboardEnabled(choice.dashboard ? { [DASHBOARD_ENV]: 'on' } : {}) ? 1 : 0,
      // The EMF metrics of core/metrics.ts that carry data in a quiet month (the failure ones only when they happen).
      customMetrics: 6,
      emfLogs: true,
      // The GPU fleet is not the dispatch's: its idle receives are priced with --workers.
      workers: 0,
      workerSecondsPerRequest: 0,
      workerReceiver: receiver.receiver,
      kmsCallers: 2 + regions,
      alarmTopicKeys: regions,
    },
    sources: {
      regions: 'core/topology.ts DEFAULT_REGIONS',
      batchingWindowSeconds: 'stacks/settings.ts INTAKE_SUBSCRIPTION.maximumBatchingWindowInSeconds',
      maxBatch: 'stacks/settings.ts INTAKE_SUBSCRIPTION.batchSize',
      pollers: `stacks/settings.ts INTAKE_SUBSCRIPTION (maximumConcurrency ${maximumConcurrencySet ? 'set: 5' : 'unset: 2'} pollers at low traffic)`,
      cacheTtlSeconds: 'stacks/settings.ts FUNCTION_SETTINGS.CACHE_TTL',
      logLevel: `stacks/settings.ts stateMachineLogging('${stage}')`,
      executionData: `stacks/settings.ts stateMachineLogging('${stage}')${choice.inspectable ? `, ${INSPECTABLE_STAGES_ENV}=${stage}` : ''}`,
      logRetentionDays: 'stacks/settings.ts LOG_RETENTION_DAYS',
      memoryMb: 'stacks/settings.ts FUNCTION_MEMORY_MB',
      idempotencyTtlDays: 'stacks/settings.ts FUNCTION_SETTINGS.IDEMPOTENCY_TTL_SECONDS',
      pitr: 'stacks/table.ts pointInTimeRecovery',
      tableCapacity: `stacks/settings.ts tableCapacity: ${TABLE_CAPACITY_ENV} unset, on-demand (--table-capacity prices another mode)`,
      xray: 'stacks/state-machine.ts tracingConfiguration (and the functions: Active)',
      xraySampling: 'stacks/settings.ts TRACE_SAMPLING (the sampling rule of stacks/tracing.ts; the intake passes through)',
      workerReceiver: receiver.source,
      alarmMetrics: 'stacks/monitoring.ts (1 + 2 + 3 + 4 per region + 2)',
      dashboards: `stacks/settings.ts dashboardEnabled: ${DASHBOARD_ENV} ${choice.dashboard ? 'on' : 'unset (off)'}${choice.dashboard ? '' : '; --dashboard prices it'}`,
      lambdaPlatformLogs: `stacks/settings.ts FUNCTION_LOG_LEVELS.system ${FUNCTION_LOG_LEVELS.system}`,
      alarmTopicKeys: 'stacks/alarm-keys.ts (one key per region, for its alarm topic)',
      highLane: `stacks/settings.ts INTAKE_HIGH_SUBSCRIPTION (window, pollers); ${ASSUMED_HIGH_SHARE * 100}% of requests high (an assumption)`,
    },
    warnings,
  };
}
