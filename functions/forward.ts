/**
 * Forward task, two modes (workflows/dispatch.ts):
 * - primary ({ region }): SendMessageBatch of the branch's messages to that region's queue. If the
 *   region took none of them it throws RegionUnavailable, so that the workflow's Retry and Catch
 *   (not this code) decide when to fail over. It never throws after sending anything, so a retry
 *   cannot forward a message twice.
 * - failover ({ exclude }): places what is pending in the other regions (core/failover.ts).
 */
import { sqsClient } from '../aws/clients.js';
import { sendBatch, type OutgoingMessage } from '../aws/send-batch.js';
import { config, type DispatchConfig } from '../core/config.js';
import { applyResults, failover, type SendResult } from '../core/failover.js';
import { forwardInputSchema, NOT_FORWARDED, type ForwardInput, type ForwardOutput, type Placement } from '../core/placement.js';
import { POLICY, regionLoads } from '../core/policy.js';
import { snapshotAgeSeconds } from '../core/snapshot.js';
import { REGION_UNAVAILABLE } from '../workflows/dispatch.js';
import { logger } from './logger.js';

const log = logger('forward');

export class RegionUnavailableError extends Error {
  override name = REGION_UNAVAILABLE;
}

function outgoing(input: ForwardInput, cfg: DispatchConfig, placement: Placement): OutgoingMessage {
  return {
    id: placement.messageId,
    body: placement.body,
    attributes: {
      request_id: placement.requestId,
      priority: placement.priority,
      batch_id: input.batchId,
      execution: input.executionName,
      source_message_id: placement.messageId,
      origin_region: cfg.homeRegion,
    },
  };
}

function sender(input: ForwardInput, cfg: DispatchConfig) {
  return (region: string, placements: readonly Placement[]) => {
    const queue = cfg.regions.find((r) => r.region === region);
    if (!queue) {
      return Promise.resolve(
        placements.map((p): SendResult => ({ messageId: p.messageId, ok: false, error: `${region} is not configured` })),
      );
    }
    return sendBatch(
      sqsClient(cfg, region),
      queue.queueUrl,
      placements.map((p) => outgoing(input, cfg, p)),
    );
  };
}

const output = (input: ForwardInput, placements: Placement[], reason: string | null): ForwardOutput => ({
  batchId: input.batchId,
  executionName: input.executionName,
  snapshot: input.snapshot,
  placements,
  pendingCount: placements.filter((p) => p.status === 'pending').length,
  reason,
});

export async function forward(input: ForwardInput, cfg: DispatchConfig): Promise<ForwardOutput> {
  const send = sender(input, cfg);
  if (input.region !== undefined) {
    const region = input.region;
    const placements = input.placements.map((p) => ({ ...p }));
    const todo = placements.filter((p) => p.status === 'pending');
    const results = await send(region, todo);
    const { taken, rejected } = applyResults(placements, region, results, new Date().toISOString(), false);
    if (taken === 0 && rejected.size < todo.length) {
      const first = results.find((r) => !r.ok && !r.senderFault);
      throw new RegionUnavailableError(`${region} took none of ${todo.length} messages: ${first?.error ?? 'unknown error'}`);
    }
    const left = placements.filter((p) => p.status === 'pending').length;
    if (left) log.warn('some messages not taken', { region, taken, left });
    return output(input, placements, left ? `${region}: ${left} of ${todo.length} messages not taken` : null);
  }

  const exclude = new Set(input.exclude);
  const loads = regionLoads(cfg.regions, input.snapshot.readings).filter((r) => !exclude.has(r.region));
  const placed = await failover(
    // The branch's reason (why its region failed) replaces the placeholder of placements never tried.
    input.placements.map((p) =>
      p.status === 'pending' && input.reason && (!p.reason || p.reason === NOT_FORWARDED) ? { ...p, reason: input.reason } : p,
    ),
    {
      regions: loads,
      ageSeconds: snapshotAgeSeconds(input.snapshot, Date.now()),
      maxQueueDepthThreshold: cfg.maxQueueDepthThreshold,
      policy: POLICY[cfg.selectionPolicy],
      random: Math.random,
      send,
      now: () => new Date(),
    },
  );
  const stuck = placed.filter((p) => p.status === 'pending');
  log.warn('failover', { from: [...exclude], placed: placed.length - stuck.length, unplaced: stuck.length });
  // What no region took goes to the DLQ with every reason on the way.
  const final = placed.map((p) =>
    p.status === 'pending' ? { ...p, reason: `no region accepted the message: ${p.reason ?? input.reason ?? 'unknown'}` } : p,
  );
  return output(input, final, stuck.length ? `${stuck.length} messages unplaced` : null);
}

export const handler = async (event: unknown): Promise<ForwardOutput> => forward(forwardInputSchema.parse(event), config());
