/**
 * What happened to each message of a batch, named as it happened: dispatched to a region, dispatched
 * after failing over from another one (and why that one refused), a duplicate, dead-lettered, or left
 * for a retry. Read from the execution's output (one outcome list per group of the "Forward to regions" Map,
 * each named by forwardedGroups; outputs from before the Map: one per configured region, in order) and,
 * when the history carries data, from the "Failover" states, whose input names the refusing region
 * (the iteration's `region`) and whose output lists the messages they placed.
 */
import { executionOutputSchema, type Outcome } from '../../core/outcomes.js';
import { STATE } from '../../workflows/state-names.js';
import { clip, type Step } from './steps.js';

export interface BatchMessage {
  readonly messageId: string;
  readonly requestId?: string;
  readonly outcome: Outcome['outcome'];
  /** Where it was dispatched (dispatched only). */
  readonly region?: string;
  readonly failedOver: boolean;
  /** The region whose branch had it first and refused it (failed-over messages). */
  readonly failedOverFrom?: string;
  /** Why that region did not take it, as the failover step was told (when the history has data). */
  readonly failoverReason?: string;
  readonly reason?: string;
}

/** The failover state's name: today's, and the per-region one of definitions from before the Map. */
const FAILOVER_STATE = /^Failover from (.+)$/;

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** messageId -> the region it failed over from and why, from the failover steps of the history. */
function failoversInHistory(steps: readonly Step[]): Map<string, { from: string; reason?: string }> {
  const found = new Map<string, { from: string; reason?: string }>();
  for (const step of steps) {
    const input = parseJson(step.input) as { reason?: unknown; region?: unknown } | undefined;
    const from = step.name === STATE.failover ? (typeof input?.region === 'string' ? input.region : undefined) : FAILOVER_STATE.exec(step.name)?.[1];
    if (!from) continue;
    const output = parseJson(step.output) as { placements?: Array<{ messageId?: unknown; failedOver?: unknown }> } | undefined;
    const reason = typeof input?.reason === 'string' ? input.reason : undefined;
    for (const placement of output?.placements ?? []) {
      if (typeof placement.messageId === 'string' && placement.failedOver === true) {
        found.set(placement.messageId, { from, ...(reason ? { reason } : {}) });
      }
    }
  }
  return found;
}

/**
 * One entry per message of the execution's output, or undefined when the output is not a dispatch
 * output (a failed execution has none). `regions`: the configured regions in order, for outputs without
 * forwardedGroups (one Forward branch each, before the Map); `steps`: the history, for the failover reasons.
 */
export function batchMessages(output: unknown, options: { regions?: readonly string[]; steps?: readonly Step[] } = {}): BatchMessage[] | undefined {
  const parsed = executionOutputSchema.safeParse(typeof output === 'string' ? parseJson(output) : output);
  if (!parsed.success) return undefined;
  const fromHistory = failoversInHistory(options.steps ?? []);
  const entry = (o: Outcome, branchRegion?: string): BatchMessage => {
    const failedOver = o.outcome === 'dispatched' && o.failedOver === true;
    const known = fromHistory.get(o.messageId);
    const from = failedOver ? (known?.from ?? branchRegion) : undefined;
    return {
      messageId: o.messageId,
      ...(o.requestId ? { requestId: o.requestId } : {}),
      outcome: o.outcome,
      ...(o.outcome === 'dispatched' && o.region ? { region: o.region } : {}),
      failedOver,
      ...(from ? { failedOverFrom: from } : {}),
      ...(failedOver && known?.reason ? { failoverReason: known.reason } : {}),
      ...(o.reason ? { reason: o.reason } : {}),
    };
  };
  return [
    ...parsed.data.skipped.map((o) => entry(o)),
    ...parsed.data.forwarded.flatMap((outcomes, k) => {
      const groups = parsed.data.forwardedGroups;
      const region = groups ? (groups[k] ?? undefined) : options.regions?.[k];
      return outcomes.map((o) => entry(o, region));
    }),
  ];
}

/** "failed over from us-west-2 (RegionUnavailable)" (the reason only with `withReason`), or the outcome's reason. */
export function messageNote(m: BatchMessage, withReason = true): string {
  if (m.failedOver) {
    const from = m.failedOverFrom ? `failed over from ${m.failedOverFrom}` : 'failed over from another region';
    if (!withReason || !m.failoverReason) return from;
    // The reason names the region first ("us-west-2: RegionUnavailable"): said once is enough.
    const reason = m.failedOverFrom && m.failoverReason.startsWith(`${m.failedOverFrom}: `) ? m.failoverReason.slice(m.failedOverFrom.length + 2) : m.failoverReason;
    return `${from} (${reason})`;
  }
  return m.reason ?? '';
}

/** Failed-over messages by refusing region: why it refused (when known), and region that took them -> count. */
export type FailoverRoutes = Map<string, { reason?: string; to: Map<string, number> }>;

export function failoverRoutes(messages: readonly BatchMessage[]): FailoverRoutes {
  const routes: FailoverRoutes = new Map();
  for (const m of messages) {
    if (!m.failedOver) continue;
    const from = m.failedOverFrom ?? 'another region';
    const route = routes.get(from) ?? { to: new Map<string, number>() };
    route.to.set(m.region ?? '?', (route.to.get(m.region ?? '?') ?? 0) + 1);
    if (!route.reason && m.failoverReason) {
      route.reason = m.failoverReason.startsWith(`${from}: `) ? m.failoverReason.slice(from.length + 2) : m.failoverReason;
    }
    routes.set(from, route);
  }
  return routes;
}

/** "us-west-2 refused 4 (RegionUnavailable): 3 went to us-east-1, 1 to us-west-1" (one clause per refusing region). */
export function formatRoutes(routes: FailoverRoutes): string {
  return [...routes.entries()]
    .map(([from, { reason, to }]) => {
      const total = [...to.values()].reduce((a, b) => a + b, 0);
      const places = [...to.entries()].sort((a, b) => b[1] - a[1]).map(([region, n], i) => `${n}${i === 0 ? ' went' : ''} to ${region}`);
      return `${from} refused ${total}${reason ? ` (${reason})` : ''}: ${places.join(', ')}`;
    })
    .join('; ');
}

/** "10 messages: 10 dispatched, 4 of them failed over (us-west-2 refused 4: 3 went to us-east-1, 1 to us-west-1)" */
export function summarizeMessages(messages: readonly BatchMessage[]): string {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.outcome, (counts.get(m.outcome) ?? 0) + 1);
  const failedOver = messages.filter((m) => m.failedOver).length;
  const parts = [...counts.entries()].map(([outcome, n]) =>
    outcome === 'dispatched' && failedOver ? `${n} dispatched, ${failedOver} of them failed over (${formatRoutes(failoverRoutes(messages))})` : `${n} ${outcome}`,
  );
  return `${messages.length} message${messages.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** The message table: request_id, outcome, region, and what happened; each line cut to `width` (0: whole). */
export function formatMessages(messages: readonly BatchMessage[], width = 80): string {
  const idWidth = Math.min(28, Math.max(2, ...messages.map((m) => (m.requestId ?? m.messageId).length)));
  return messages
    .map((m) => {
      const id = m.requestId ?? m.messageId;
      const head = `  ${(width > 0 ? clip(id, idWidth) : id).padEnd(idWidth)}  ${m.outcome.padEnd(13)} ${(m.region ?? '-').padEnd(10)}`;
      const room = width > 0 ? Math.max(10, width - head.length - 1) : Infinity;
      const full = messageNote(m);
      const note = full.length <= room ? full : messageNote(m, false);
      if (!note) return head.trimEnd();
      return `${head} ${width > 0 ? clip(note, room) : note}`;
    })
    .join('\n');
}

/**
 * Across executions (their outputs, oldest first): the requests dispatched after failing over, each
 * counted once, by route "from -> to". `regions`: the configured regions in order (one branch each).
 */
export function failoversAcross(outputs: readonly unknown[], regions: readonly string[]): { total: number; routes: FailoverRoutes } {
  const byRequest = new Map<string, BatchMessage>();
  for (const output of outputs) {
    for (const m of batchMessages(output, { regions }) ?? []) {
      if (m.outcome === 'dispatched') byRequest.set(m.requestId ?? m.messageId, m);
    }
  }
  const failedOver = [...byRequest.values()].filter((m) => m.failedOver);
  return { total: failedOver.length, routes: failoverRoutes(failedOver) };
}
