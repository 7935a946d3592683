/**
 * The Task hook of one explored run: counts attempts per state and item, logs every attempt, and
 * breaks the ones the combination names: at the wire for service integrations and for the forward
 * function's sends (a fault-proxy rule for that call or that attempt only), in the hook for Lambda
 * service errors and hangs past TimeoutSeconds (thrown at once: no real waiting).
 */
import type { TaskHandler } from '../local/emulators/asl-runner.js';
import type { FaultProxy, FaultRule } from '../local/faults/proxy.js';
import { REGION_UNAVAILABLE } from '../../workflows/dispatch.js';
import type { TaskInfo } from './definition.js';
import { HOOK_ERRORS, type FaultId, type PointRole } from './faults.js';
import type { AttemptLog, AttemptRole, SentCopy } from './observation.js';
import { covers, type Combination, type Point } from './space.js';

export interface InjectContext {
  readonly tasks: ReadonlyMap<string, TaskInfo>;
  readonly forwardArn: string;
  readonly deadLetterQueueUrl: string;
  readonly homeRegion: string;
  readonly regions: readonly string[];
  readonly proxies: { readonly dynamodb: FaultProxy; readonly sqs: Readonly<Record<string, FaultProxy>> };
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});

interface PlacementLike {
  readonly requestId?: string;
  readonly status?: string;
  readonly region?: string;
  readonly token?: string;
}

const placementsOf = (value: unknown): PlacementLike[] => {
  const list = obj(value).placements;
  return Array.isArray(list) ? (list as PlacementLike[]) : [];
};

/**
 * The region group a forward call works on (the Forward iteration's region): the region sent to, or the
 * one a failover fails over from. Its attempts are counted per region, as each region's own state was.
 */
function groupOf(input: unknown): string | undefined {
  const region = obj(input).region;
  if (typeof region === 'string') return region;
  const exclude = obj(input).exclude;
  return Array.isArray(exclude) && exclude.length === 1 && typeof exclude[0] === 'string' ? exclude[0] : undefined;
}

/** The request_id a service integration's call is about (DynamoDB key, SQS message attribute). */
function requestIdOf(input: unknown): string | undefined {
  const key = obj(obj(obj(input).Key).request_id).S;
  if (typeof key === 'string') return key;
  const attribute = obj(obj(obj(input).MessageAttributes).request_id).StringValue;
  return typeof attribute === 'string' ? attribute : undefined;
}

function entriesHold(body: unknown, requestIds: ReadonlySet<string>): boolean {
  const entries = obj(body).Entries;
  return Array.isArray(entries) && entries.some((e) => requestIds.has(String(obj(obj(obj(e).MessageAttributes).request_id).StringValue)));
}

/** The group of a message no forward held in this execution: the messages to dead-letter again. */
export const DEAD_LETTER_AGAIN_GROUP = 'dead-letter again';

const failure = (name: string, message: string) => Object.assign(new Error(message), { name });

const SERVICE_RULES: Partial<Record<FaultId, FaultRule>> = {
  'refused-4xx': { mode: 'error', error: 'throttle' },
  dropped: { mode: 'refuse' },
  'stored-5xx': { mode: 'lose-answer', then: 'error' },
  'stored-reset': { mode: 'lose-answer', then: 'reset' },
  'send-refused-4xx': { mode: 'error', error: 'throttle' },
  'send-stored-5xx': { mode: 'lose-answer', then: 'error' },
  'send-stored-reset': { mode: 'lose-answer', then: 'reset' },
};

/** Faults after which the caller cannot know whether the effect happened. */
const UNANSWERED_FAULTS = new Set<FaultId>(['dropped', 'stored-5xx', 'stored-reset', 'timeout-applied', 'timeout-unapplied', 'ran-service-error', 'ran-crash', 'timeout-ran', 'timeout-unrun']);
const LOST_AFTER_RUN = new Set<FaultId>(['ran-service-error', 'ran-crash', 'timeout-ran']);

export class Injector {
  readonly attempts: AttemptLog[] = [];
  readonly points: Point[] = [];
  firstFaultSeq: number | undefined;
  /** Which delivery is running (0: the first; 1: the next): each fault names the one it hits. */
  execution = 0;
  #seq = 0;
  readonly #counters = new Map<string, number>();
  /** request_id -> the region of the Forward iteration that holds it (absent: the dead-letter-again group). */
  readonly #groups = new Map<string, string>();

  constructor(
    private readonly context: InjectContext,
    private readonly combo: Combination,
    /** request_id -> the item's stable label (m0, m1, ...), the same in every run. */
    private readonly items: ReadonlyMap<string, string>,
  ) {}

  wrap = (state: string, handler: TaskHandler): TaskHandler => async (input) => {
    const task = this.context.tasks.get(state);
    if (!task) return handler(input);
    const role = this.#role(task, input);
    const holds = this.#holds(task, role, input);
    const requestId = task.inMap ? requestIdOf(input) : undefined;
    const forwardGroup = role === 'forward' || role === 'failover' ? groupOf(input) : undefined;
    if (role === 'forward' && forwardGroup) for (const p of placementsOf(input)) if (p.requestId) this.#groups.set(p.requestId, forwardGroup);
    // A forward or failover: its region (one iteration of the Forward map each); a write or a send about one
    // message: that message; anything else holds the whole batch.
    const item = requestId !== undefined ? (this.items.get(requestId) ?? requestId) : (forwardGroup ?? '-');
    const group = forwardGroup ?? (requestId !== undefined && task.inMap ? (this.#groups.get(requestId) ?? DEAD_LETTER_AGAIN_GROUP) : undefined);
    const counter = `${this.execution}\u0000${state}\u0000${item}`;
    const attempt = (this.#counters.get(counter) ?? 0) + 1;
    this.#counters.set(counter, attempt);
    const seq = ++this.#seq;
    const pointRole: PointRole = { kind: task.kind, ...(role === 'forward' ? { sends: 'primary' as const } : role === 'failover' ? { sends: 'failover' as const } : {}) };
    this.points.push({ state, item, attempt, role: pointRole, maxAttempts: task.maxAttempts, seq, execution: this.execution, ...(group ? { group } : {}) });
    const fault = this.combo.find((f) => covers(f, state, item, attempt, this.execution))?.kind;
    if (fault && this.firstFaultSeq === undefined) this.firstFaultSeq = seq;

    const log = (outcome: { unanswered: readonly string[]; sent?: readonly SentCopy[]; answerLost?: boolean }) =>
      this.attempts.push({
        seq,
        execution: this.execution,
        state,
        item,
        attempt,
        role,
        holds,
        ...(fault ? { fault } : {}),
        unanswered: outcome.unanswered,
        sent: outcome.sent ?? [],
        answerLost: outcome.answerLost ?? false,
      });

    const sendsOf = (output: unknown) => this.#sent(role, holds, output);
    const unansweredOf = (output: unknown) => this.#unconfirmed(role, holds, output);
    if (fault && !SERVICE_RULES[fault] && fault !== 'send-refused-conn') {
      // Hook faults: the Lambda service's errors and hangs past TimeoutSeconds.
      const runs = fault === 'timeout-applied' || LOST_AFTER_RUN.has(fault);
      let output: unknown;
      if (runs) output = await handler(input).catch(() => undefined);
      log({ unanswered: UNANSWERED_FAULTS.has(fault) ? holds : [], sent: runs ? sendsOf(output) : [], answerLost: LOST_AFTER_RUN.has(fault) });
      const name =
        fault === 'throttled' ? HOOK_ERRORS.throttled : fault === 'ran-service-error' ? HOOK_ERRORS.serviceError : fault === 'ran-crash' ? HOOK_ERRORS.crash : HOOK_ERRORS.timeout;
      throw failure(name, `injected: ${fault}`);
    }
    const undo = fault ? await this.#install(task, role, fault, holds, requestId, input) : async () => {};
    try {
      const output = await handler(input);
      log({ unanswered: unansweredOf(output), sent: sendsOf(output) });
      return output;
    } catch (error) {
      // A send that failed without RegionUnavailable may have stored something; other Tasks: only what we broke.
      const sends = role === 'forward' || role === 'failover';
      const unanswered = sends ? (error as Error).name !== REGION_UNAVAILABLE : fault !== undefined && UNANSWERED_FAULTS.has(fault);
      log({ unanswered: unanswered ? holds : [] });
      throw error;
    } finally {
      await undo();
    }
  };

  #role(task: TaskInfo, input: unknown): AttemptRole {
    if (task.kind === 'sqs') return obj(input).QueueUrl === this.context.deadLetterQueueUrl ? 'dead-letter' : 'other';
    if (task.kind !== 'lambda' || task.resource !== this.context.forwardArn) return 'other';
    return obj(input).region !== undefined ? 'forward' : 'failover';
  }

  #holds(task: TaskInfo, role: AttemptRole, input: unknown): string[] {
    if (role === 'forward' || role === 'failover') {
      return placementsOf(input).filter((p) => p.status === 'pending' && p.requestId).map((p) => p.requestId as string);
    }
    const id = task.kind === 'lambda' ? undefined : requestIdOf(input);
    return id ? [id] : [];
  }

  /** Copies a forward reported: placements it held, now dispatched or unconfirmed, with their token. */
  #sent(role: AttemptRole, holds: readonly string[], output: unknown): SentCopy[] {
    if (role !== 'forward' && role !== 'failover') return [];
    return placementsOf(output)
      .filter((p) => p.requestId && holds.includes(p.requestId) && p.token && p.region && (p.status === 'dispatched' || p.status === 'unconfirmed'))
      .map((p) => ({ region: p.region as string, requestId: p.requestId as string, token: p.token as string }));
  }

  #unconfirmed(role: AttemptRole, holds: readonly string[], output: unknown): string[] {
    if (role !== 'forward' && role !== 'failover') return [];
    return placementsOf(output)
      .filter((p) => p.requestId && holds.includes(p.requestId) && p.status === 'unconfirmed')
      .map((p) => p.requestId as string);
  }

  /** Puts the wire fault in place for this attempt; returns what takes it away. */
  async #install(task: TaskInfo, role: AttemptRole, fault: FaultId, holds: readonly string[], requestId: string | undefined, input: unknown): Promise<() => Promise<void>> {
    const { proxies } = this.context;
    if (role === 'forward' || role === 'failover') {
      const held = new Set(holds);
      const regions = role === 'forward' ? [String(obj(input).region)] : this.context.regions;
      if (fault === 'send-refused-conn') {
        const down = regions.flatMap((r) => (proxies.sqs[r] ? [proxies.sqs[r]] : []));
        await Promise.all(down.map((p) => p.setDown(true)));
        // Let the clients see their idle keep-alive sockets close: a request written to one would be a
        // reset (no answer), not the refused connection this fault is.
        await new Promise((resolve) => setTimeout(resolve, 5));
        return async () => {
          await Promise.all(down.map((p) => p.setDown(false)));
        };
      }
      const rule = SERVICE_RULES[fault];
      if (!rule) return async () => {};
      const installed = regions.flatMap((r) => {
        const proxy = proxies.sqs[r];
        return proxy ? [[proxy, proxy.rules.add({ ...rule, actions: ['SendMessageBatch'], when: (body) => entriesHold(body, held) } as FaultRule)] as const] : [];
      });
      return async () => {
        for (const [proxy, id] of installed) proxy.rules.remove(id);
      };
    }
    const rule = SERVICE_RULES[fault];
    if (!rule || !task.action) return async () => {};
    const proxy = task.kind === 'dynamodb' ? proxies.dynamodb : proxies.sqs[this.context.homeRegion];
    if (!proxy) return async () => {};
    const id = proxy.rules.add({ ...rule, actions: [task.action], times: 1, when: (body) => requestIdOf(body) === requestId } as FaultRule);
    return async () => {
      proxy.rules.remove(id);
    };
  }
}
