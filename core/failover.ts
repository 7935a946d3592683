/**
 * Forwarding with failover, given a way to send to one region. The forward function (functions/forward.ts)
 * supplies the SQS sender; the logic lives here so it can be tested without a network.
 *
 * A region that fails outright (took none of what it was sent) is avoided for the rest of the call and
 * its messages are placed again among the remaining regions by the same policy; messages that no region
 * takes stay pending with every reason, for the workflow to dead-letter.
 */
import { NOT_FORWARDED, type Placement } from './placement.js';
import type { Policy, RegionLoad } from './policy.js';
import type { Random } from './random.js';

export interface SendResult {
  readonly messageId: string;
  readonly ok: boolean;
  readonly sqsMessageId?: string;
  readonly error?: string;
  /** The message itself was rejected (e.g. invalid attribute): no region will take it. */
  readonly senderFault?: boolean;
}

export type SendToRegion = (region: string, placements: readonly Placement[]) => Promise<SendResult[]>;

/** Applies send results to placements; returns how many were taken. */
export function applyResults(
  placements: Placement[],
  region: string,
  results: readonly SendResult[],
  at: string,
  failedOver: boolean,
): { taken: number; rejected: Set<string> } {
  const byId = new Map(results.map((r) => [r.messageId, r]));
  const rejected = new Set<string>();
  let taken = 0;
  for (const [i, placement] of placements.entries()) {
    const result = byId.get(placement.messageId);
    if (!result || placement.status !== 'pending') continue;
    if (result.ok) {
      taken++;
      placements[i] = { ...placement, status: 'dispatched', region, at, sqsMessageId: result.sqsMessageId, failedOver, reason: undefined };
    } else {
      if (result.senderFault) rejected.add(placement.messageId);
      placements[i] = { ...placement, reason: appendReason(placement.reason, `${region}: ${result.error ?? 'not sent'}`) };
    }
  }
  return { taken, rejected };
}

export function appendReason(previous: string | undefined, next: string): string {
  return previous && previous !== NOT_FORWARDED ? `${previous}; ${next}` : next;
}

export interface FailoverSettings {
  /** Candidate regions with their loads (excluding the failed one). */
  readonly regions: readonly RegionLoad[];
  readonly maxQueueDepthThreshold: number;
  readonly policy: Policy;
  readonly random: Random;
  readonly send: SendToRegion;
  readonly now: () => Date;
}

/**
 * Places every pending placement (not rejected by SQS) among `regions`, round by round: a region that
 * left anything pending is dropped from the candidates, so each round makes progress and the loop ends
 * after at most one round per region. Placements still pending carry the reasons of every region tried.
 */
export async function failover(placements: readonly Placement[], settings: FailoverSettings): Promise<Placement[]> {
  const result = placements.map((p) => ({ ...p }));
  const rejected = new Set<string>();
  let candidates = [...settings.regions];
  const todo = () => result.filter((p) => p.status === 'pending' && !rejected.has(p.messageId));
  while (candidates.length && todo().length) {
    const round = todo();
    const choices = settings.policy(round.length, {
      regions: candidates,
      maxQueueDepthThreshold: settings.maxQueueDepthThreshold,
      random: settings.random,
    });
    const byRegion = new Map<string, Placement[]>();
    round.forEach((p, i) => byRegion.set(choices[i] as string, [...(byRegion.get(choices[i] as string) ?? []), p]));
    const dropped = new Set<string>();
    await Promise.all(
      [...byRegion].map(async ([region, group]) => {
        const results = await settings.send(region, group);
        const { taken, rejected: refused } = applyResults(result, region, results, settings.now().toISOString(), true);
        refused.forEach((id) => rejected.add(id));
        if (taken + refused.size < group.length) dropped.add(region);
      }),
    );
    candidates = candidates.filter((r) => !dropped.has(r.region));
  }
  return result;
}
