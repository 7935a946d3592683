/**
 * WatchedCopies (worker/keep.ts) on its own, with a fake monotonic clock and fake timers: a kept copy's
 * visibility covers its watch plus the margin and is extended again while it waits; it is taken back once
 * due, oldest first; kept at most maxKeeps watches; released or abandoned on stop or death.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '@aws-sdk/client-sqs';
import { WatchedCopies } from '../../worker/keep.js';

let now = 0;
let extended: Array<[string, number]> = [];

const message = (id: string): Message => ({ MessageId: id, ReceiptHandle: `rh-${id}`, Body: '{}' });
const copies = (options: { maxKeeps?: number; fail?: boolean } = {}) =>
  new WatchedCopies<Message>({
    extendVisibility: async (m, seconds) => {
      if (options.fail) throw new Error('SQS down');
      extended.push([m.MessageId ?? '', seconds]);
    },
    marginSeconds: 4,
    monotonic: () => now,
    ...(options.maxKeeps ? { maxKeeps: options.maxKeeps } : {}),
  });

beforeEach(() => {
  vi.useFakeTimers();
  now = 0;
  extended = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe('WatchedCopies', () => {
  it('keeps a copy over its watch plus the margin and gives it back once due, oldest first', async () => {
    const kept = copies();
    expect(await kept.keep(message('a'), 2.5)).toBe(true);
    now = 500;
    expect(await kept.keep(message('b'), 1)).toBe(true);
    expect(extended).toEqual([
      ['a', 7],
      ['b', 5],
    ]);
    expect(kept.size).toBe(2);
    expect(kept.takeDue()).toBeUndefined();
    expect(kept.nextDueInMs()).toBe(1000);
    now = 2600;
    expect(kept.takeDue()?.message.MessageId).toBe('b');
    expect(kept.takeDue()?.message.MessageId).toBe('a');
    expect(kept.takeDue()).toBeUndefined();
    expect(kept.nextDueInMs()).toBeUndefined();
  });

  it('extends a copy not yet taken back by the margin again, before its visibility ends, until taken', async () => {
    const kept = copies();
    await kept.keep(message('a'), 2);
    await vi.advanceTimersByTimeAsync(4000); // the watch (2 s) and half the margin: 2 s before its visibility ends
    expect(extended).toEqual([
      ['a', 6],
      ['a', 4],
    ]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(extended).toHaveLength(3);
    now = 10_000;
    expect(kept.takeDue()?.keeps).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(extended).toHaveLength(3);
  });

  it('keeps a copy at most maxKeeps watches, then leaves it to the caller to hand back', async () => {
    const kept = copies({ maxKeeps: 2 });
    expect(await kept.keep(message('a'), 1)).toBe(true);
    now = 2000;
    const first = kept.takeDue();
    expect(first?.keeps).toBe(1);
    expect(await kept.keep(message('a'), 1, first?.keeps)).toBe(true);
    now = 4000;
    const second = kept.takeDue();
    expect(second?.keeps).toBe(2);
    expect(await kept.keep(message('a'), 1, second?.keeps)).toBe(false);
    expect(kept.size).toBe(0);
    expect(extended).toHaveLength(2);
  });

  it('keeps nothing when the visibility cannot be extended', async () => {
    const kept = copies({ fail: true });
    await expect(kept.keep(message('a'), 1)).rejects.toThrow('SQS down');
    expect(kept.size).toBe(0);
  });

  it('release gives every kept copy back; abandon forgets them; neither extends again', async () => {
    const kept = copies();
    await kept.keep(message('a'), 1);
    await kept.keep(message('b'), 5);
    expect(
      kept
        .release()
        .map((k) => k.message.MessageId)
        .sort(),
    ).toEqual(['a', 'b']);
    await kept.keep(message('c'), 1);
    kept.abandon();
    expect(kept.size).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(extended).toHaveLength(3);
  });
});
