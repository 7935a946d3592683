/**
 * worker/lanes.ts LaneReceiver while idle, on SQS's receive semantics in virtual time
 * (tools/bench/lanes-idle-sqs.ts): what an idle worker's receives cost, how soon a request arriving at
 * it is taken, that a busy worker receives as before, and that nothing is lost when both lanes answer.
 */
import { describe, expect, it } from 'vitest';
import { STARVATION_LIMIT } from '../../core/lanes.js';
import { SimulatedSqs, VirtualClock } from '../../tools/bench/lanes-idle-sqs.js';
import { LANE_RECEIVE, LaneReceiver, idleReceivesPerSecond, type LaneMessage, type LaneReceiverOptions } from '../../worker/lanes.js';

const HIGH = 'sim://high';
const NORMAL = 'sim://normal';
/** $0.10 a month at $0.40 per million receives, a month of 730 hours. */
const BUDGET_PER_HOUR = 0.1 / 0.4e-6 / 730;
/** How long after its arrival a request at an idle worker is taken, at most: high at once, normal after the rest. */
const HIGH_BOUND_MS = 0;
const NORMAL_BOUND_MS = 5000;

function setup(options: LaneReceiverOptions = {}, high = true) {
  const clock = new VirtualClock();
  const sqs = new SimulatedSqs(clock);
  const receiver = new LaneReceiver(sqs.receive, { normal: NORMAL, ...(high ? { high: HIGH } : {}) }, { ...options, clock });
  return { clock, sqs, receiver };
}

/** A worker taking every message at once; what it took, with the virtual time. */
function worker(receiver: LaneReceiver, clock: VirtualClock, jobMs = 0) {
  const taken: { at: number; lane: string; body: string; count: number }[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const next: LaneMessage | undefined = await receiver.next();
      if (!next) continue;
      taken.push({ at: clock.now(), lane: next.lane, body: next.message.Body ?? '', count: Number(next.message.Attributes?.ApproximateReceiveCount) });
      if (jobMs) await clock.sleep(jobMs);
    }
  })();
  return {
    taken,
    stop: () => {
      stopped = true;
    },
  };
}

describe('LaneReceiver, idle', () => {
  it('an idle worker makes at most $0.10 a month of receives (9 per 100 s with both lanes, 1 per 20 s with one)', async () => {
    for (const high of [true, false]) {
      const { clock, sqs, receiver } = setup({}, high);
      const w = worker(receiver, clock);
      await clock.run(3600_000);
      w.stop();
      const receives = sqs.receives(HIGH) + sqs.receives(NORMAL);
      expect(receives).toBeLessThanOrEqual(BUDGET_PER_HOUR);
      // The schedule the cost model reads, give or take the ends: the first next()'s receives without
      // waiting (one per lane) and the polls that start at the last instant (one per lane).
      const expected = idleReceivesPerSecond({}, high) * 3600;
      expect(receives).toBeGreaterThanOrEqual(expected - 2);
      expect(receives).toBeLessThanOrEqual(expected + 4);
      expect(w.taken).toEqual([]);
    }
  });

  it('LANE_RECEIVE: its cycle is what its waits and rests make, under $0.10 a month', () => {
    const { idleWaitSeconds: wait, idleRestSeconds: rest, idleCycle } = LANE_RECEIVE;
    for (const lane of ['high', 'normal'] as const) {
      expect(idleCycle.receivesPerLane[lane] * (wait[lane] + rest[lane])).toBe(idleCycle.seconds);
    }
    expect(idleCycle.receives).toBe(idleCycle.receivesPerLane.high + idleCycle.receivesPerLane.normal);
    expect(idleCycle.receives / idleCycle.seconds).toBeCloseTo(idleReceivesPerSecond(), 12);
    expect((idleCycle.receives / idleCycle.seconds) * 730 * 3600 * 0.4e-6).toBeLessThanOrEqual(0.1);
  });

  it(`takes a high request arriving at an idle worker at once, and a normal one within ${NORMAL_BOUND_MS / 1000} s, wherever in the schedule it arrives`, async () => {
    const { clock, sqs, receiver } = setup();
    const w = worker(receiver, clock);
    const sent: { at: number; lane: 'high' | 'normal' }[] = [];
    // Arrivals 37.3 s apart: every phase of the 20 s and 25 s polls is met.
    for (let i = 0; i < 120; i++) {
      const lane = i % 2 ? 'normal' : 'high';
      const at = 60_000 + i * 37_300;
      sent.push({ at, lane });
      clock.at(at, () => sqs.send(lane === 'high' ? HIGH : NORMAL, `${lane}-${i}`));
    }
    await clock.run(60_000 + 121 * 37_300);
    w.stop();
    expect(w.taken.map((t) => t.body)).toEqual(sent.map((s, i) => `${s.lane}-${i}`));
    const waits = w.taken.map((t, i) => ({ lane: t.lane, wait: t.at - (sent[i] as { at: number }).at }));
    for (const { lane, wait } of waits) expect(wait).toBeLessThanOrEqual(lane === 'high' ? HIGH_BOUND_MS : NORMAL_BOUND_MS);
    // The normal lane's rest does delay some normal requests: the bound is met, not avoided.
    expect(waits.some((w) => w.lane === 'normal' && w.wait > 0)).toBe(true);
  });

  it('takes the high request first when both lanes answer at once, and loses nothing', async () => {
    const { clock, sqs, receiver } = setup();
    const w = worker(receiver, clock);
    await clock.run(60_000);
    // At 65 s both lanes' watch polls are open (high 60-80 s, normal 50-70 s): both answer at once.
    clock.at(65_000, () => {
      sqs.send(NORMAL, 'normal-0');
      sqs.send(HIGH, 'high-0');
    });
    await clock.run(80_000);
    w.stop();
    expect(w.taken.map((t) => [t.lane, t.body, t.at, t.count])).toEqual([
      ['high', 'high-0', 65_000, 1],
      ['normal', 'normal-0', 65_000, 1],
    ]);
    expect(sqs.visible(HIGH) + sqs.visible(NORMAL)).toBe(0);
  });

  it('a message a watch poll brings while the worker is busy is held for its next next(), received once', async () => {
    const { clock, sqs, receiver } = setup();
    const w = worker(receiver, clock, 10_000);
    await clock.run(30_000);
    clock.at(31_000, () => sqs.send(HIGH, 'high-0'));
    // While the high job runs (31-41 s), the normal lane's watch poll is still open and takes this one.
    clock.at(33_000, () => sqs.send(NORMAL, 'normal-0'));
    await clock.run(60_000);
    w.stop();
    expect(w.taken.map((t) => [t.body, t.at, t.count])).toEqual([
      ['high-0', 31_000, 1],
      ['normal-0', 41_000, 1],
    ]);
    expect(sqs.receiveCount(NORMAL, 'm2')).toBe(1);
  });

  it('a held normal message does not pass a high one that arrived while no poll watched the high lane', async () => {
    const { clock, sqs, receiver } = setup();
    const first = receiver.next();
    await clock.run(20_000);
    expect(await first).toBeUndefined();
    // Watch polls: high 20-40 s, normal 25-45 s (after its rest). The high one comes back empty at 40 s.
    const second = receiver.next();
    await clock.run(40_000);
    expect(await second).toBeUndefined();
    // Before the worker's next next(): a high message (no poll on its lane) and a normal one (held).
    clock.at(41_000, () => {
      sqs.send(HIGH, 'high-0');
      sqs.send(NORMAL, 'normal-0');
    });
    await clock.run(42_000);
    const third = receiver.next();
    await clock.run(42_000);
    expect((await third)?.message.Body).toBe('high-0');
    const fourth = receiver.next();
    await clock.run(42_000);
    expect((await fourth)?.message.Body).toBe('normal-0');
  });

  it('close() gives back what a watch poll brought after the last next()', async () => {
    const { clock, sqs, receiver } = setup();
    const first = receiver.next();
    await clock.run(1000);
    sqs.send(HIGH, 'high-0');
    await clock.run(1000);
    expect((await first)?.message.Body).toBe('high-0');
    // The normal lane's watch poll is still open: a message sent now is brought and held.
    sqs.send(NORMAL, 'normal-0');
    const closing = receiver.close();
    await clock.run(25_000);
    expect((await closing).map((m) => [m.lane, m.message.Body])).toEqual([['normal', 'normal-0']]);
  });

  it(`busy: the lanes in order without waiting, ${STARVATION_LIMIT} high then 1 normal, each message taken the moment it is asked for`, async () => {
    const { clock, sqs, receiver } = setup();
    for (let i = 0; i < 20; i++) sqs.send(HIGH, `high-${i}`);
    for (let i = 0; i < 20; i++) sqs.send(NORMAL, `normal-${i}`);
    const lanes: string[] = [];
    for (let i = 0; i < 25; i++) {
      const next = receiver.next();
      await clock.run(clock.now());
      lanes.push((await next)?.lane ?? 'none');
    }
    expect(clock.now()).toBe(0);
    expect(lanes).toEqual(Array.from({ length: 5 }, () => [...Array(STARVATION_LIMIT).fill('high'), 'normal']).flat());
    // As before: the high lane asked first (the normal lane first after the guard), every receive without waiting.
    expect(sqs.log.every((r) => r.waitSeconds === 0)).toBe(true);
    expect(sqs.log.map((r) => (r.queueUrl === HIGH ? 'H' : 'N')).join('')).toBe('HHHHN'.repeat(5));
  });
});
