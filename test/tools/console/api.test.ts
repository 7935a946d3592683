/** The console's JSON API, without a browser: what each route answers, and the 4xx it gives for bad input. */
import { STATE } from '../../../workflows/dispatch.js';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterScene, failoverScene, invalidRequestScene, waitFor } from '../../../tools/console/scene.js';
import { definitionStateNames, startConsoleHarness, type ConsoleHarness } from './harness.js';

let h: ConsoleHarness;
let failoverArn: string;

beforeAll(async () => {
  h = await startConsoleHarness();
  failoverArn = (await failoverScene(h.stack, 'us-west-2', 'req-api-failover')).executionArn;
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

describe('bad requests are 4xx with a message that names the problem', () => {
  it.each([
    ['/api/executions?status=DONE', 400, /status: must be one of RUNNING/],
    ['/api/executions?limit=0', 400, /limit: must be at least 1/],
    ['/api/executions?colour=red', 400, /unknown query parameter: colour/],
    ['/api/executions?status=FAILED&status=RUNNING', 400, /status is given twice/],
    ['/api/execution', 400, /give arn \(an execution ARN\) or name \(its name\), one of them/],
    ['/api/execution?name=has%20space', 400, /name: must be an execution name/],
    ['/api/execution?name=b20990101T000000-00000000', 404, /no execution named b20990101T000000-00000000/],
    ['/api/execution?arn=nope', 400, /arn: must be an execution ARN/],
    ['/api/execution?arn=arn:aws:states:us-east-1:000000000000:express:inference-dispatch-local:nope:0000', 404, /Execution Does Not Exist/],
    ['/api/requests?id=has%20space', 400, /request_id may hold only/],
    ['/api/dead-letters?queue=regional', 400, /queue: must be dispatch, master, master-high or all/],
    ['/api/nothing', 404, /no API route/],
    ['/nothing.html', 404, /no page/],
  ])('GET %s -> %i', async (path, status, message) => {
    const { status: got, body } = await h.get(path);
    expect(got).toBe(status);
    expect(body.error).toMatch(message);
  });

  it('refuses a redrive that is not JSON, is cross-origin, or lacks dryRun', async () => {
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      h.get('/api/redrive', { method: 'POST', headers, body });
    expect(await post('{"queue":"dispatch"}')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/dryRun: is required/) } });
    expect(await post('{"queue":"nowhere","dryRun":true}')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/queue: must be dispatch, master or master-high/) } });
    expect(await post('{"queue":"dispatch","dryRun":true,"force":true}')).toMatchObject({ status: 400, body: { error: 'unknown body field: force' } });
    expect(await post('queue=dispatch', { 'content-type': 'text/plain' })).toMatchObject({ status: 415 });
    expect(await post('{"queue":"dispatch","dryRun":false}', { 'content-type': 'application/json', origin: 'http://example.com' })).toMatchObject({ status: 403 });
    expect(await h.get('/api/redrive')).toMatchObject({ status: 405, body: { error: '/api/redrive takes POST' } });
  });

  it('answers only to its own host names (a page of another site cannot rebind its name to it)', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) =>
      request({ host: '127.0.0.1', port: h.console.port, path: '/api/stack', headers: { host: `attacker.example:${h.console.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on('error', reject)
        .end(),
    );
    expect(status).toBe(403);
    expect((await h.get('/api/stack')).status).toBe(200);
  });
});

describe('executions', () => {
  it('lists them newest first, with message and outcome counts, and filters by status', async () => {
    type Listed = { arn: string; status: string; startDate: number; messages: number; failedOver: number; counts: Record<string, number> };
    const read = async () => (await h.get('/api/executions')).body.executions as Listed[];
    // The listing is shared for 300 ms: wait until it holds the failover execution as it ended.
    const list = await waitFor('the failover execution listed as it ended', async () => {
      const listed = await read();
      return (listed.find((e) => e.arn === failoverArn)?.failedOver ?? 0) > 0 ? listed : undefined;
    }, 5_000).catch(read);
    expect(list.length).toBeGreaterThan(0);
    expect([...list].sort((a, b) => b.startDate - a.startDate).map((e) => e.arn)).toEqual(list.map((e) => e.arn));
    const failover = list.find((e) => e.arn === failoverArn);
    expect(failover?.failedOver).toBeGreaterThan(0);
    expect(failover?.counts.dispatched).toBe(failover?.messages);
    expect((await h.get('/api/executions?status=FAILED')).body.executions).toEqual([]);
  });

  it('gives one execution with each state coloured from its history, and the batch as rows', async () => {
    const { status, body } = await h.get(`/api/execution?arn=${encodeURIComponent(failoverArn)}`);
    expect(status).toBe(200);
    type Visit = { name: string; input?: string; outcome: string; attempts: number; errors: Array<{ error: string; handling: string; next?: string }> };
    const model = body.model as {
      states: Record<string, { outcome: string; retries: number; visits: number; errors: Array<{ error: string; handling: string; next?: string }> }>;
      visits: Visit[];
      unattributed: number[];
    };
    expect(model.unattributed).toEqual([]);
    // One Forward state for every region: its colour is its worst visit's, each visit is one region's iteration.
    const visitsIn = (name: string, region: string) => model.visits.filter((v) => v.name === name && (JSON.parse(v.input ?? '{}') as { region?: string }).region === region);
    expect(model.states[STATE.forward]).toMatchObject({ outcome: 'caught', retries: 1 });
    const west2 = visitsIn(STATE.forward, 'us-west-2');
    expect(west2).toHaveLength(1);
    expect(west2[0]).toMatchObject({ outcome: 'caught', attempts: 2 });
    expect(west2[0]?.errors.map((e) => [e.error, e.handling, e.next])).toEqual([
      ['RegionUnavailable', 'retried', undefined],
      ['RegionUnavailable', 'caught', 'Region refused'],
    ]);
    expect(visitsIn(STATE.failover, 'us-west-2').map((v) => v.outcome)).toEqual(['succeeded']);
    expect(visitsIn(STATE.forward, 'us-east-1').map((v) => v.outcome)).toEqual(['succeeded']);
    // The failover ran for us-west-2's iteration only.
    expect(model.visits.filter((v) => v.name === STATE.failover)).toHaveLength(1);
    const rows = body.messages as Array<{ failedOver: boolean; branch?: string; region?: string; outcome: string }>;
    const moved = rows.filter((r) => r.failedOver);
    expect(moved.length).toBeGreaterThan(0);
    for (const r of moved) expect(r).toMatchObject({ branch: 'us-west-2', outcome: 'dispatched' });
    for (const r of moved) expect(r.region).not.toBe('us-west-2');
  });

  it('lays out the deployed definition: one node per state', async () => {
    const { body } = await h.get('/api/graph');
    const names = definitionStateNames(h.stack);
    expect(body.stateCount).toBe(names.length);
    expect(new Set((body.nodes as Array<{ name: string }>).map((n) => n.name))).toEqual(new Set(names));
  });
});

describe('requests, regions and dead letters', () => {
  it("tells a request's story: its execution, its record, the regional queue that holds it", async () => {
    const { body: detail } = await h.get(`/api/execution?arn=${encodeURIComponent(failoverArn)}`);
    const row = (detail.messages as Array<{ requestId: string; region: string; failedOver: boolean }>).find((r) => r.failedOver) as { requestId: string; region: string };
    const { status, body } = await h.get(`/api/requests?id=${row.requestId}`);
    expect(status).toBe(200);
    expect((body.executions as Array<{ arn: string }>).map((e) => e.arn)).toContain(failoverArn);
    expect(new Map((body.record as { rows: Array<[string, string]> }).rows).get('status')).toBe('DISPATCHED');
    expect(body.held).toEqual([expect.objectContaining({ kind: 'regional queue', region: row.region, state: 'ready', requestId: row.requestId })]);
  });

  it('samples the regions: depth and the failover counted from the executions', async () => {
    type Sample = { regions: Record<string, { failedOverFrom: number; failedOverTo: number; visible: number; dispatched: number }> };
    const sum = (s: Sample, key: 'visible' | 'dispatched' | 'failedOverTo') => Object.values(s.regions).reduce((t, r) => t + r[key], 0);
    // The scene's 9 requests, in one or two executions: wait for a sample taken after all of them.
    const regions = await waitFor('a sample with the whole failover scene', async () => {
      const { body } = await h.get('/api/regions');
      const last = (body.samples as Sample[]).at(-1);
      return last && sum(last, 'dispatched') === 9 && sum(last, 'visible') === 9 ? body : undefined;
    });
    const last = (regions.samples as Sample[]).at(-1) as Sample;
    expect(last.regions['us-west-2']?.failedOverFrom).toBeGreaterThan(0);
    expect(sum(last, 'failedOverTo')).toBe(last.regions['us-west-2']?.failedOverFrom);
    expect(regions.health).toEqual({ 'us-east-1': null, 'us-west-2': null, 'us-west-1': null });
    expect((regions.dlqs as Array<{ label: string }>).map((q) => q.label)).toEqual([
      'dispatch DLQ',
      'master DLQ',
      'master high DLQ',
      ...['us-east-1', 'us-west-2', 'us-west-1'].flatMap((region) => [`${region} DLQ`, `${region} high DLQ`]),
    ]);
  });

  it('lists the DLQs by reason and redrives one request with the CLI rules (dry run first)', async () => {
    const ids = await deadLetterScene(h.stack, 'req-api-dlq', 2);
    const { body } = await h.get('/api/dead-letters?queue=dispatch');
    const listing = (body.queues as Array<{ queue: string; read: number; groups: Array<{ reason: string; requestIds: string[] }> }>)[0];
    expect(listing?.read).toBe(2);
    expect(listing?.groups.flatMap((g) => g.requestIds).sort()).toEqual(ids);
    for (const g of listing?.groups ?? []) expect(g.reason).toMatch(/^no region accepted the message/);

    const post = (dryRun: boolean) =>
      h.get('/api/redrive', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: 'dispatch', requestIds: [ids[0]], dryRun }) });
    const plan = await post(true);
    expect(plan.body).toMatchObject({ dryRun: true, counts: { 'would-move': 1, moved: 0 }, notSelected: 1 });
    expect(await h.recordStatus(ids[0] as string)).toBe('DEAD_LETTERED');
    const done = await post(false);
    expect(done.body).toMatchObject({ dryRun: false, counts: { moved: 1, failed: 0 } });
    await waitFor(`${ids[0]} dispatched`, async () => (await h.recordStatus(ids[0] as string)) === 'DISPATCHED');
    expect(await h.regionalCopies(ids[0] as string)).toHaveLength(1);
    const after = await h.get('/api/dead-letters?queue=dispatch');
    expect((after.body.queues as Array<{ messages: Array<{ requestId: string }> }>)[0]?.messages.map((m) => m.requestId)).toEqual([ids[1]]);
  });
});

describe('an invalid request the intake dead-lettered, found by the request_id in its body', () => {
  // A request_id that keeps the rules, in a request the intake refuses (its URL is not s3:// or http(s)://).
  const id = 'req-api-invalid-body';
  beforeAll(() => invalidRequestScene(h.stack, id), 60_000);

  it("the request's story names its copy in the dispatch DLQ, put there by the intake, as `status` finds it", async () => {
    const { status, body } = await h.get(`/api/requests?id=${id}`);
    expect(status).toBe(200);
    expect(body.record).toMatchObject({ found: false });
    expect(body.held).toEqual([
      expect.objectContaining({
        kind: 'dispatch DLQ',
        queue: h.stack.description.dispatchDeadLetterQueueUrl.split('/').at(-1),
        requestId: id,
        by: 'intake',
        matchedBy: 'body',
        reason: expect.stringMatching(/^invalid request: input_data_url must be an s3:\/\/ or http\(s\):\/\/ URL/),
      }),
    ]);
  });

  it('the Dead letters listing counts it under its request_id (read from the body), and a redrive selects it by that id', async () => {
    const { body } = await h.get('/api/dead-letters?queue=dispatch');
    const listing = (body.queues as Array<{ groups: Array<{ reason: string; requestIds: string[]; withoutRequestId: number }>; messages: Array<{ requestId?: string; requestIdFrom?: string }> }>)[0];
    const group = listing?.groups.find((g) => g.reason.startsWith('invalid request: input_data_url'));
    expect(group).toMatchObject({ requestIds: [id], withoutRequestId: 0 });
    expect(listing?.messages.find((m) => m.requestId === id)).toMatchObject({ requestIdFrom: 'body' });
    const plan = await h.get('/api/redrive', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queue: 'dispatch', requestIds: [id], dryRun: true }),
    });
    expect(plan.body).toMatchObject({ counts: { 'would-move': 1 }, entries: [expect.objectContaining({ requestId: id, outcome: 'would-move' })] });
  });
});

describe('an execution by its name', () => {
  it('gives the same execution by name as by ARN (deep links name it either way)', async () => {
    const byArn = await h.get(`/api/execution?arn=${encodeURIComponent(failoverArn)}`);
    const name = (byArn.body.execution as { name: string }).name;
    expect(failoverArn).toContain(`:${name}`);
    const byName = await h.get(`/api/execution?name=${encodeURIComponent(name)}`);
    expect(byName.status).toBe(200);
    expect((byName.body.execution as { arn: string; name: string })).toMatchObject({ arn: failoverArn, name });
    expect(byName.body.messages).toEqual(byArn.body.messages);
  });
});
