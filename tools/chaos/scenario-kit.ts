/**
 * What the scenarios (tools/chaos/scenarios.ts) are written with: a fault window held on until the system met
 * the fault, and counters of what the fault did, read from the fault proxies' logs, the hooks' logs and
 * the workers' events (the evidence each scenario's proof gives).
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FaultProxy } from '../local/faults/proxy.js';
import { sqsAt } from '../local/resources.js';
import type { CheckResult } from './checker.js';
import type { ScenarioContext, ScenarioForm } from './harness.js';

export const REMOTE = ['us-west-2', 'us-west-1'] as const;

export const proxy = (ctx: ScenarioContext, region: string): FaultProxy => {
  const p = ctx.stack.faults.sqs[region];
  if (!p) throw new Error(`no fault proxy for ${region}`);
  return p;
};

/**
 * Runs `during` from faultAtMs for faultSeconds, then `after`. When `hit` says the system has not met the
 * fault yet (a slow machine), the fault is held on a while longer, at most another faultSeconds.
 */
export async function window(ctx: ScenarioContext, during: () => unknown, after: () => unknown, hit?: () => boolean | Promise<boolean>): Promise<void> {
  await ctx.at(ctx.form.faultAtMs);
  await during();
  ctx.note('fault on');
  await holdUntil(ctx, ctx.form.faultAtMs + ctx.form.faultSeconds * 1000, hit);
  await after();
  ctx.note('fault off');
}

/** Waits until `endMs` after the first send, then on while `hit` is false, at most another faultSeconds. */
export async function holdUntil(ctx: ScenarioContext, endMs: number, hit?: () => boolean | Promise<boolean>): Promise<void> {
  await ctx.at(endMs);
  const limit = endMs + ctx.form.faultSeconds * 1000;
  for (let at = endMs; hit && !(await hit()) && at < limit; at += 100) await ctx.at(at + 100);
  if (hit && !(await hit())) ctx.note('the system never met the fault');
}

const dlqClients = new WeakMap<ScenarioContext, SQSClient>();

/** Whether the dispatch DLQ holds a message yet (read straight from the home region's server). */
export async function dispatchDlqHolds(ctx: ScenarioContext): Promise<boolean> {
  const d = ctx.stack.description;
  let client = dlqClients.get(ctx);
  if (!client) dlqClients.set(ctx, (client = sqsAt(d.homeRegion, d.endpoints.sqs[d.homeRegion] as string)));
  const { Attributes } = await client
    .send(new GetQueueAttributesCommand({ QueueUrl: d.dispatchDeadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
    .catch(() => ({ Attributes: undefined }));
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) > 0;
}

export const count = (n: number, what: string) => (n > 0 ? [`${n} ${what}`] : []);
export const faults = (p: FaultProxy, filter: Parameters<FaultProxy['stats']['faults']>[0]) => p.stats.faults(filter);

/** Errors the forwards hit in a region (what the workflow saw of a refusing or vanished region). */
export const forwardErrors = (ctx: ScenarioContext, pattern: RegExp) =>
  ctx.hooks.log.forwards.filter((f) => f.outcome === 'threw' && pattern.test(f.error ?? '')).length;

/** Workers that could not reach their queue or the table, by error text. */
export const workerDeferrals = (ctx: ScenarioContext, pattern: RegExp) => ctx.workerEvents.filter((e) => e.kind === 'deferred' && pattern.test(e.reason ?? '')).length;

export const snapshotsMissing = (ctx: ScenarioContext, region: string, pattern: RegExp) =>
  ctx.hooks.log.snapshots.filter((s) => s.unread.some((u) => u.region === region && pattern.test(u.error))).length;

export const claims = (ctx: ScenarioContext, kind: string, requestId?: string) =>
  ctx.hooks.log.selects.flatMap((s) => s.claims).filter((c) => c.claim === kind && (requestId === undefined || c.requestId === requestId)).length;

export const windowed = (check: CheckResult, name: keyof CheckResult['extraByWindow']) => check.extraByWindow[name] ?? 0;

export const sendFaults = (ctx: ScenarioContext, region: string, mode: 'error' | 'hang' | 'lose-answer') =>
  faults(proxy(ctx, region), { action: 'SendMessageBatch', mode }).filter((f) => mode !== 'lose-answer' || f.applied).length;
export const refusedByDown = (ctx: ScenarioContext, region: string) => snapshotsMissing(ctx, region, /ECONNREFUSED/) + forwardErrors(ctx, new RegExp(`${region}.*ECONNREFUSED`));
export const appliedLost = (p: FaultProxy, action?: string) => faults(p, action ? { action, mode: 'lose-answer' } : { mode: 'lose-answer' }).filter((f) => f.applied).length;
export const intakeCrashes = (ctx: ScenarioContext) => ctx.hooks.log.intakes.filter((i) => i.outcome === 'before' || i.outcome === 'mid-batch' || i.outcome === 'after');
export const redeliveredBatches = (ctx: ScenarioContext) => ctx.hooks.log.intakes.filter((i) => i.maxReceiveCount > 1).length;
/** Messages the workflow released because neither a region nor the dispatch DLQ answered (outcome retry). */
export const releasedUndeliverable = (ctx: ScenarioContext) =>
  ctx.stack.stepFunctions
    .executions()
    .flatMap((e) => ((e.output as { forwarded?: Array<Array<{ outcome?: string; reason?: string }>> } | undefined)?.forwarded ?? []).flat())
    .filter((o) => o.outcome === 'retry' && /dead-letter queue unavailable|the dead-letter send had no answer/.test(o.reason ?? '')).length;
export const workerCrashes = (ctx: ScenarioContext) => ctx.workerEvents.filter((e) => e.kind === 'crashed').length;

/** A crash plan armed from the start of the load until the fault's end (held on until one crash happened). */
export async function crashWhile(ctx: ScenarioContext, arm: () => void, disarm: () => void, crashed: () => boolean): Promise<void> {
  arm();
  ctx.note('crashes armed');
  await holdUntil(ctx, (ctx.form.sendSeconds + ctx.form.faultSeconds) * 1000, crashed);
  disarm();
  ctx.note('crashes disarmed');
}

/** The forms every scenario starts from (short: the test suite's; long: `npm run chaos`), with its own changes. */
const SHORT: ScenarioForm = { requests: 30, repeats: 4, sendSeconds: 1, faultAtMs: 100, faultSeconds: 1, drainLimitSeconds: 25 };
const LONG: ScenarioForm = { requests: 240, repeats: 30, sendSeconds: 8, faultAtMs: 1000, faultSeconds: 5, drainLimitSeconds: 90 };
export const forms = (short: Partial<ScenarioForm> = {}, long: Partial<ScenarioForm> = {}) => ({ short: { ...SHORT, ...short }, long: { ...LONG, ...long } });
