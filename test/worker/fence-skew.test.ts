/**
 * The fence under clock skew (docs/architecture.md, invariant 12), against dynalite through the real DynamoDBClient.
 * Each worker has its own Fence with its own clock, skewed by minutes; no safety decision may depend on
 * those clocks agreeing. A lease is taken over only by a worker that has itself watched the lease's
 * version stay unchanged for the lease's duration, by its own monotonic clock.
 * Leases are 1-2 s; nothing here asserts how long anything took, only who holds the request.
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ATTR, RECORD_STATUS } from '../../core/record.js';
import { AlreadyAcceptedError, AlreadyCompletedError, Fence } from '../../worker/index.js';
import { startLocalAws, type LocalAws, claimRecord } from '../support/local-aws.js';
import { refusal } from '../support/refusal.js';

const MINUTES_5 = 300;

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

/** A worker's fence whose clock is `skew` seconds off the real one. */
const worker = (skew: number) => Fence.dynamo(aws.dynamo, aws.resources.tableName, { clock: () => Math.floor(Date.now() / 1000) + skew });
const newId = () => `req-${randomUUID().slice(0, 12)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const item = (requestId: string) => claimRecord(aws, requestId);


const expectInFlight = (error: unknown) => {
  expect(error).toBeInstanceOf(AlreadyAcceptedError);
  expect(error).toMatchObject({ reason: 'IN_FLIGHT', dropCopy: false });
};

describe.concurrent('the fence under clock skew', () => {
  it('a worker whose clock runs 5 minutes fast does not take over a live lease', async () => {
    const id = newId();
    const holder = worker(0);
    const fast = worker(+MINUTES_5);
    await holder.accept({ requestId: id, token: 'tok-a', workerId: 'holder', leaseSeconds: 2 });
    // The same copy, redelivered to a worker whose clock says the lease ended minutes ago.
    expectInFlight(await refusal(fast.accept({ requestId: id, token: 'tok-a', workerId: 'fast', leaseSeconds: 2 })));
    expect((await item(id))?.[ATTR.acceptedBy]).toEqual({ S: 'holder' });
    // The holder still holds it: it completes.
    await holder.complete({ requestId: id, token: 'tok-a', workerId: 'holder' });
    expect((await item(id))?.[ATTR.workStatus]).toEqual({ S: 'COMPLETED' });
  });

  it('a holder whose clock runs 5 minutes slow keeps the end of its lease', async () => {
    const id = newId();
    const slow = worker(-MINUTES_5);
    const taker = worker(0);
    await slow.accept({ requestId: id, token: 'tok-a', workerId: 'slow', leaseSeconds: 2 });
    expectInFlight(await refusal(taker.accept({ requestId: id, token: 'tok-a', workerId: 'taker', leaseSeconds: 2 })));
    expectInFlight(await refusal(worker(+MINUTES_5).accept({ requestId: id, token: 'tok-a', workerId: 'fast', leaseSeconds: 2 })));
    expect((await item(id))?.[ATTR.acceptedBy]).toEqual({ S: 'slow' });
    await slow.complete({ requestId: id, token: 'tok-a', workerId: 'slow' });
    expect(await item(id)).toMatchObject({ [ATTR.workStatus]: { S: 'COMPLETED' }, [ATTR.acceptedBy]: { S: 'slow' } });
  });

  it.each([
    ['fast holder, slow taker', +MINUTES_5, -MINUTES_5],
    ['slow holder, fast taker', -MINUTES_5, +MINUTES_5],
  ])('%s: the taker takes a dead holder over once it has watched the lease unchanged for its duration', async (_, holderSkew, takerSkew) => {
    const id = newId();
    await worker(holderSkew).accept({ requestId: id, token: 'tok-a', workerId: 'holder', leaseSeconds: 1 });
    // The holder dies: no heartbeat, no release.
    const taker = worker(takerSkew);
    const first = await refusal(taker.accept({ requestId: id, token: 'tok-a', workerId: 'taker', leaseSeconds: 1 }));
    expectInFlight(first);
    // The refusal says when to look again: after the lease, counted from this first look.
    expect((first as AlreadyAcceptedError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    await vi.waitFor(() => taker.accept({ requestId: id, token: 'tok-a', workerId: 'taker', leaseSeconds: 1 }), { timeout: 10_000, interval: 200 });
    expect((await item(id))?.[ATTR.acceptedBy]).toEqual({ S: 'taker' });
    // The dead holder's late completion is refused, and so is another watcher's take-over of a live lease.
    await expect(worker(0).complete({ requestId: id, token: 'tok-a', workerId: 'holder' })).rejects.toThrow();
    expectInFlight(await refusal(worker(holderSkew).accept({ requestId: id, token: 'tok-a', workerId: 'holder', leaseSeconds: 1 })));
  });

  it('a worker that never watched does not take over, however late its clock says it is', async () => {
    const id = newId();
    await worker(-MINUTES_5).accept({ requestId: id, token: 'tok-a', workerId: 'holder', leaseSeconds: 1 });
    await sleep(1500);
    // The lease has lapsed by every clock, but a fresh worker has not watched it: it must watch first.
    expectInFlight(await refusal(worker(+MINUTES_5).accept({ requestId: id, token: 'tok-a', workerId: 'fresh', leaseSeconds: 1 })));
  });

  it('a holder that heartbeats is never taken over, even by a watcher with a fast clock', async () => {
    const id = newId();
    const holder = worker(-MINUTES_5);
    await holder.accept({ requestId: id, token: 'tok-a', workerId: 'holder', leaseSeconds: 1 });
    const watcher = worker(+MINUTES_5);
    let beating = true;
    const beats = (async () => {
      while (beating) {
        await holder.extend({ requestId: id, token: 'tok-a', workerId: 'holder', seconds: 1 });
        await sleep(250);
      }
    })();
    try {
      // Watch for three lease durations: every look sees a new version, so the watch starts again.
      for (let i = 0; i < 12; i++) {
        expectInFlight(await refusal(watcher.accept({ requestId: id, token: 'tok-a', workerId: 'watcher', leaseSeconds: 1 })));
        await sleep(250);
      }
    } finally {
      beating = false;
      await beats;
    }
    expect((await item(id))?.[ATTR.acceptedBy]).toEqual({ S: 'holder' });
  });

  it('a completed request is never taken over; a released one is accepted at once', async () => {
    const [done, released] = [newId(), newId()];
    const holder = worker(0);
    const taker = worker(+MINUTES_5);
    await holder.accept({ requestId: done, token: 'tok-a', workerId: 'holder', leaseSeconds: 1 });
    await holder.complete({ requestId: done, token: 'tok-a', workerId: 'holder' });
    await sleep(1200);
    for (let i = 0; i < 2; i++) {
      expect(await refusal(taker.accept({ requestId: done, token: 'tok-a', workerId: 'taker', leaseSeconds: 1 }))).toBeInstanceOf(AlreadyCompletedError);
      await sleep(600);
    }

    await aws.dynamo.send(new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: released }, status: { S: RECORD_STATUS.dispatched } } }));
    await holder.accept({ requestId: released, token: 'tok-a', workerId: 'holder', leaseSeconds: 60 });
    await holder.release({ requestId: released, token: 'tok-a', workerId: 'holder' });
    expect(await taker.accept({ requestId: released, token: 'tok-a', workerId: 'taker', leaseSeconds: 60 })).toMatchObject({ acceptedBy: 'taker' });
  });
});
