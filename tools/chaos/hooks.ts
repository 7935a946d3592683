/**
 * Faults inside the functions, and what the functions did, through the local runtime's handler hook
 * (local/dispatch.ts HandlerWrapper): a forward that crashes after it sent, an intake that crashes or
 * times out mid-batch. Every call is logged, so that a scenario can prove its fault fired and the
 * checker gets the tokens each forward sent. Crashes are drawn from seeded PRNGs: a run replays.
 */
import type { Random } from '../../core/random.js';
import type { HandlerWrapper, LocalFunctionName } from '../local/dispatch.js';
import { REGION_UNCONFIRMED } from '../../core/errors.js';
import type { AttemptedCopy, SentCopy } from './checker.js';

interface PlacementLike {
  readonly requestId?: string;
  readonly status?: string;
  readonly region?: string;
  readonly token?: string;
  readonly tokens?: readonly string[];
}

export interface ForwardCall {
  readonly at: number;
  /** primary: sends to `region`; failover: places in the other regions. */
  readonly mode: 'primary' | 'failover';
  /** The execution that called it (its input's executionName). */
  readonly execution?: string;
  readonly region?: string;
  /** returned: answered; threw: failed on its own; crashed: ran, then the hook killed it before it answered. */
  readonly outcome: 'returned' | 'threw' | 'crashed';
  readonly error?: string;
  /** The requests it was asked to send (its input's pending placements): what a call that threw may have left in `region`. */
  readonly asked?: readonly string[];
  readonly placements: ReadonlyArray<{ requestId: string; status: string; region?: string; token?: string; tokens: readonly string[] }>;
}

export interface SelectCall {
  readonly at: number;
  readonly claims: ReadonlyArray<{ requestId?: string; claim: string; reason?: string }>;
}

export interface SnapshotCall {
  readonly at: number;
  /** Regions whose depth was read. */
  readonly read: readonly string[];
  /** Regions that could not be read, with the error. */
  readonly unread: ReadonlyArray<{ region: string; error: string }>;
}

export type IntakeCrash = 'before' | 'mid-batch' | 'after';

export interface IntakeCall {
  readonly at: number;
  readonly records: number;
  /** Highest ApproximateReceiveCount in the batch. */
  readonly maxReceiveCount: number;
  readonly outcome: 'answered' | 'threw' | IntakeCrash;
  readonly failures?: number;
}

export interface CrashPlan {
  /** Chance per call. */
  readonly probability: number;
  readonly random: Random;
  /** At most this many crashes. */
  readonly max?: number;
  /** Intake: crash only batches whose messages are all delivered for the first time. */
  readonly firstDeliveriesOnly?: boolean;
}

export interface ChaosHooks {
  readonly wrap: HandlerWrapper;
  readonly log: {
    readonly forwards: ForwardCall[];
    readonly selects: SelectCall[];
    readonly snapshots: SnapshotCall[];
    readonly intakes: IntakeCall[];
  };
  /** The forward crashes after it ran (only when it sent something). */
  forwardCrash: CrashPlan | undefined;
  /** The intake crashes: before its work, mid-batch (its executions go on without it), or after it. */
  intakeCrash: CrashPlan | undefined;
  crashes(): { forward: number; intake: number };
  /** Intake work still running after its invocation was reported crashed. */
  background(): number;
  /** Sends the forwards reported, for the checker. */
  /**
   * What the forwards sent, by token; and the attempts that ended RegionUnconfirmed (sent, no answer, none
   * confirmed), whose tokens the workflow never hears: by region and request only.
   */
  sends(): { unconfirmed: SentCopy[]; confirmed: SentCopy[]; crashed: SentCopy[]; unansweredAttempts: AttemptedCopy[] };
}

/** A Lambda runtime that died: not one of the errors the workflow retries, so it is caught as "no answer". */
export class RuntimeExitError extends Error {
  override name = 'Runtime.ExitError';
}

const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

function placementsOf(output: unknown): ForwardCall['placements'] {
  const list = (output as { placements?: PlacementLike[] } | null)?.placements ?? [];
  return list.map((p) => ({
    requestId: p.requestId ?? '',
    status: p.status ?? '?',
    ...(p.region ? { region: p.region } : {}),
    ...(p.token ? { token: p.token } : {}),
    tokens: p.tokens ?? [],
  }));
}

/** Whether a forward's output shows it sent anything (a crash after that is a crash after a side effect). */
const sentSomething = (placements: ForwardCall['placements']) => placements.some((p) => p.status === 'dispatched' || p.status === 'unconfirmed');

export function chaosHooks(): ChaosHooks {
  const log = { forwards: [] as ForwardCall[], selects: [] as SelectCall[], snapshots: [] as SnapshotCall[], intakes: [] as IntakeCall[] };
  const crashes = { forward: 0, intake: 0 };
  let background = 0;

  const draw = (plan: CrashPlan | undefined, count: number) =>
    plan !== undefined && (plan.max === undefined || count < plan.max) && plan.random() < plan.probability;

  const hooks: ChaosHooks = {
    log,
    forwardCrash: undefined,
    intakeCrash: undefined,
    crashes: () => ({ ...crashes }),
    background: () => background,
    sends() {
      const unconfirmed: SentCopy[] = [];
      const confirmed: SentCopy[] = [];
      const crashed: SentCopy[] = [];
      const unansweredAttempts: AttemptedCopy[] = [];
      for (const call of log.forwards) {
        if (call.outcome === 'threw' && call.region && call.error?.startsWith(`${REGION_UNCONFIRMED}:`)) {
          for (const requestId of call.asked ?? []) unansweredAttempts.push({ region: call.region, requestId, ...(call.execution ? { execution: call.execution } : {}) });
        }
        for (const p of call.placements) {
          if (!p.region || !p.token) continue;
          const copy = { region: p.region, requestId: p.requestId, token: p.token, ...(call.execution ? { execution: call.execution } : {}) };
          if (call.outcome === 'crashed' && (p.status === 'dispatched' || p.status === 'unconfirmed')) crashed.push(copy);
          else if (p.status === 'dispatched') confirmed.push(copy);
          else if (p.status === 'unconfirmed') unconfirmed.push(copy);
        }
      }
      return { unconfirmed, confirmed, crashed, unansweredAttempts };
    },
    wrap: (<H extends (event: never, context: never) => unknown>(name: LocalFunctionName, handler: H): H => {
      const run = (event: never, context: never) => Promise.resolve(handler(event, context));
      const wrapped: Record<LocalFunctionName, (event: never, context: never) => Promise<unknown>> = {
        async forward(event, context) {
          const input = event as unknown as { region?: string; executionName?: string; placements?: PlacementLike[] };
          const mode = input.region === undefined ? 'failover' : 'primary';
          const base = {
            at: Date.now(),
            mode,
            ...(input.region === undefined ? {} : { region: input.region }),
            ...(input.executionName ? { execution: input.executionName } : {}),
          } as const;
          let output: unknown;
          try {
            output = await run(event, context);
          } catch (error) {
            const asked = (input.placements ?? []).filter((p) => p.status === 'pending' && p.requestId).map((p) => p.requestId as string);
            log.forwards.push({ ...base, outcome: 'threw', error: describe(error), asked, placements: [] });
            throw error;
          }
          const placements = placementsOf(output);
          if (sentSomething(placements) && draw(hooks.forwardCrash, crashes.forward)) {
            crashes.forward++;
            log.forwards.push({ ...base, outcome: 'crashed', placements });
            throw new RuntimeExitError('Runtime exited with error: signal: killed (chaos: crashed after sending)');
          }
          log.forwards.push({ ...base, outcome: 'returned', placements });
          return output;
        },
        async select(event, context) {
          const input = event as unknown as { messages?: Array<{ messageId: string; requestId: string }>; claims?: Array<{ messageId: string; claim: string; reason?: string }> };
          const ids = new Map((input.messages ?? []).map((m) => [m.messageId, m.requestId]));
          log.selects.push({
            at: Date.now(),
            claims: (input.claims ?? []).map((c) => ({ ...(ids.has(c.messageId) ? { requestId: ids.get(c.messageId) as string } : {}), claim: c.claim, ...(c.reason ? { reason: c.reason } : {}) })),
          });
          return run(event, context);
        },
        async snapshot(event, context) {
          const output = (await run(event, context)) as { readings?: Array<{ region: string; known: boolean; error?: string }> } | null;
          const readings = output?.readings ?? [];
          log.snapshots.push({
            at: Date.now(),
            read: readings.filter((r) => r.known).map((r) => r.region),
            unread: readings.filter((r) => !r.known).map((r) => ({ region: r.region, error: r.error ?? '' })),
          });
          return output;
        },
        async intake(event, context) {
          const records = (event as unknown as { Records?: Array<{ attributes?: { ApproximateReceiveCount?: string } }> }).Records ?? [];
          const base = { at: Date.now(), records: records.length, maxReceiveCount: Math.max(0, ...records.map((r) => Number(r.attributes?.ApproximateReceiveCount ?? 1))) };
          const plan = hooks.intakeCrash;
          if ((!plan?.firstDeliveriesOnly || base.maxReceiveCount <= 1) && draw(plan, crashes.intake)) {
            crashes.intake++;
            const r = (plan as CrashPlan).random();
            const how: IntakeCrash = r < 0.2 ? 'before' : r < 0.6 ? 'mid-batch' : 'after';
            log.intakes.push({ ...base, outcome: how });
            if (how === 'before') throw new RuntimeExitError('chaos: the intake died before its work');
            const work = run(event, context);
            if (how === 'after') {
              await work.catch(() => undefined);
              throw new RuntimeExitError('chaos: the intake died after its work, before answering');
            }
            // Mid-batch: the invocation is lost (a crash, a timeout) while what it started runs on.
            background++;
            void work.catch(() => undefined).finally(() => background--);
            await new Promise((resolve) => setTimeout(resolve, Math.floor((plan as CrashPlan).random() * 150)));
            throw new RuntimeExitError('chaos: the intake died mid-batch (its executions run on)');
          }
          try {
            const response = (await run(event, context)) as { batchItemFailures?: unknown[] } | undefined;
            log.intakes.push({ ...base, outcome: 'answered', failures: response?.batchItemFailures?.length ?? 0 });
            return response;
          } catch (error) {
            log.intakes.push({ ...base, outcome: 'threw' });
            throw error;
          }
        },
      };
      return wrapped[name] as unknown as H;
    }) as HandlerWrapper,
  };
  return hooks;
}
