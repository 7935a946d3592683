/**
 * What a fault proxy did, per API action and per faulted request: a test or a chaos checker reads it to
 * know, for instance, that a SendMessageBatch reached the target and succeeded but its caller never
 * heard so.
 */
import { FAULT_MODES, type FaultMode } from './rules.js';

export interface ActionStats {
  /** Requests received. seen = passed + the sum of faulted. */
  seen: number;
  /** Forwarded and answered untouched. */
  passed: number;
  /** Reached the target: passed, delayed, and lose-answer ones. */
  forwarded: number;
  faulted: Record<FaultMode, number>;
}

export interface FaultRecord {
  /** Order among this proxy's faults, from 1. */
  readonly seq: number;
  /** Epoch ms when the fault was decided. */
  readonly at: number;
  /** Bare action name; '(connection)' for a refused socket. */
  readonly action: string;
  readonly mode: FaultMode;
  readonly ruleId: string;
  readonly ruleName?: string;
  /** lose-answer: what the caller got instead of the answer. */
  readonly then?: 'reset' | 'hang' | 'error';
  /** delay and lose-answer: the target's HTTP status; absent while pending or when the target failed. */
  targetStatus?: number;
  /** delay and lose-answer: the target answered 2xx, so the work was done. */
  applied?: boolean;
  /** The request body, when the proxy was started with `logBodies`. */
  readonly body?: string;
}

/**
 * A request passed through untouched whose caller hung up before the answer reached it (its own request
 * timeout, say): the target did the work (`applied`) and the caller cannot know. Not a fault the proxy
 * injected; logged because it is the same ambiguity.
 */
export interface AbandonedRecord {
  readonly seq: number;
  readonly at: number;
  readonly action: string;
  readonly targetStatus?: number;
  readonly applied: boolean;
  /** The request body, when the proxy keeps bodies. */
  readonly body?: string;
}

export interface StatsSnapshot {
  readonly actions: Record<string, ActionStats>;
  readonly connections: { readonly opened: number; readonly refused: number };
  readonly faults: readonly FaultRecord[];
}

const emptyFaulted = () => Object.fromEntries(FAULT_MODES.map((m) => [m, 0])) as Record<FaultMode, number>;
const emptyAction = (): ActionStats => ({ seen: 0, passed: 0, forwarded: 0, faulted: emptyFaulted() });

export class FaultStats {
  #actions = new Map<string, ActionStats>();
  #faults: FaultRecord[] = [];
  #connections = { opened: 0, refused: 0 };
  #seq = 0;
  #abandoned: AbandonedRecord[] = [];

  constructor(private readonly onFault?: (record: FaultRecord) => void) {}

  #for(action: string): ActionStats {
    let stats = this.#actions.get(action);
    if (!stats) this.#actions.set(action, (stats = emptyAction()));
    return stats;
  }

  seen(action: string): void {
    this.#for(action).seen++;
  }

  passed(action: string): void {
    this.#for(action).passed++;
  }

  forwarded(action: string): void {
    this.#for(action).forwarded++;
  }

  connection(refused: boolean): void {
    this.#connections.opened++;
    if (refused) this.#connections.refused++;
  }

  /** Counts a fault and logs it; the caller fills targetStatus/applied on the returned record later. */
  fault(entry: Omit<FaultRecord, 'seq' | 'at'>): FaultRecord {
    if (entry.action !== '(connection)') this.#for(entry.action).faulted[entry.mode]++;
    const record: FaultRecord = { seq: ++this.#seq, at: Date.now(), ...entry };
    this.#faults.push(record);
    return record;
  }

  /** Reports a record once it is complete (for lose-answer and delay, after the target answered). */
  report(record: FaultRecord): void {
    this.onFault?.({ ...record });
  }

  /** Logs a request whose caller hung up before its answer (see AbandonedRecord). */
  abandon(entry: Omit<AbandonedRecord, 'seq' | 'at'>): void {
    this.#abandoned.push({ seq: this.#abandoned.length + 1, at: Date.now(), ...entry });
  }

  /** Requests whose caller hung up before its answer, in order, optionally one action's. */
  abandoned(filter: { action?: string } = {}): AbandonedRecord[] {
    return this.#abandoned.filter((r) => filter.action === undefined || r.action === filter.action).map((r) => ({ ...r }));
  }

  /** One action's counts (zeros when never seen). */
  action(action: string): ActionStats {
    const stats = this.#actions.get(action) ?? emptyAction();
    return { ...stats, faulted: { ...stats.faulted } };
  }

  /** Faulted requests in order, optionally only one action's or one mode's. */
  faults(filter: { action?: string; mode?: FaultMode } = {}): FaultRecord[] {
    return this.#faults
      .filter((r) => (filter.action === undefined || r.action === filter.action) && (filter.mode === undefined || r.mode === filter.mode))
      .map((r) => ({ ...r }));
  }

  snapshot(): StatsSnapshot {
    return {
      actions: Object.fromEntries([...this.#actions.keys()].map((a) => [a, this.action(a)])),
      connections: { ...this.#connections },
      faults: this.faults(),
    };
  }

  reset(): void {
    this.#actions.clear();
    this.#faults = [];
    this.#connections = { opened: 0, refused: 0 };
    this.#seq = 0;
    this.#abandoned = [];
  }
}
