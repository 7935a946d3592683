/**
 * Forwarding with failover, given a way to send to one region. The forward function (functions/forward.ts)
 * supplies the SQS sender; the logic lives here so it can be tested without a network.
 *
 * A region that fails outright (took none of what it was sent) is avoided for the rest of the call and
 * its messages are placed again among the remaining regions by the same policy; messages that no region
 * takes stay pending with every reason, for the workflow to dead-letter.
 */
import { NOT_FORWARDED, type Placement } from './placement.js';
import { sqsText } from './sqs-text.js';
import type { Policy, RegionLoad } from './policy.js';
import type { Random } from './random.js';

export interface SendResult {
  readonly messageId: string;
  readonly ok: boolean;
  readonly sqsMessageId?: string;
  readonly error?: string;
  /** The message itself was rejected (e.g. invalid attribute): no region will take it. */
  readonly senderFault?: boolean;
  /** Failed without an answer: the message may be in the queue all the same (aws/delivery.ts). */
  readonly unknown?: boolean;
  /** The dispatch token the message was sent with. */
  readonly token?: string;
}

export type SendToRegion = (region: string, placements: readonly Placement[]) => Promise<SendResult[]>;

/**
 * Applies send results to placements; returns how many were taken, which were rejected for good, and
 * how many have no answer (unconfirmed: never offered to another region, see core/placement.ts).
 */
export function applyResults(
  placements: Placement[],
  region: string,
  results: readonly SendResult[],
  at: string,
  failedOver: boolean,
): { taken: number; rejected: Set<string>; unconfirmed: number } {
  const byId = new Map(results.map((r) => [r.messageId, r]));
  const rejected = new Set<string>();
  let taken = 0;
  let unconfirmed = 0;
  for (const [i, placement] of placements.entries()) {
    const result = byId.get(placement.messageId);
    if (!result || placement.status !== 'pending') continue;
    const tokens = result.token ? [...placement.tokens, result.token] : placement.tokens;
    const token = result.token ? { token: result.token } : {};
    if (result.ok) {
      taken++;
      // The body is in its regional queue now; dropping it keeps the workflow's payload small.
      placements[i] = { ...placement, ...token, tokens, body: '', status: 'dispatched', region, at, sqsMessageId: result.sqsMessageId, failedOver, reason: undefined };
    } else if (result.unknown) {
      unconfirmed++;
      // Settled as a retry: the master queue still holds the body, so the payload need not.
      const reason = appendReason(placement.reason, `${region}: ${result.error ?? 'no answer'} (no answer: it may be in the queue)`);
      placements[i] = { ...placement, ...token, tokens, body: '', status: 'unconfirmed', region, at, failedOver, reason };
    } else {
      if (result.senderFault) rejected.add(placement.messageId);
      placements[i] = { ...placement, reason: appendReason(placement.reason, `${region}: ${result.error ?? 'not sent'}`) };
    }
  }
  return { taken, rejected, unconfirmed };
}

/**
 * After an attempt without an answer, a message this attempt did not place may still be in `region`'s
 * queue from before: it becomes unconfirmed there (released for a later delivery that prefers the same
 * region), never pending (which would fail it over or dead-letter it).
 */
export function unconfirmedAfterUnanswered(placements: Placement[], region: string, results: readonly SendResult[], at: string): number {
  const byId = new Map(results.map((r) => [r.messageId, r]));
  let count = 0;
  for (const [i, placement] of placements.entries()) {
    if (placement.status !== 'pending') continue;
    const result = byId.get(placement.messageId);
    const token = result?.token ?? placement.token ?? placement.tokens.at(-1);
    const note = `${region}: an earlier send had no answer${result?.error ? `; then ${result.error}` : ''} (it may be in the queue)`;
    placements[i] = { ...placement, ...(token ? { token } : {}), body: '', status: 'unconfirmed', region, at, reason: appendReason(placement.reason, note) };
    count++;
  }
  return count;
}

/** Reasons carry SDK error text and end up as an SQS attribute (the DLQ's reason): only characters SQS takes. */
export function appendReason(previous: string | undefined, next: string): string {
  return sqsText(previous && previous !== NOT_FORWARDED ? `${previous}; ${next}` : next);
}

export interface FailoverSettings {
  /** Candidate regions with their loads (excluding the failed one). */
  readonly regions: readonly RegionLoad[];
  /** How old the readings behind `regions` are. */
  readonly ageSeconds?: number;
  readonly maxQueueDepthThreshold: number;
  readonly policy: Policy;
  readonly random: Random;
  readonly send: SendToRegion;
  readonly now: () => Date;
}

/**
 * Places every pending placement (not rejected by SQS) among `regions`, round by round. Each message is
 * offered to each region at most once; a region that took none of what it was offered is dropped for
 * everyone (it is down), one that took some stays. So the loop ends after at most one round per region,
 * and a message left pending has been offered to every region still up; its reason names each refusal.
 */
export async function failover(placements: readonly Placement[], settings: FailoverSettings): Promise<Placement[]> {
  const result = placements.map((p) => ({ ...p }));
  const rejected = new Set<string>();
  const tried = new Map<string, Set<string>>(result.map((p) => [p.messageId, new Set<string>()]));
  let candidates = [...settings.regions];
  const downRegions = new Map<string, string>();
  const untried = (p: Placement) => candidates.filter((r) => !tried.get(p.messageId)?.has(r.region));

  for (;;) {
    const round = result.filter((p) => p.status === 'pending' && !rejected.has(p.messageId) && untried(p).length);
    if (!round.length) break;
    // Messages that have tried the same regions choose among the same candidates.
    const groups = new Map<string, Placement[]>();
    for (const p of round) {
      const key = untried(p).map((r) => r.region).join(',');
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    const byRegion = new Map<string, Placement[]>();
    for (const group of groups.values()) {
      const choices = settings.policy(group.length, {
        regions: untried(group[0] as Placement),
        maxQueueDepthThreshold: settings.maxQueueDepthThreshold,
        random: settings.random,
        ageSeconds: settings.ageSeconds ?? 0,
      });
      group.forEach((p, i) => byRegion.set(choices[i] as string, [...(byRegion.get(choices[i] as string) ?? []), p]));
    }
    const down = new Map<string, string>();
    await Promise.all(
      [...byRegion].map(async ([region, group]) => {
        for (const p of group) tried.get(p.messageId)?.add(region);
        const results = await settings.send(region, group);
        const { taken, rejected: refused } = applyResults(result, region, results, settings.now().toISOString(), true);
        refused.forEach((id) => rejected.add(id));
        if (taken === 0 && refused.size < group.length) down.set(region, results.find((r) => !r.ok)?.error ?? 'not sent');
      }),
    );
    candidates = candidates.filter((r) => !down.has(r.region));
    down.forEach((error, region) => downRegions.set(region, error));
  }
  // A message not offered to a region because that region was found down says so in its reason.
  for (const [i, p] of result.entries()) {
    if (p.status !== 'pending' || rejected.has(p.messageId)) continue;
    let reason = p.reason;
    for (const [region, error] of downRegions) {
      if (!tried.get(p.messageId)?.has(region)) reason = appendReason(reason, `${region}: ${error} (found down while placing this batch)`);
    }
    result[i] = { ...p, ...(reason ? { reason } : {}) };
  }
  return result;
}
