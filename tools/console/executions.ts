/**
 * The console's view of the dispatch executions, read from their source (console/execution-source.ts):
 * the local stack's Step Functions endpoint, or a deployed stage's log group. A finished execution's
 * description never changes: it is described once.
 */
import type { HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { countOutcomes, executionOutputSchema, failedExecutionOutcomes, flattenOutcomes, type Outcome, type OutcomeCounts } from '../../core/outcomes.js';
import type { ExecutionDescription } from '../ops/executions.js';
import { endpointSource, type ExecutionSource } from './execution-source.js';
import { layoutDefinition, allStates, type GraphLayout } from './graph.js';
import { buildHistoryModel, type ConsoleEvent, type HistoryModel } from './history-model.js';
import { eventRows, executionIo, timeline, type EventRow, type ExecutionIo, type Timeline } from './execution-views.js';
import { searchExecutions, type ExecutionPage, type ExecutionSearch } from './execution-search.js';

/** The execution input's messages, as far as the console needs them (core/batching.ts builds the input). */
const inputSchema = z.looseObject({
  messages: z.array(z.looseObject({ messageId: z.string(), requestId: z.string().optional(), priority: z.string().optional() })).default([]),
});

export interface MessageRow {
  readonly messageId: string;
  readonly requestId?: string;
  readonly priority?: string;
  readonly outcome: Outcome['outcome'];
  readonly region?: string;
  readonly failedOver: boolean;
  /** The region whose Forward branch held it first (the branch that reported it). */
  readonly branch?: string;
  readonly reason?: string;
}

export interface ExecutionSummary {
  readonly arn: string;
  readonly name: string;
  readonly status: string;
  /** Epoch ms. */
  readonly startDate: number;
  readonly stopDate?: number;
  readonly durationMs?: number;
  readonly messages: number;
  readonly counts?: OutcomeCounts;
  readonly failedOver: number;
  readonly error?: string;
  readonly cause?: string;
}

interface Described {
  readonly summary: ExecutionSummary;
  readonly rows: MessageRow[];
  readonly input?: string;
  readonly output?: string;
}

export interface ExecutionDetail {
  readonly execution: ExecutionSummary & { readonly input?: string; readonly output?: string };
  readonly messages: MessageRow[];
  readonly events: ConsoleEvent[];
  readonly model: HistoryModel;
  /** The event history table's rows (execution-views.ts). */
  readonly history: EventRow[];
  readonly timeline: Timeline;
  /** Input, output, error and cause, pretty and size-capped (the whole input and output are in `execution`). */
  readonly io: ExecutionIo;
}

export const ms = (date: Date | undefined) => (date ? date.getTime() : undefined);

export function toConsoleEvent(event: HistoryEvent): ConsoleEvent {
  const details = Object.entries(event).find(([key, value]) => key.endsWith('EventDetails') && value && typeof value === 'object')?.[1];
  return {
    id: event.id ?? 0,
    ...(event.previousEventId !== undefined ? { previousEventId: event.previousEventId } : {}),
    type: event.type ?? '',
    timestamp: ms(event.timestamp) ?? 0,
    ...(details ? { details: details as Record<string, unknown> } : {}),
  };
}

/**
 * One row per message of the batch, from the execution's input and output. Each outcome list of the
 * output is named by its group (forwardedGroups: a region, or null for the messages dead-lettered again,
 * named by the last of `branches`); `branches` names the lists of outputs without it, from definitions
 * with one Forward branch per region (the configured regions, then the dead-letter-again one).
 */
export function messageRows(input: unknown, output: unknown, status: string, error: string | undefined, branches: readonly string[]): MessageRow[] {
  const messages = inputSchema.safeParse(input);
  const list = messages.success ? messages.data.messages : [];
  const ids = list.map((m) => m.messageId);
  const parsed = executionOutputSchema.safeParse(output);
  const outcomes =
    parsed.success ? flattenOutcomes(ids, parsed.data) : status === 'RUNNING' ? [] : failedExecutionOutcomes(ids, error ?? `execution ${status}`);
  const branchOf = new Map<string, string>();
  const groupName = (i: number) => {
    const groups = parsed.success ? parsed.data.forwardedGroups : undefined;
    if (!groups) return branches[i] ?? `branch ${i + 1}`;
    return groups[i] ?? branches.at(-1) ?? `branch ${i + 1}`;
  };
  if (parsed.success) parsed.data.forwarded.forEach((outs, i) => outs.forEach((o) => branchOf.set(o.messageId, groupName(i))));
  const byId = new Map(outcomes.map((o) => [o.messageId, o]));
  return list.map((m) => {
    const o = byId.get(m.messageId);
    return {
      messageId: m.messageId,
      ...(m.requestId ? { requestId: m.requestId } : {}),
      ...(m.priority ? { priority: m.priority } : {}),
      outcome: o?.outcome ?? 'retry',
      ...(o?.region ? { region: o.region } : {}),
      failedOver: Boolean(o?.failedOver),
      ...(branchOf.has(m.messageId) ? { branch: branchOf.get(m.messageId) } : {}),
      ...(o?.reason ? { reason: o.reason } : status === 'RUNNING' ? { reason: 'running' } : {}),
    };
  });
}

const parseJson = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export class ExecutionStore {
  private readonly finished = new Map<string, Described>();
  private listing?: { at: number; done: Promise<Described[]> };
  private definition?: Promise<object>;

  constructor(
    sfn: SFNClient,
    stateMachineArn: string,
    /** Forward branches in the definition's order. */
    private readonly branches: readonly string[],
    private readonly max = 1000,
    /** Where they are read: the local endpoint `sfn` is, by default; or a deployed stage's log group. */
    private readonly source: ExecutionSource = endpointSource(sfn, stateMachineArn),
  ) {}

  private describe(arn: string, d: ExecutionDescription & { readonly input?: string | undefined }): Described {
    const status = d.status ?? 'UNKNOWN';
    const input = parseJson(d.input);
    const rows = messageRows(input, parseJson(d.output), status, d.error, this.branches);
    const start = ms(d.startDate) ?? 0;
    const stop = ms(d.stopDate);
    return {
      input: d.input,
      output: d.output,
      rows,
      summary: {
        arn,
        name: d.name ?? '',
        status,
        startDate: start,
        ...(stop !== undefined ? { stopDate: stop, durationMs: stop - start } : {}),
        messages: rows.length,
        ...(status === 'RUNNING' ? {} : { counts: countOutcomes(rows.map((r) => ({ messageId: r.messageId, outcome: r.outcome }))) }),
        failedOver: rows.filter((r) => r.failedOver).length,
        ...(d.error ? { error: d.error } : {}),
        ...(d.cause ? { cause: d.cause } : {}),
      },
    };
  }

  private async load(): Promise<Described[]> {
    const listed = await this.source.list(this.max);
    const out: Described[] = [];
    const queue = [...listed];
    const workers = Array.from({ length: this.source.concurrency }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const arn = item.executionArn as string;
        const kept = this.finished.get(arn);
        if (kept) continue;
        const described = this.describe(arn, await this.source.describe(arn));
        if (described.summary.status !== 'RUNNING') this.finished.set(arn, described);
        else out.push(described);
      }
    });
    await Promise.all(workers);
    const running = new Map(out.map((d) => [d.summary.arn, d]));
    const listedArns = new Set(listed.map((e) => e.executionArn as string));
    for (const arn of this.finished.keys()) if (!listedArns.has(arn)) this.finished.delete(arn);
    // Newest first, as ListExecutions returns them.
    return listed.flatMap((e) => {
      const d = this.finished.get(e.executionArn as string) ?? running.get(e.executionArn as string);
      return d ? [d] : [];
    });
  }

  /** Every kept execution, newest first; calls within `maxAgeMs` share one read. */
  all(maxAgeMs = this.source.listAgeMs): Promise<Described[]> {
    if (!this.listing || Date.now() - this.listing.at > maxAgeMs) {
      const done = this.load();
      this.listing = { at: Date.now(), done };
      done.catch(() => {
        if (this.listing?.done === done) this.listing = undefined;
      });
    }
    return this.listing.done;
  }

  /** One page of the kept executions that match the search, newest first (execution-search.ts). */
  async list(search: ExecutionSearch): Promise<ExecutionPage<ExecutionSummary>> {
    const all = (await this.all()).map((d) => d.summary);
    // A read that reached its cap may have left older executions unread: its counts are lower bounds.
    return searchExecutions(all, search, all.length < this.max);
  }

  /** The ARN of the kept execution with this name (names are unique per state machine), if any. */
  async arnOf(name: string): Promise<string | undefined> {
    return (await this.all()).find((d) => d.summary.name === name)?.summary.arn;
  }

  /** Executions whose batch held this request_id, newest first, with what became of it there. */
  async withRequest(requestId: string): Promise<Array<ExecutionSummary & { readonly message: MessageRow }>> {
    return (await this.all()).flatMap((d) => d.rows.filter((r) => r.requestId === requestId).map((message) => ({ ...d.summary, message })));
  }

  /** The deployed definition, as DescribeStateMachine returns it. */
  stateMachineDefinition(): Promise<object> {
    this.definition ??= this.source.definition();
    this.definition.catch(() => (this.definition = undefined));
    return this.definition;
  }

  async graph(): Promise<GraphLayout & { readonly stateCount: number }> {
    const definition = await this.stateMachineDefinition();
    return { ...layoutDefinition(definition), stateCount: allStates(definition).length };
  }

  async detail(arn: string): Promise<ExecutionDetail> {
    const described = this.describe(arn, await this.source.describe(arn));
    const [events, definition] = await Promise.all([this.source.history(arn), this.stateMachineDefinition()]);
    const consoleEvents = events.map(toConsoleEvent);
    const { summary } = described;
    const model = buildHistoryModel(consoleEvents, definition, summary.status);
    // Elapsed times count from the history's first event (the execution's start, as its description says otherwise).
    const start = consoleEvents.find((e) => e.type === 'ExecutionStarted')?.timestamp ?? summary.startDate;
    const end = summary.stopDate ?? (summary.status === 'RUNNING' ? Date.now() : (consoleEvents.at(-1)?.timestamp ?? start));
    return {
      execution: { ...summary, ...(described.input ? { input: described.input } : {}), ...(described.output ? { output: described.output } : {}) },
      messages: described.rows,
      events: consoleEvents,
      model,
      history: eventRows(consoleEvents, model, start),
      timeline: timeline(consoleEvents, model, start, end, summary.status),
      io: executionIo({
        ...(described.input !== undefined ? { input: described.input } : {}),
        ...(described.output !== undefined ? { output: described.output } : {}),
        ...(summary.error !== undefined ? { error: summary.error } : {}),
        ...(summary.cause !== undefined ? { cause: summary.cause } : {}),
      }),
    };
  }
}
