/**
 * What the chaos suite added to the fault proxy (tools/local/faults/proxy.ts): a "down" mode for a region or
 * DynamoDB that goes away (callers get ECONNREFUSED, known not delivered, unlike a reset; a request in
 * flight still finishes; the proxy comes back on the same endpoint), and the log of requests whose caller
 * hung up before the answer while the target did the work (the evidence of a natural unconfirmed send).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliveryOf } from '../../../../aws/delivery.js';
import { startFaultProxy, type FaultProxy } from '../../../../tools/local/faults/proxy.js';

let target: Server;
let proxy: FaultProxy;
let release: (() => void) | undefined;

beforeAll(async () => {
  target = createServer((req, res) => {
    const answer = () => res.end(JSON.stringify({ ok: true, path: req.url }));
    if (req.url === '/slow') release = answer;
    else if (req.url === '/late') setTimeout(answer, 300);
    else answer();
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  proxy = await startFaultProxy({ target: `http://127.0.0.1:${(target.address() as AddressInfo).port}`, service: 'sqs', logBodies: true });
});
afterAll(async () => {
  await proxy?.stop();
  await new Promise((resolve) => target?.close(resolve));
});

function call(path: string, timeoutMs?: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxy.endpoint}${path}`, { method: 'POST', agent: false, headers: { 'x-amz-target': 'AmazonSQS.SendMessageBatch' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(new Error('caller timed out')));
    req.end(`{"path":"${path}"}`);
  });
}

it('refuses connections while down (ECONNREFUSED: not delivered), lets a request in flight finish, and comes back', async () => {
  expect((await call('/before')).status).toBe(200);

  const slow = call('/slow');
  while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
  await proxy.setDown(true);
  expect(proxy.down).toBe(true);

  const refused = await call('/while-down').then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error,
  );
  expect(refused?.code).toBe('ECONNREFUSED');
  expect(deliveryOf(refused)).toBe('not-delivered');

  release();
  expect(JSON.parse((await slow).body)).toEqual({ ok: true, path: '/slow' });

  await proxy.setDown(false);
  expect(proxy.down).toBe(false);
  expect((await call('/after')).status).toBe(200);
  const periods = proxy.downPeriods();
  expect(periods).toHaveLength(1);
  expect(periods[0]?.to).toBeGreaterThanOrEqual(periods[0]?.from ?? Infinity);
});

it('logs a request whose caller hung up before the answer, with whether the target applied it and its body', async () => {
  const before = proxy.stats.abandoned().length;
  await expect(call('/late', 50)).rejects.toThrow(/caller timed out/);
  for (let i = 0; i < 100 && proxy.stats.abandoned().length === before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  const [record] = proxy.stats.abandoned().slice(before);
  expect(record).toMatchObject({ action: 'SendMessageBatch', targetStatus: 200, applied: true, body: '{"path":"/late"}' });
  // An answered request is not abandoned.
  expect((await call('/quick', 1000)).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(proxy.stats.abandoned().length).toBe(before + 1);
});
