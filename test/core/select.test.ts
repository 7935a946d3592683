/** core/select.ts: claimed messages get a region; the others leave with their outcome; nothing is lost. */
import { describe, expect, it } from 'vitest';
import type { RegionQueue } from '../../core/config.js';
import { NOT_FORWARDED, type Claim, type Envelope, type SelectInput } from '../../core/placement.js';
import { leastWait, type Policy, type PolicyInput } from '../../core/policy.js';
import { seededRandom } from '../../core/random.js';
import type { Priority } from '../../core/request.js';
import { DEAD_LETTER_KEY, selectRegions, type SelectSettings } from '../../core/select.js';
import type { Snapshot } from '../../core/snapshot.js';

const REGIONS: RegionQueue[] = [
  { region: 'us-east-1', queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/q-east-1', capacity: 1 },
  { region: 'us-west-2', queueUrl: 'https://sqs.us-west-2.amazonaws.com/1/q-west-2', capacity: 1 },
  { region: 'us-west-1', queueUrl: 'https://sqs.us-west-1.amazonaws.com/1/q-west-1', capacity: 1 },
];
const KEYS = ['us_east_1', 'us_west_2', 'us_west_1'];

const snapshot = (backlogs: Record<string, number | undefined>): Snapshot => ({
  readings: Object.entries(backlogs).map(([region, backlog]) =>
    backlog === undefined
      ? { region, known: false as const, error: 'QueueDoesNotExist' }
      : { region, known: true as const, visible: backlog, inFlight: 0, delayed: 0, readAt: 1_764_670_980_000 },
  ),
  health: [],
});
const EMPTY = snapshot({ 'us-east-1': 0, 'us-west-2': 0, 'us-west-1': 0 });

const envelope = (n: number, priority: Priority = 'normal'): Envelope => ({
  messageId: `msg-${n}`,
  requestId: `req-${n}`,
  body: JSON.stringify({ request_id: `req-${n}`, model_name: 'gpt-l-7b', input_data_url: 's3://b/k', priority }),
  priority,
});

const claimed = (message: Envelope): Claim => ({ messageId: message.messageId, claim: 'claimed' });

const selectInput = (messages: Envelope[], claims: Claim[], snap: Snapshot = EMPTY): SelectInput => ({
  batchId: 'b20251202T102300-1a2b3c4d',
  executionName: 'b20251202T102300-1a2b3c4d',
  messages,
  claims,
  snapshot: snap,
});

const settings = (policy: Policy = leastWait, seed = 1): SelectSettings => ({
  regions: REGIONS,
  maxQueueDepthThreshold: 5000,
  policy,
  random: seededRandom(seed),
});

/** A policy that hands out the given regions in turn and records what it was asked. */
function scripted(sequence: string[]) {
  const calls: Array<{ count: number; input: PolicyInput }> = [];
  const policy: Policy = (count, input) => {
    calls.push({ count, input });
    return Array.from({ length: count }, (_, i) => sequence[i % sequence.length] as string);
  };
  return { policy, calls };
}

const ids = (placements: ReadonlyArray<{ messageId: string }> | undefined) => (placements ?? []).map((p) => p.messageId);

const assignedIds = (assignments: Record<string, Array<{ messageId: string }>>) =>
  Object.values(assignments)
    .flat()
    .map((p) => p.messageId);

describe('selectRegions', () => {
  it('assigns every claimed message once, as a pending placement, under every configured region key', () => {
    const messages = Array.from({ length: 9 }, (_, i) => envelope(i));
    const out = selectRegions(selectInput(messages, messages.map(claimed)), settings());
    expect(Object.keys(out.assignments).sort()).toEqual([...KEYS, DEAD_LETTER_KEY].sort());
    expect(out.assignments[DEAD_LETTER_KEY]).toEqual([]);
    expect(assignedIds(out.assignments).sort()).toEqual(messages.map((m) => m.messageId).sort());
    expect(out.skipped).toEqual([]);
    for (const placement of Object.values(out.assignments).flat()) {
      const original = messages.find((m) => m.messageId === placement.messageId) as Envelope;
      expect(placement).toEqual({ ...original, status: 'pending', tokens: [], failedOver: false, reason: NOT_FORWARDED });
    }
    // Nine messages over three empty equal regions: every region gets some.
    for (const key of KEYS) expect(out.assignments[key]?.length).toBeGreaterThan(0);
  });

  it('passes batchId, executionName and snapshot through', () => {
    const messages = [envelope(1)];
    const input = selectInput(messages, messages.map(claimed));
    const out = selectRegions(input, settings());
    expect(out.batchId).toBe(input.batchId);
    expect(out.executionName).toBe(input.executionName);
    expect(out.snapshot).toEqual(input.snapshot);
  });

  it('keeps an empty list for every configured region, also when no message is claimed', () => {
    const messages = [envelope(1)];
    const out = selectRegions(selectInput(messages, [{ messageId: 'msg-1', claim: 'duplicate' }]), settings());
    expect(out.assignments).toEqual({ us_east_1: [], us_west_2: [], us_west_1: [], [DEAD_LETTER_KEY]: [] });
  });

  it('keys assignments with regionKey and places by the policy choice', () => {
    const { policy } = scripted(['us-west-2']);
    const messages = [envelope(1), envelope(2)];
    const out = selectRegions(selectInput(messages, messages.map(claimed)), settings(policy));
    expect(ids(out.assignments.us_west_2)).toEqual(['msg-1', 'msg-2']);
    expect(out.assignments.us_east_1).toEqual([]);
    expect(out.assignments['us-west-2']).toBeUndefined();
  });

  it('skips duplicates with outcome duplicate and the claim reason (or a default reason)', () => {
    const messages = [envelope(1), envelope(2), envelope(3)];
    const out = selectRegions(
      selectInput(messages, [
        claimed(messages[0] as Envelope),
        { messageId: 'msg-2', claim: 'duplicate', reason: 'already dispatched to us-west-2 at 2025-12-02T10:23:00Z' },
        { messageId: 'msg-3', claim: 'duplicate' },
      ]),
      settings(),
    );
    expect(out.skipped).toEqual([
      { messageId: 'msg-2', requestId: 'req-2', outcome: 'duplicate', reason: 'already dispatched to us-west-2 at 2025-12-02T10:23:00Z' },
      { messageId: 'msg-3', requestId: 'req-3', outcome: 'duplicate', reason: 'duplicate request_id' },
    ]);
    expect(assignedIds(out.assignments)).toEqual(['msg-1']);
  });

  it('sends busy and error claims, and messages without a claim, back for a retry with a reason', () => {
    const messages = [envelope(1), envelope(2), envelope(3), envelope(4), envelope(5)];
    const out = selectRegions(
      selectInput(messages, [
        { messageId: 'msg-1', claim: 'busy', reason: 'claimed by another execution until 1764671280' },
        { messageId: 'msg-2', claim: 'busy' },
        { messageId: 'msg-3', claim: 'error', reason: 'ProvisionedThroughputExceededException' },
        { messageId: 'msg-4', claim: 'error' },
        // msg-5 has no claim at all.
        { messageId: 'msg-unknown', claim: 'claimed' },
      ]),
      settings(),
    );
    expect(out.skipped).toEqual([
      { messageId: 'msg-1', requestId: 'req-1', outcome: 'retry', reason: 'claimed by another execution until 1764671280' },
      { messageId: 'msg-2', requestId: 'req-2', outcome: 'retry', reason: 'claim busy' },
      { messageId: 'msg-3', requestId: 'req-3', outcome: 'retry', reason: 'ProvisionedThroughputExceededException' },
      { messageId: 'msg-4', requestId: 'req-4', outcome: 'retry', reason: 'claim error' },
      { messageId: 'msg-5', requestId: 'req-5', outcome: 'retry', reason: 'no claim result for this message' },
    ]);
    // A claim for a message the execution does not carry places nothing.
    expect(assignedIds(out.assignments)).toEqual([]);
  });

  it('gives high priority messages the first choices, then normal, then low, arrival order kept within each', () => {
    const { policy, calls } = scripted(['us-west-1', 'us-west-2', 'us-east-1', 'us-east-1', 'us-east-1', 'us-east-1']);
    const messages = [envelope(1, 'low'), envelope(2, 'normal'), envelope(3, 'high'), envelope(4, 'normal'), envelope(5, 'high'), envelope(6, 'low')];
    const out = selectRegions(selectInput(messages, messages.map(claimed)), settings(policy));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.count).toBe(6);
    expect(ids(out.assignments.us_west_1)).toEqual(['msg-3']);
    expect(ids(out.assignments.us_west_2)).toEqual(['msg-5']);
    expect(ids(out.assignments.us_east_1)).toEqual(['msg-2', 'msg-4', 'msg-1', 'msg-6']);
  });

  it('asks the policy for the claimed messages only, with the configured regions, their loads and the threshold', () => {
    const { policy, calls } = scripted(['us-east-1']);
    const messages = [envelope(1), envelope(2), envelope(3)];
    const snap = snapshot({ 'us-east-1': 7, 'us-west-1': undefined });
    const s = { ...settings(policy), regions: REGIONS.map((r, i) => ({ ...r, capacity: i + 1 })), maxQueueDepthThreshold: 123 };
    selectRegions(selectInput(messages, [claimed(messages[0] as Envelope), { messageId: 'msg-2', claim: 'busy' }, claimed(messages[2] as Envelope)], snap), s);
    expect(calls[0]?.count).toBe(2);
    expect(calls[0]?.input.maxQueueDepthThreshold).toBe(123);
    expect(calls[0]?.input.random).toBe(s.random);
    expect(calls[0]?.input.regions).toEqual([
      { region: 'us-east-1', capacity: 1, backlog: 7 },
      { region: 'us-west-2', capacity: 2, backlog: undefined },
      { region: 'us-west-1', capacity: 3, backlog: undefined },
    ]);
  });

  it('with the real policy, sends nothing to a region the snapshot could not read', () => {
    const messages = Array.from({ length: 30 }, (_, i) => envelope(i));
    const snap = snapshot({ 'us-east-1': 3, 'us-west-2': undefined, 'us-west-1': 4 });
    const out = selectRegions(selectInput(messages, messages.map(claimed), snap), settings(leastWait, 42));
    expect(out.assignments.us_west_2).toEqual([]);
    expect(assignedIds(out.assignments)).toHaveLength(30);
  });

  it('accounts for every message exactly once, assigned or skipped (seeded random claim mixes)', () => {
    const gen = seededRandom(77);
    const kinds = ['claimed', 'duplicate', 'busy', 'error', 'none'] as const;
    const priorities: Priority[] = ['high', 'normal', 'low'];
    for (let run = 0; run < 100; run++) {
      const messages = Array.from({ length: 1 + Math.floor(gen() * 10) }, (_, i) => envelope(i, priorities[Math.floor(gen() * 3)]));
      const claims: Claim[] = [];
      for (const m of messages) {
        const kind = kinds[Math.floor(gen() * kinds.length)] as (typeof kinds)[number];
        if (kind !== 'none') claims.push({ messageId: m.messageId, claim: kind });
      }
      const out = selectRegions(selectInput(messages, claims), settings(leastWait, run));
      const seen = [...assignedIds(out.assignments), ...out.skipped.map((o) => o.messageId)];
      expect(seen.sort()).toEqual(messages.map((m) => m.messageId).sort());
      expect(assignedIds(out.assignments).sort()).toEqual(
        claims.filter((c) => c.claim === 'claimed').map((c) => c.messageId).sort(),
      );
    }
  });
});

describe('a policy that misbehaves', () => {
  it('fails the selection rather than drop a message sent to an unconfigured region', () => {
    const message = { messageId: 'm1', requestId: 'r1', body: '{}', priority: 'normal' as const };
    expect(() =>
      selectRegions(
        { batchId: 'b', executionName: 'e', messages: [message], claims: [{ messageId: 'm1', claim: 'claimed' }], snapshot: { readings: [], health: [] } },
        {
          regions: [{ region: 'us-east-1', queueUrl: 'https://q/1/a', capacity: 1 }],
          maxQueueDepthThreshold: 10,
          policy: () => ['eu-west-9'],
          random: seededRandom(1),
        },
      ),
    ).toThrow(/not a configured region/);
  });
});

describe('selectRegions: a region tried before, and region health', () => {
  const health = (region: string, state: 'open' | 'half-open') => ({ region, state, until: 0, failures: 1, error: 'down' });
  const withHealth = (...entries: ReturnType<typeof health>[]): Snapshot => ({ ...EMPTY, health: entries });

  it('sends a message whose earlier send had no answer to the same region, whatever the policy says', () => {
    const messages = [envelope(1), envelope(2)];
    const { policy, calls } = scripted(['us-east-1']);
    const claims = [{ ...claimed(messages[0] as Envelope), preferRegion: 'us-west-1', attempt: 2 }, claimed(messages[1] as Envelope)];
    const out = selectRegions(selectInput(messages, claims), settings(policy));
    expect(ids(out.assignments.us_west_1)).toEqual(['msg-1']);
    expect(ids(out.assignments.us_east_1)).toEqual(['msg-2']);
    // Only the other message was left to the policy.
    expect(calls.map((c) => c.count)).toEqual([1]);
  });

  it('does not prefer the tried region on the last try before the master DLQ, nor when the region is open', () => {
    const messages = [envelope(1), envelope(2)];
    const { policy } = scripted(['us-east-1']);
    const claims = [
      { ...claimed(messages[0] as Envelope), preferRegion: 'us-west-1', attempt: 3 },
      { ...claimed(messages[1] as Envelope), preferRegion: 'us-west-2', attempt: 2 },
    ];
    const out = selectRegions(selectInput(messages, claims, withHealth(health('us-west-2', 'open'))), settings(policy));
    expect(ids(out.assignments.us_east_1).sort()).toEqual(['msg-1', 'msg-2']);
  });

  it('gives an open region nothing, while a healthy one remains', () => {
    const messages = Array.from({ length: 12 }, (_, i) => envelope(i));
    const out = selectRegions(selectInput(messages, messages.map(claimed), withHealth(health('us-west-2', 'open'))), settings());
    expect(ids(out.assignments.us_west_2)).toEqual([]);
    expect(assignedIds(out.assignments)).toHaveLength(12);
  });

  it('gives a half-open region one canary, the least urgent message', () => {
    const messages = [envelope(1, 'high'), envelope(2, 'low'), envelope(3), envelope(4, 'high')];
    const out = selectRegions(selectInput(messages, messages.map(claimed), withHealth(health('us-west-1', 'half-open'))), settings());
    expect(ids(out.assignments.us_west_1)).toEqual(['msg-2']);
    expect(assignedIds(out.assignments)).toHaveLength(4);
  });

  it('uses every region when all are open: a message must not wait on health nobody probes', () => {
    const messages = Array.from({ length: 6 }, (_, i) => envelope(i));
    const all = withHealth(health('us-east-1', 'open'), health('us-west-2', 'open'), health('us-west-1', 'open'));
    const out = selectRegions(selectInput(messages, messages.map(claimed), all), settings());
    expect(assignedIds(out.assignments)).toHaveLength(6);
  });

  it('puts everything on half-open regions when no region is healthy', () => {
    const messages = Array.from({ length: 4 }, (_, i) => envelope(i));
    const snap = withHealth(health('us-east-1', 'open'), health('us-west-2', 'half-open'), health('us-west-1', 'open'));
    const out = selectRegions(selectInput(messages, messages.map(claimed), snap), settings());
    expect(ids(out.assignments.us_west_2)).toHaveLength(4);
  });
});

describe('selectRegions: a message whose dead-letter send had no answer', () => {
  it('goes to the dead-letter list with its reason, never to a region', () => {
    const messages = [envelope(1), envelope(2)];
    const claims = [{ ...claimed(messages[0] as Envelope), deadLetter: true, reason: 'no region accepted the message: ...' }, claimed(messages[1] as Envelope)];
    const out = selectRegions(selectInput(messages, claims), settings());
    expect(out.assignments[DEAD_LETTER_KEY]?.map((p) => [p.messageId, p.status, p.reason])).toEqual([['msg-1', 'pending', 'no region accepted the message: ...']]);
    expect(KEYS.flatMap((key) => ids(out.assignments[key]))).toEqual(['msg-2']);
  });
});
