/**
 * Select task: a region for every claimed message, by the configured policy, handed to the workflow as
 * one group per region that has work (core/select.ts selectResult). Pure: no AWS call.
 * Metric (core/metrics.ts): the claims it was handed that were taken over from an earlier run.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { DispatchConfig } from '../core/config.js';
import { selectInputSchema, type SelectInput } from '../core/placement.js';
import { highLaneKey, laneOf } from '../core/lanes.js';
import { POLICY } from '../core/policy.js';
import { selectRegions, selectResult, type SelectResult } from '../core/select.js';
import { DispatchedSince } from '../core/snapshot.js';
import { regionKey } from '../core/topology.js';
import { builtOnFirstCall, dependenciesFromEnvironment, resolve, type HandlerDependencies } from './dependencies.js';
import { withLambdaContext } from './logger.js';
import { withMetrics, type MetricsRecorder } from './metrics.js';
import { traced } from './tracing.js';

/**
 * Claims this execution took over from an earlier run that ended without settling them: the claim has
 * been made before (attempts > 1, where the workflow passes it on), or carries what a released claim
 * records (the region or the DLQ an unanswered send went to: workflows/dispatch.ts 'Tried before?').
 */
export function claimsTakenOver(claims: SelectInput['claims']): number {
  return claims.filter((c) => c.claim === 'claimed' && ((c.attempt ?? 1) > 1 || c.preferRegion !== undefined || c.deadLetter === true)).length;
}

async function select(cfg: DispatchConfig, dispatchedSince: DispatchedSince, event: unknown, metrics: MetricsRecorder): Promise<SelectResult> {
  const input = selectInputSchema.parse(event);
  metrics.add('claimsTakenOver', claimsTakenOver(input.claims));
  const output = selectRegions(input, {
    regions: cfg.regions,
    maxQueueDepthThreshold: cfg.maxQueueDepthThreshold,
    policy: POLICY[cfg.selectionPolicy],
    random: Math.random,
    nowMs: Date.now(),
    dispatchedSince: dispatchedSince.for(input.snapshot),
  });
  for (const { region, highQueueUrl } of cfg.regions) {
    const placed = output.assignments[regionKey(region)] ?? [];
    dispatchedSince.add(input.snapshot, placed.map(() => region));
    // Placements in the region's high lane, counted apart as well (core/lanes.ts).
    if (highQueueUrl) dispatchedSince.add(input.snapshot, placed.filter((p) => laneOf(p.priority) === 'high').map(() => highLaneKey(region)));
  }
  return selectResult(output, cfg.regions.map((r) => r.region));
}

export type SelectHandler = (event: unknown, context?: Context) => Promise<SelectResult>;

/**
 * The select over its config (no AWS call: the clients go unused): the Lambda context in every log
 * record, traced where a tracer is configured, the metric written when it ends.
 */
export function createSelectHandler(dependencies: HandlerDependencies): SelectHandler {
  const { config: cfg, log, metrics: destination } = resolve('select', dependencies);
  // Lives as long as the handler (a container), like the snapshot function's cache of readings.
  const dispatchedSince = new DispatchedSince();
  return middy(async (event: unknown) => withMetrics('select', log, destination, (metrics) => select(cfg, dispatchedSince, event, metrics)), {
    timeoutEarlyInMillis: 0,
  })
    .use(withLambdaContext(log))
    .use(traced()) as unknown as SelectHandler;
}

/** What Lambda calls: the select over the function's environment. */
export const handler: SelectHandler = builtOnFirstCall(() => createSelectHandler(dependenciesFromEnvironment()));
