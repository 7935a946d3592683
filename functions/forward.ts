/**
 * Forward task, two modes (workflows/dispatch.ts):
 * - primary ({ region }): SendMessageBatch of the branch's messages to that region's queue. When the
 *   region took none of them it throws, so that the workflow's Retry and Catch (not this code) decide
 *   what comes next: RegionUnavailable when every send was answered as refused (safe to fail over),
 *   RegionUnconfirmed when some had no answer (they may be in the queue: retried in the same region,
 *   never failed over). It never throws after a region took something.
 * - failover ({ exclude }): places what is pending in the other regions (core/failover.ts).
 * Every copy carries a dispatch token, unique per send, for the workers' fence (worker/).
 * Metrics (core/metrics.ts): the messages each failover moved (From, To), and sends without an answer per region.
 * A smoke request's copy carries the smoke mark (core/smoke.ts); its failovers and unanswered sends are
 * counted as any other's, since they tell of a region, not of traffic (the intake leaves it out of its counts).
 */
import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { markHealthy, markUnhealthy } from '../aws/region-health.js';
import { laneOf } from '../core/lanes.js';
import { sendBatch, type OutgoingMessage } from '../aws/send-batch.js';
import type { DispatchConfig } from '../core/config.js';
import { applyResults, failover, unconfirmedAfterUnanswered, type SendResult } from '../core/failover.js';
import { openRegions } from '../core/health.js';
import {
  forwardInputSchema,
  NOT_FORWARDED,
  UNANSWERED,
  type ForwardInput,
  type ForwardOutput,
  type Placement,
} from '../core/placement.js';
import { POLICY, regionLoads } from '../core/policy.js';
import { weighedRegions } from '../core/select.js';
import { MESSAGE_ATTRIBUTE } from '../core/record.js';
import { SMOKE_ATTRIBUTE } from '../core/smoke.js';
import { snapshotAgeSeconds } from '../core/snapshot.js';
import { cutChars, sqsText } from '../core/sqs-text.js';
import { FORWARD_SEND_WINDOW_MS } from '../core/topology.js';
import { REGION_UNAVAILABLE, REGION_UNCONFIRMED } from '../core/errors.js';
import { builtOnFirstCall, dependenciesFromEnvironment, resolve, type HandlerDependencies, type Resolved } from './dependencies.js';
import { withLambdaContext } from './logger.js';
import { NO_REGION_REASON, withMetrics, type MetricsRecorder } from './metrics.js';
import { traced } from './tracing.js';

export class RegionUnavailableError extends Error {
  override name = REGION_UNAVAILABLE;
}

export class RegionUnconfirmedError extends Error {
  override name = REGION_UNCONFIRMED;
}

/**
 * The request's model_name, read from the body the intake validated (core/request.ts), made SQS-safe (a
 * JSON escape may hold a character SQS refuses in an attribute) and cut to the schema's 256 characters;
 * undefined when the body has none (a stealing worker then treats the copy as of no model it serves).
 */
export function modelOf(body: string): string | undefined {
  try {
    const model = (JSON.parse(body) as { model_name?: unknown } | null)?.model_name;
    return typeof model === 'string' && model.length > 0 ? cutChars(model, 256) : undefined;
  } catch {
    return undefined;
  }
}

function outgoing(input: ForwardInput, cfg: DispatchConfig, placement: Placement, token: string): OutgoingMessage {
  const model = modelOf(placement.body);
  return {
    id: placement.messageId,
    body: placement.body,
    attributes: {
      [MESSAGE_ATTRIBUTE.requestId]: placement.requestId,
      [MESSAGE_ATTRIBUTE.dispatchToken]: token,
      [MESSAGE_ATTRIBUTE.priority]: placement.priority,
      [MESSAGE_ATTRIBUTE.batchId]: input.batchId,
      [MESSAGE_ATTRIBUTE.execution]: input.executionName,
      [MESSAGE_ATTRIBUTE.sourceMessageId]: placement.messageId,
      [MESSAGE_ATTRIBUTE.originRegion]: cfg.homeRegion,
      // What a stealing worker checks before it keeps a copy from another region (core/stealing.ts servesModel).
      ...(model ? { [MESSAGE_ATTRIBUTE.model]: model } : {}),
      // A smoke request's copy says so: workers leave it to the smoke command (core/smoke.ts).
      ...(placement.smoke ? { [SMOKE_ATTRIBUTE]: placement.smoke } : {}),
    },
  };
}

/**
 * Sends to one region with a fresh token per message; no call starts after the deadline. High-priority
 * messages go to the region's high lane where it has one (core/lanes.ts), the rest to its normal lane.
 */
function sender(input: ForwardInput, { config: cfg, clients }: Resolved, deadlineMs: number) {
  return async (region: string, placements: readonly Placement[]): Promise<SendResult[]> => {
    const queue = cfg.regions.find((r) => r.region === region);
    if (!queue) return placements.map((p) => ({ messageId: p.messageId, ok: false, error: `${region} is not configured` }));
    const tokens = new Map(placements.map((p) => [p.messageId, randomUUID()]));
    const laneUrl = (p: Placement) => (queue.highQueueUrl && laneOf(p.priority) === 'high' ? queue.highQueueUrl : queue.queueUrl);
    const byLane = new Map<string, Placement[]>();
    for (const p of placements) byLane.set(laneUrl(p), [...(byLane.get(laneUrl(p)) ?? []), p]);
    // One SDK attempt: a second is the workflow's Retry, in sight and within the time budget.
    const client = clients.sqs(region, 1);
    const sent = await Promise.all(
      [...byLane].map(([url, group]) =>
        sendBatch(client, url, group.map((p) => outgoing(input, cfg, p, tokens.get(p.messageId) as string)), { deadlineMs }),
      ),
    );
    const results = new Map(sent.flat().map((r) => [r.messageId, r]));
    return placements.map((p) => ({ ...(results.get(p.messageId) as SendResult), token: tokens.get(p.messageId) as string }));
  };
}

const output = (input: ForwardInput, placements: Placement[], reason: string | null): ForwardOutput => ({
  batchId: input.batchId,
  executionName: input.executionName,
  region: input.region ?? (input.exclude?.length === 1 ? (input.exclude[0] as string) : null),
  snapshot: input.snapshot,
  placements,
  pendingCount: placements.filter((p) => p.status === 'pending').length,
  reason,
  failure: null,
  unanswered: UNANSWERED.none,
});

/** Health is advice: a table that cannot be written must not change the forward's outcome. */
async function noteHealth({ log }: Resolved, update: () => Promise<void>): Promise<void> {
  try {
    await update();
  } catch (error) {
    log.warn('region health not recorded', { error: `${(error as Error).name}: ${(error as Error).message}` });
  }
}

/** Why the previous step failed, from its Catch output, which may lack Cause (or hold Lambda's JSON). */
export function failureText(failure: ForwardInput['failure']): string | undefined {
  if (!failure) return undefined;
  let cause = failure.Cause;
  try {
    const parsed = cause ? (JSON.parse(cause) as { errorMessage?: unknown }) : undefined;
    if (typeof parsed?.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // Not Lambda's JSON: the Cause as it is.
  }
  // Cut on a character, never inside a surrogate pair: the text travels as an SQS attribute (the DLQ's reason).
  return cutChars([failure.Error, cause].filter(Boolean).join(': '), 500) || undefined;
}

async function primary(input: ForwardInput, deps: Resolved, region: string, metrics?: MetricsRecorder): Promise<ForwardOutput> {
  const { config: cfg, log } = deps;
  const send = sender(input, deps, Date.now() + FORWARD_SEND_WINDOW_MS);
  const placements = input.placements.map((p) => ({ ...p }));
  const todo = placements.filter((p) => p.status === 'pending');
  const results = await send(region, todo);
  const at = new Date().toISOString();
  const { taken, rejected, unconfirmed } = applyResults(placements, region, results, at, false);
  if (unconfirmed) metrics?.add('sendsUnconfirmed', unconfirmed, { Region: region });
  if (input.afterUnanswered && taken > 0) {
    // An earlier attempt had no answer: what this one did not place stays tied to this region. (When it
    // took nothing it throws below, and the workflow releases the whole branch the same way.)
    const released = unconfirmedAfterUnanswered(placements, region, results, at);
    if (released) log.warn('sent again after no answer; not all taken', { region, taken, released });
    return output(input, placements, released ? `${region}: ${released} of ${todo.length} messages released after no answer` : null);
  }
  if (taken === 0 && rejected.size < todo.length) {
    const first = results.find((r) => !r.ok && !r.senderFault);
    const error = `${region} took none of ${todo.length} messages: ${first?.error ?? 'unknown error'}`;
    await noteHealth(deps, () => markUnhealthy(cfg, region, error));
    if (unconfirmed) throw new RegionUnconfirmedError(`${error} (${unconfirmed} without an answer: they may be in the queue)`);
    throw new RegionUnavailableError(error);
  }
  if (taken && input.snapshot.health.some((h) => h.region === region)) await noteHealth(deps, () => markHealthy(cfg, region));
  const left = placements.filter((p) => p.status === 'pending').length;
  if (left || unconfirmed) log.warn('some messages not taken', { region, taken, left, unconfirmed });
  return output(input, placements, left ? `${region}: ${left} of ${todo.length} messages not taken` : null);
}

/** What a failover did, as metrics: messages another region took (From, To), and sends without an answer. */
function recordFailover(metrics: MetricsRecorder, from: string | undefined, before: readonly Placement[], after: readonly Placement[]): void {
  const wasPending = new Set(before.filter((p) => p.status === 'pending').map((p) => p.messageId));
  for (const placement of after) {
    if (!wasPending.has(placement.messageId) || !placement.region) continue;
    if (placement.status === 'dispatched' && from) metrics.add('failedOver', 1, { From: from, To: placement.region });
    if (placement.status === 'unconfirmed') metrics.add('sendsUnconfirmed', 1, { Region: placement.region });
  }
}

async function failoverMode(input: ForwardInput, deps: Resolved, metrics?: MetricsRecorder): Promise<ForwardOutput> {
  const { config: cfg, log } = deps;
  const exclude = new Set(input.exclude);
  const open = openRegions(input.snapshot.health);
  // The failed region is left out BEFORE weighing: with every other region drained (capacity 0), the
  // drained ones are still the last resort before the DLQ (weighedRegions falls back to all it is given).
  const others = regionLoads(
    weighedRegions(cfg.regions.filter((r) => !exclude.has(r.region)), input.snapshot),
    input.snapshot.readings,
  );
  // Regions marked unhealthy are left out while any other remains.
  const healthy = others.filter((r) => !open.has(r.region));
  const loads = healthy.length ? healthy : others;
  const reason = [input.reason, failureText(input.failure)].filter(Boolean).join(': ') || undefined;
  const sendTo = sender(input, deps, Date.now() + FORWARD_SEND_WINDOW_MS);
  const down: Array<[string, string]> = [];
  const placed = await failover(
    // The branch's reason (why its region failed) replaces the placeholder of placements never tried.
    input.placements.map((p) =>
      p.status === 'pending' && reason && (!p.reason || p.reason === NOT_FORWARDED) ? { ...p, reason } : p,
    ),
    {
      regions: loads,
      ageSeconds: snapshotAgeSeconds(input.snapshot, Date.now()),
      maxQueueDepthThreshold: cfg.maxQueueDepthThreshold,
      policy: POLICY[cfg.selectionPolicy],
      random: Math.random,
      send: async (region, group) => {
        const results = await sendTo(region, group);
        if (!results.some((r) => r.ok || r.senderFault)) down.push([region, results.find((r) => !r.ok)?.error ?? 'not sent']);
        return results;
      },
      now: () => new Date(),
    },
  );
  await Promise.all(down.map(([region, error]) => noteHealth(deps, () => markUnhealthy(cfg, region, `${region}: ${error}`))));
  // The workflow fails over from one region per branch: exclude holds that region.
  if (metrics) recordFailover(metrics, input.exclude?.length === 1 ? input.exclude[0] : undefined, input.placements, placed);
  const stuck = placed.filter((p) => p.status === 'pending');
  log.warn('failover', {
    from: [...exclude],
    placed: placed.filter((p) => p.status === 'dispatched').length,
    unconfirmed: placed.filter((p) => p.status === 'unconfirmed').length,
    unplaced: stuck.length,
  });
  // What no region took goes to the DLQ with every reason on the way.
  const final = placed.map((p) =>
    p.status === 'pending' ? { ...p, reason: sqsText(`${NO_REGION_REASON}: ${p.reason ?? reason ?? 'unknown'}`) } : p,
  );
  return output(input, final, stuck.length ? `${stuck.length} messages unplaced` : null);
}

function forward(input: ForwardInput, deps: Resolved, metrics?: MetricsRecorder): Promise<ForwardOutput> {
  return input.region !== undefined ? primary(input, deps, input.region, metrics) : failoverMode(input, deps, metrics);
}

export type ForwardHandler = (event: unknown, context?: Context) => Promise<ForwardOutput>;

/**
 * The forward over its config and clients: the Lambda context in every log record, the invocation
 * traced where a tracer is configured, the metrics written when it ends (returned or thrown). No early
 * timeout from middy: the function ends as it did before, by Lambda's own timeout.
 */
export function createForwardHandler(dependencies: HandlerDependencies): ForwardHandler {
  const deps = resolve('forward', dependencies);
  return middy(async (event: unknown) => withMetrics('forward', deps.log, deps.metrics, (metrics) => forward(forwardInputSchema.parse(event), deps, metrics)), {
    timeoutEarlyInMillis: 0,
  })
    .use(withLambdaContext(deps.log))
    .use(traced()) as unknown as ForwardHandler;
}

/** What Lambda calls: the forward over the function's environment. */
export const handler: ForwardHandler = builtOnFirstCall(() => createForwardHandler(dependenciesFromEnvironment()));
