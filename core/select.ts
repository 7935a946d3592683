/**
 * The Select step: claimed messages get a region from the configured policy; the others leave the
 * workflow here with their outcome. Pure code, no AWS import.
 */
import { effectiveCapacity, presenceByRegion, settingsByRegion } from './capacity.js';
import type { RegionQueue } from './config.js';
import { halfOpenRegions, openRegions } from './health.js';
import type { Outcome } from './outcomes.js';
import { pending, type Envelope, type Placement, type SelectInput } from './placement.js';
import { highLaneKey, laneLoads, laneOf, type HighLaneLoad } from './lanes.js';
import { regionLoads, type Policy, type PolicyInput, type RegionLoad } from './policy.js';
import type { Random } from './random.js';
import type { Priority } from './request.js';
import { snapshotAgeSeconds, type Snapshot } from './snapshot.js';
import { MAX_RECEIVE_COUNT, regionKey } from './topology.js';

/** Where the assignments keep the messages to dead-letter again (their group's region is null: see RegionGroup). */
export const DEAD_LETTER_KEY = 'dead_letter';

/**
 * One iteration of the workflow's "Forward to regions" Map (workflows/dispatch.ts): a region and the
 * placements it was given, or (region null) the messages whose earlier dead-letter send had no answer,
 * which go to the DLQ again and never to a region. Only groups with placements exist: a region given
 * nothing costs the execution no state and no log record.
 */
export interface RegionGroup {
  readonly region: string | null;
  readonly placements: Placement[];
}

/** What the select step hands the workflow: the groups, not the per-region lists (bodies are carried once). */
export interface SelectResult {
  readonly batchId: string;
  readonly executionName: string;
  readonly snapshot: Snapshot;
  readonly groups: RegionGroup[];
  /** Each group's region, in order: the execution output names by it the group of each outcome list (core/outcomes.ts). */
  readonly groupRegions: Array<string | null>;
  readonly skipped: Outcome[];
}

/** The non-empty assignments as groups, in configured region order, the dead-letter-again group last. */
export function regionGroups(assignments: Readonly<Record<string, Placement[]>>, regions: readonly string[]): RegionGroup[] {
  const groups: RegionGroup[] = regions.flatMap((region) => {
    const placements = assignments[regionKey(region)] ?? [];
    return placements.length ? [{ region, placements }] : [];
  });
  const again = assignments[DEAD_LETTER_KEY] ?? [];
  return again.length ? [...groups, { region: null, placements: again }] : groups;
}

/** The select step's answer to the workflow: selectRegions' assignments as groups. */
export function selectResult(output: SelectOutput, regions: readonly string[]): SelectResult {
  const { batchId, executionName, snapshot, skipped } = output;
  const groups = regionGroups(output.assignments, regions);
  return { batchId, executionName, snapshot, groups, groupRegions: groups.map((g) => g.region), skipped };
}

export interface SelectOutput {
  readonly batchId: string;
  readonly executionName: string;
  readonly snapshot: Snapshot;
  /**
   * One list per configured region, keyed by regionKey (us-west-2 -> us_west_2), and the messages to
   * dead-letter again under DEAD_LETTER_KEY; empty lists included.
   */
  readonly assignments: Record<string, Placement[]>;
  readonly skipped: Outcome[];
}

export interface SelectSettings {
  readonly regions: readonly RegionQueue[];
  readonly maxQueueDepthThreshold: number;
  readonly policy: Policy;
  readonly random: Random;
  /** Epoch ms, to tell how old the readings are. */
  readonly nowMs?: number;
  /** Messages already placed per region since these readings were taken. */
  readonly dispatchedSince?: ReadonlyMap<string, number>;
  /** Optional hints for the policy (core/policy.ts PolicyInput): how far SQS's counts trail, seconds per request. */
  readonly readingLagSeconds?: number;
  readonly serviceSeconds?: number;
}

const PRIORITY_ORDER: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

function skippedOutcome(message: Envelope, claim: SelectInput['claims'][number] | undefined): Outcome {
  const base = { messageId: message.messageId, requestId: message.requestId };
  if (!claim) return { ...base, outcome: 'retry', reason: 'no claim result for this message' };
  if (claim.claim === 'duplicate') return { ...base, outcome: 'duplicate', reason: claim.reason ?? 'duplicate request_id' };
  return { ...base, outcome: 'retry', reason: claim.reason ?? `claim ${claim.claim}` };
}

export function selectRegions(input: SelectInput, settings: SelectSettings): SelectOutput {
  const claims = new Map(input.claims.map((claim) => [claim.messageId, claim]));
  const claimed: Envelope[] = [];
  const skipped: Outcome[] = [];
  for (const message of input.messages) {
    const claim = claims.get(message.messageId);
    if (claim?.claim === 'claimed') claimed.push(message);
    else skipped.push(skippedOutcome(message, claim));
  }
  // Higher priority first: with per-batch counting, the earliest choices get the shortest queues.
  claimed.sort((a, b) => PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority]);

  const assignments: Record<string, Placement[]> = {
    ...Object.fromEntries(settings.regions.map((r) => [regionKey(r.region), []])),
    [DEAD_LETTER_KEY]: [],
  };
  const assign = (message: Envelope, region: string | undefined) => {
    const list = assignments[regionKey(region ?? '')];
    // A policy bug must fail the execution (its messages are retried), never drop a message.
    if (!list) throw new Error(`policy chose "${region}", which is not a configured region`);
    list.push(pending(message));
  };

  const { usable, canaries } = regionsInUse(settings.regions, input.snapshot);
  const toPlace: Envelope[] = [];
  for (const message of claimed) {
    const claim = claims.get(message.messageId);
    // Its earlier dead-letter send had no answer: it may be in the DLQ, so it goes there again.
    if (claim?.deadLetter) {
      assignments[DEAD_LETTER_KEY]?.push({ ...pending(message), reason: claim.reason ?? 'an earlier dead-letter send had no answer' });
      continue;
    }
    // A send to this region had no answer before: the copy may be there, so a second goes there too,
    // unless the region is unhealthy or this is the message's last try before the master DLQ.
    const prefer = claim?.preferRegion;
    const lastTry = (claim?.attempt ?? 1) >= MAX_RECEIVE_COUNT;
    if (prefer !== undefined && usable.has(prefer) && !lastTry) assign(message, prefer);
    else toPlace.push(message);
  }
  // A half-open region gets one message per execution, the least urgent, as its probe.
  for (const region of canaries) {
    const probe = toPlace.pop();
    if (probe) assign(probe, region);
  }
  const usableLoads = regionLoads(
    weighedRegions(settings.regions.filter((r) => usable.has(r.region) && !canaries.includes(r.region)), input.snapshot),
    input.snapshot.readings,
    settings.dispatchedSince,
  );
  const policyInput = (regions: RegionLoad[]): PolicyInput => ({
    regions,
    maxQueueDepthThreshold: settings.maxQueueDepthThreshold,
    random: settings.random,
    ageSeconds: settings.nowMs === undefined ? 0 : snapshotAgeSeconds(input.snapshot, settings.nowMs),
    ...(settings.readingLagSeconds === undefined ? {} : { readingLagSeconds: settings.readingLagSeconds }),
    ...(settings.serviceSeconds === undefined ? {} : { serviceSeconds: settings.serviceSeconds }),
  });
  const choices = placeByLane(toPlace, usableLoads, highLanes(settings, input.snapshot), settings.policy, policyInput);
  toPlace.forEach((message, i) => assign(message, choices[i]));
  return { batchId: input.batchId, executionName: input.executionName, snapshot: input.snapshot, assignments, skipped };
}

/**
 * The regions with the capacity each is weighed by (core/capacity.ts): a capacity set at run time where
 * there is one, else the live workers where the region's fleet reports itself (a presence item), else
 * the configured one. (Where neither is there, the in-flight lower bound on busy workers enters through
 * the policy's own worker estimate, core/policy.ts estimateWorkers.) A region at 0 (set to 0, or a
 * reporting fleet with no live worker) is drained: left out while any other region has capacity; if
 * all are 0, all are weighed as configured, so that dispatch never stops for a setting or a fleet.
 */
export function weighedRegions<R extends RegionQueue>(regions: readonly R[], snapshot: Snapshot): R[] {
  const settings = settingsByRegion(snapshot.capacities ?? []);
  const presence = presenceByRegion(snapshot.presence ?? []);
  const weighed = regions.map((r) => {
    const { capacity, source } = effectiveCapacity({ configured: r.capacity, setting: settings.get(r.region), presence: presence.get(r.region) });
    return source === 'configured' ? r : { ...r, capacity };
  });
  return leaveOutDrained(weighed, regions);
}

/** The regions weighed above 0; if none is, all as configured, so that dispatch never stops for a setting or a fleet. */
export function leaveOutDrained<R extends { readonly capacity: number }>(weighed: readonly R[], configured: readonly R[]): R[] {
  const available = weighed.filter((r) => r.capacity > 0);
  return available.length ? available : [...configured];
}

/** What each region's high lane holds, for the regions that have one (core/lanes.ts). */
function highLanes(settings: SelectSettings, snapshot: Snapshot): Map<string, HighLaneLoad> {
  const lanes = new Map<string, HighLaneLoad>();
  for (const { region, highQueueUrl } of settings.regions) {
    if (!highQueueUrl) continue;
    const reading = snapshot.readings.find((r) => r.region === region);
    const high = reading?.known ? reading.high : undefined;
    lanes.set(region, {
      waiting: high ? high.visible + high.delayed : reading?.known ? 0 : undefined,
      placedSince: settings.dispatchedSince?.get(highLaneKey(region)) ?? 0,
    });
  }
  return lanes;
}

/**
 * A region for each message, in order. With high lanes, high-priority messages are placed first, by
 * what is ahead of them in the high lanes; the others then by everything queued, the high messages
 * just placed included. Without high lanes, one call of the policy, as before lanes existed.
 */
function placeByLane(
  messages: readonly Envelope[],
  combined: RegionLoad[],
  high: ReadonlyMap<string, HighLaneLoad>,
  policy: Policy,
  policyInput: (regions: RegionLoad[]) => PolicyInput,
): string[] {
  if (!high.size) return policy(messages.length, policyInput(combined));
  const isHigh = messages.map((m) => laneOf(m.priority) === 'high');
  const highChoices = policy(isHigh.filter(Boolean).length, policyInput(laneLoads(combined, high, 'high')));
  const placedHigh = new Map<string, number>();
  for (const region of highChoices) placedHigh.set(region, (placedHigh.get(region) ?? 0) + 1);
  const after = combined.map((r) => {
    const placed = placedHigh.get(r.region) ?? 0;
    return r.backlog === undefined || !placed ? r : { ...r, backlog: r.backlog + placed, placedSince: (r.placedSince ?? 0) + placed };
  });
  const otherChoices = policy(isHigh.filter((h) => !h).length, policyInput(after));
  let h = 0;
  let o = 0;
  return isHigh.map((high) => (high ? highChoices[h++] : otherChoices[o++]) as string);
}

/**
 * Regions that take new placements: healthy ones, and half-open ones as canaries (one message each)
 * while a healthy one remains to take the rest. With no healthy region, half-open ones take everything;
 * with every region open, all are used (a message must not wait for health that nobody probes).
 */
export function regionsInUse(regions: readonly RegionQueue[], snapshot: Snapshot): { usable: Set<string>; canaries: string[] } {
  const open = openRegions(snapshot.health);
  const halfOpen = halfOpenRegions(snapshot.health);
  const healthy = regions.filter((r) => !open.has(r.region) && !halfOpen.has(r.region)).map((r) => r.region);
  const probing = regions.filter((r) => halfOpen.has(r.region)).map((r) => r.region);
  if (healthy.length) return { usable: new Set([...healthy, ...probing]), canaries: probing };
  if (probing.length) return { usable: new Set(probing), canaries: [] };
  return { usable: new Set(regions.map((r) => r.region)), canaries: [] };
}
