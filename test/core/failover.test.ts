/**
 * core/failover.ts with a fake `send` (a plain async function, no AWS): regions that fail are avoided,
 * their messages placed elsewhere; SenderFault rejections stay pending; the loop always ends.
 */
import { describe, expect, it } from 'vitest';
import { appendReason, applyResults, failover, unconfirmedAfterUnanswered, type FailoverSettings, type SendResult, type SendToRegion } from '../../core/failover.js';
import { NOT_FORWARDED, pending, type Envelope, type Placement } from '../../core/placement.js';
import { leastWait, type Policy, type RegionLoad } from '../../core/policy.js';
import { seededRandom } from '../../core/random.js';

const AT = '2025-12-02T10:23:00.000Z';
const PRIMARY_REASON = 'us-east-1: RegionUnavailable: us-east-1 took none of 6 messages';

const envelope = (n: number): Envelope => ({
  messageId: `msg-${n}`,
  requestId: `req-${n}`,
  body: `{"request_id":"req-${n}"}`,
  priority: 'normal',
});

/** Pending placements as a failover branch receives them: the primary region's reason attached. */
const placements = (count: number, reason = PRIMARY_REASON): Placement[] =>
  Array.from({ length: count }, (_, i) => ({ ...pending(envelope(i + 1)), reason }));

const loads = (...names: string[]): RegionLoad[] => names.map((region) => ({ region, capacity: 1, backlog: 0 }));

interface Call {
  readonly region: string;
  readonly ids: string[];
}

/**
 * A fake region set: `behave(region, messageId, callIndex)` says what happens to one message; every
 * call is recorded.
 */
function fakeSend(behave: (region: string, messageId: string) => Omit<SendResult, 'messageId'>) {
  const calls: Call[] = [];
  const send: SendToRegion = async (region, group) => {
    // A loop that never ends would spin on resolved promises and hang the run: fail it instead.
    if (calls.length >= 1000) throw new Error('failover does not terminate: 1000 sends');
    calls.push({ region, ids: group.map((p) => p.messageId) });
    return group.map((p) => ({ messageId: p.messageId, ...behave(region, p.messageId) }));
  };
  return { send, calls };
}

/** (message, region) pairs sent more than once: each message is offered to each region at most once. */
function repeatedOffers(calls: readonly Call[]): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const { region, ids } of calls) {
    for (const id of ids) {
      const key = `${id}@${region}`;
      if (seen.has(key)) repeated.push(key);
      seen.add(key);
    }
  }
  return repeated;
}

const ok = (region: string, id: string) => ({ ok: true, sqsMessageId: `${region}/${id}` });
const down = (region: string) => ({ ok: false, error: `${region} is down: ServiceUnavailable` });

/** Round-robin over the candidates: a policy whose choices the test can predict. */
function roundRobin() {
  const policy: Policy = (count, input) => {
    return Array.from({ length: count }, (_, i) => (input.regions[i % input.regions.length] as RegionLoad).region);
  };
  return { policy };
}

const settings = (send: SendToRegion, regions: RegionLoad[], policy: Policy = leastWait, seed = 1): FailoverSettings => ({
  regions,
  maxQueueDepthThreshold: 5000,
  policy,
  random: seededRandom(seed),
  send,
  now: () => new Date(AT),
});

const byStatus = (result: Placement[], status: Placement['status']) => result.filter((p) => p.status === status);

describe('failover', () => {
  it('places every message when the candidate regions take them, marked as failed over', async () => {
    const { send } = fakeSend((region, id) => ok(region, id));
    const result = await failover(placements(6), settings(send, loads('us-west-2', 'us-west-1')));
    expect(byStatus(result, 'pending')).toEqual([]);
    for (const p of result) {
      expect(p).toMatchObject({ status: 'dispatched', at: AT, failedOver: true, sqsMessageId: `${p.region}/${p.messageId}`, reason: undefined });
      expect(['us-west-2', 'us-west-1']).toContain(p.region);
    }
    expect(result.map((p) => p.messageId)).toEqual(placements(6).map((p) => p.messageId));
  });

  it('drops a region that takes nothing and places its messages in the others', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { send, calls } = fakeSend((region, id) => (region === 'us-west-2' ? down(region) : ok(region, id)));
      const result = await failover(placements(12), settings(send, loads('us-west-2', 'us-west-1', 'eu-west-1'), leastWait, seed));
      expect(byStatus(result, 'pending')).toEqual([]);
      expect(result.filter((p) => p.region === 'us-west-2')).toEqual([]);
      // Tried at most once, then avoided.
      expect(calls.filter((c) => c.region === 'us-west-2').length).toBeLessThanOrEqual(1);
    }
  });

  it('moves the failed part of a partial failure to another region', async () => {
    // us-west-2 takes odd-numbered messages only; the even ones must end in us-west-1.
    const { send } = fakeSend((region, id) =>
      region === 'us-west-2' && Number(id.slice(4)) % 2 === 0 ? { ok: false, error: 'InternalError: try again' } : ok(region, id),
    );
    const { policy } = roundRobin();
    const result = await failover(placements(6), settings(send, loads('us-west-2', 'us-west-1'), policy));
    expect(byStatus(result, 'pending')).toEqual([]);
    for (const p of result.filter((p) => p.region === 'us-west-2')) expect(Number(p.messageId.slice(4)) % 2).toBe(1);
    // A message that failed once and then went through keeps no stale reason.
    expect(result.every((p) => p.reason === undefined)).toBe(true);
  });

  it('leaves a SenderFault-rejected message pending, sends it once only, and keeps the region that refused it', async () => {
    const { send, calls } = fakeSend((region, id) => {
      if (id === 'msg-1') return { ok: false, senderFault: true, error: 'InvalidParameterValue: bad attribute' };
      if (region === 'eu-west-1') return down(region);
      return ok(region, id);
    });
    const { policy } = roundRobin();
    // Round 1: msg-1, msg-3, msg-5 -> us-west-2 (refuses msg-1); msg-2, msg-4, msg-6 -> eu-west-1 (down).
    // eu-west-1's messages can then only go to us-west-2: it must not be dropped for the SenderFault.
    const result = await failover(placements(6), settings(send, loads('us-west-2', 'eu-west-1'), policy));
    const rejected = result.find((p) => p.messageId === 'msg-1') as Placement;
    expect(rejected.status).toBe('pending');
    expect(rejected.reason).toBe(`${PRIMARY_REASON}; us-west-2: InvalidParameterValue: bad attribute`);
    expect(calls.filter((c) => c.ids.includes('msg-1'))).toHaveLength(1);
    for (const p of result.filter((p) => p.messageId !== 'msg-1')) {
      expect(p, p.messageId).toMatchObject({ status: 'dispatched', region: 'us-west-2' });
    }
  });

  it('when no region takes anything, every message stays pending and its reason names every region', async () => {
    const { send } = fakeSend((region) => down(region));
    const result = await failover(placements(6), settings(send, loads('us-west-2', 'us-west-1')));
    expect(byStatus(result, 'dispatched')).toEqual([]);
    for (const p of result) {
      expect(p.reason).toContain(PRIMARY_REASON);
      expect(p.reason, p.messageId).toContain('us-west-2: us-west-2 is down');
      expect(p.reason, p.messageId).toContain('us-west-1: us-west-1 is down');
      expect(p.reason).not.toContain(NOT_FORWARDED);
    }
  });

  it('does not dead-letter messages that a region still taking messages was never offered', async () => {
    // us-west-2 is down; us-west-1 works but fails one entry (msg-2) whatever happens.
    // Invariant 5: the down region's messages must still go to us-west-1.
    const { send, calls } = fakeSend((region, id) => {
      if (region === 'us-west-2') return down(region);
      if (id === 'msg-2') return { ok: false, error: 'InternalError: entry not sent' };
      return ok(region, id);
    });
    const { policy } = roundRobin();
    const result = await failover(placements(6), settings(send, loads('us-west-2', 'us-west-1'), policy));
    const stuck = byStatus(result, 'pending').map((p) => p.messageId);
    expect(stuck).toEqual(['msg-2']);
    expect(repeatedOffers(calls)).toEqual([]);
    expect(result.find((p) => p.messageId === 'msg-2')?.reason).toContain('us-west-1: InternalError: entry not sent');
  });

  it('ends after a bounded number of sends, whatever the regions do', async () => {
    const regions = loads('r-a-1', 'r-b-1', 'r-c-1', 'r-d-1');
    // At most one round per region, at most one send per region and round.
    const bound = regions.length * regions.length;
    const behaviours: Array<[string, (region: string, id: string) => Omit<SendResult, 'messageId'>]> = [
      ['all down', (region) => down(region)],
      ['one message never taken', (region, id) => (id === 'msg-3' ? { ok: false, error: 'InternalError' } : ok(region, id))],
      ['every region fails half', (region, id) => (Number(id.slice(4)) % 2 ? ok(region, id) : { ok: false })],
    ];
    for (const [label, behave] of behaviours) {
      for (const seed of [1, 2, 3]) {
        const { send, calls } = fakeSend(behave);
        await failover(placements(20), settings(send, regions, leastWait, seed));
        expect(calls.length, label).toBeLessThanOrEqual(bound);
        expect(repeatedOffers(calls), label).toEqual([]);
      }
    }
  });

  it('ends when a send returns no result at all for its messages', async () => {
    let calls = 0;
    const send: SendToRegion = async () => {
      if (++calls >= 1000) throw new Error('failover does not terminate: 1000 sends');
      return [];
    };
    const result = await failover(placements(5), settings(send, loads('us-west-2', 'us-west-1')));
    expect(byStatus(result, 'pending')).toHaveLength(5);
    expect(calls).toBeLessThanOrEqual(3);
  });

  it('sends nothing without candidate regions and returns the placements as they were', async () => {
    const { send, calls } = fakeSend((region, id) => ok(region, id));
    const input = placements(3);
    expect(await failover(input, settings(send, []))).toEqual(input);
    expect(calls).toEqual([]);
  });

  it('does not send placements that are already dispatched, and does not modify its input', async () => {
    const input = placements(3);
    input[1] = { ...(input[1] as Placement), status: 'dispatched', region: 'us-east-1', at: AT, sqsMessageId: 'x', reason: undefined };
    const copy = structuredClone(input);
    const { send, calls } = fakeSend((region, id) => ok(region, id));
    const result = await failover(input, settings(send, loads('us-west-2')));
    expect(input).toEqual(copy);
    expect(calls.flatMap((c) => c.ids).sort()).toEqual(['msg-1', 'msg-3']);
    expect(result[1]).toEqual(copy[1]);
  });
});

describe('applyResults', () => {
  it('marks taken placements dispatched, appends the region error to the others, and collects SenderFault ones', () => {
    const list = placements(4, NOT_FORWARDED);
    const { taken, rejected } = applyResults(
      list,
      'us-west-2',
      [
        { messageId: 'msg-1', ok: true, sqsMessageId: 'sqs-1' },
        { messageId: 'msg-2', ok: false, error: 'InternalError: boom' },
        { messageId: 'msg-3', ok: false, senderFault: true, error: 'InvalidParameterValue: no' },
      ],
      AT,
      false,
    );
    expect(taken).toBe(1);
    expect([...rejected]).toEqual(['msg-3']);
    expect(list[0]).toEqual({ ...pending(envelope(1)), body: '', status: 'dispatched', region: 'us-west-2', at: AT, sqsMessageId: 'sqs-1', failedOver: false, reason: undefined });
    expect(list[1]).toEqual({ ...pending(envelope(2)), reason: 'us-west-2: InternalError: boom' });
    expect(list[2]).toEqual({ ...pending(envelope(3)), reason: 'us-west-2: InvalidParameterValue: no' });
    // No result: untouched.
    expect(list[3]).toEqual(pending(envelope(4)));
  });

  it('records failedOver as told and says "not sent" for a failure without an error', () => {
    const list = placements(2, 'us-east-1: down');
    applyResults(list, 'us-west-1', [{ messageId: 'msg-1', ok: true }, { messageId: 'msg-2', ok: false }], AT, true);
    expect(list[0]?.failedOver).toBe(true);
    expect(list[1]?.reason).toBe('us-east-1: down; us-west-1: not sent');
  });

  it('never counts or changes a placement that is already dispatched', () => {
    const list = placements(1);
    const done: Placement = { ...(list[0] as Placement), status: 'dispatched', region: 'us-east-1', at: AT, sqsMessageId: 'first', reason: undefined };
    list[0] = done;
    const { taken } = applyResults(list, 'us-west-2', [{ messageId: 'msg-1', ok: true, sqsMessageId: 'second' }], AT, true);
    expect(taken).toBe(0);
    expect(list[0]).toEqual(done);
  });
});

describe('appendReason', () => {
  it('replaces the NOT_FORWARDED placeholder and an absent or empty reason', () => {
    expect(appendReason(NOT_FORWARDED, 'us-west-2: down')).toBe('us-west-2: down');
    expect(appendReason(undefined, 'us-west-2: down')).toBe('us-west-2: down');
    expect(appendReason('', 'us-west-2: down')).toBe('us-west-2: down');
  });

  it('appends to a real reason with "; "', () => {
    expect(appendReason('us-east-1: down', 'us-west-2: down')).toBe('us-east-1: down; us-west-2: down');
  });

  it('the placeholder is what pending() starts every placement with', () => {
    expect(pending(envelope(1))).toEqual({ ...envelope(1), status: 'pending', tokens: [], failedOver: false, reason: NOT_FORWARDED });
  });
});

describe('failureText (the reason built from a Catch output)', () => {
  it('reads Lambda\'s JSON Cause, a plain Cause, or none at all', async () => {
    const { failureText } = await import('../../functions/forward.js');
    expect(failureText({ Error: 'RegionUnavailable', Cause: JSON.stringify({ errorType: 'RegionUnavailable', errorMessage: 'us-west-2 took none' }) })).toBe(
      'RegionUnavailable: us-west-2 took none',
    );
    expect(failureText({ Error: 'States.Timeout', Cause: 'Task timed out' })).toBe('States.Timeout: Task timed out');
    expect(failureText({ Error: 'States.Timeout' })).toBe('States.Timeout');
    expect(failureText({})).toBeUndefined();
    expect(failureText(null)).toBeUndefined();
  });
});

describe('unconfirmedAfterUnanswered: the send after an attempt without an answer', () => {
  it('ties what it did not place to the region (unconfirmed, with a token, its body dropped), never leaves it pending', () => {
    const all = placements(3);
    const results: SendResult[] = [
      { messageId: all[0]!.messageId, ok: true, sqsMessageId: 'm1', token: 't1' },
      { messageId: all[1]!.messageId, ok: false, error: 'RequestThrottled: Rate exceeded', token: 't2' },
      { messageId: all[2]!.messageId, ok: false, unknown: true, error: 'socket hang up', token: 't3' },
    ];
    applyResults(all, 'us-west-2', results, AT, false);
    expect(unconfirmedAfterUnanswered(all, 'us-west-2', results, AT)).toBe(1);
    expect(all.map((p) => p.status)).toEqual(['dispatched', 'unconfirmed', 'unconfirmed']);
    expect(all[1]).toMatchObject({ region: 'us-west-2', token: 't2', body: '' });
    expect(all[1]?.reason).toMatch(/an earlier send had no answer; then RequestThrottled/);
    expect(byStatus(all, 'pending')).toEqual([]);
  });
});
