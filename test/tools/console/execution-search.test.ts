/**
 * The executions search: its pure parts (times, the query, the cursor, the pages), then GET
 * /api/executions and ExecutionStore.list on a local stack, through the real Step Functions client.
 */
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeCursor,
  encodeCursor,
  executionSearchQuery,
  parseTime,
  searchExecutions,
  type ExecutionSearch,
  type Searchable,
} from '../../../tools/console/execution-search.js';
import { ExecutionStore } from '../../../tools/console/executions.js';
import { requestBodies, sendBodies, waitFor } from '../../../tools/console/scene.js';
import { LOCAL_CREDENTIALS } from '../../../tools/local/resources.js';
import { startConsoleHarness, type ConsoleHarness } from './harness.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
const query = executionSearchQuery(STATUSES);
const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);
const exec = (n: number, startDate: number, status = 'SUCCEEDED', name = `b-${n}`): Searchable => ({
  arn: `arn:aws:states:us-east-1:000000000000:express:m:${name}:${String(n).padStart(4, '0')}`,
  name,
  status,
  startDate,
});
const search = (s: Partial<ExecutionSearch> = {}): ExecutionSearch => ({ limit: 50, ...s });
/** Every page of a search, by following nextToken. */
function allPages(all: readonly Searchable[], s: ExecutionSearch): Searchable[][] {
  const pages: Searchable[][] = [];
  let after: ExecutionSearch['after'];
  for (;;) {
    const page = searchExecutions(all, { ...s, ...(after ? { after } : {}) }, true);
    pages.push(page.executions);
    if (!page.nextToken) return pages;
    after = decodeCursor(page.nextToken);
    expect(after).toBeDefined();
  }
}

describe('times: ISO 8601 or epoch ms', () => {
  it.each([
    ['2024-05-01T10:00:00Z', T0],
    ['2024-05-01T10:00Z', T0],
    ['2024-05-01T12:00:00+02:00', T0],
    ['2024-05-01T05:30:00.250-0430', T0 + 250],
    ['2024-05-01T10:00:00.999999Z', T0 + 999],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
    [String(T0), T0],
    ['0', 0],
  ])('%s is %i', (text, ms) => {
    expect(parseTime(text)).toEqual({ ms });
  });

  it.each([
    ['yesterday', /must be an ISO 8601 time/],
    ['2024-05-01 10:00', /must be an ISO 8601 time/],
    ['-5', /must be an ISO 8601 time/],
    ['2024-02-30', /is not a date on the calendar/],
    ['2023-02-29T00:00Z', /is not a date on the calendar/],
    ['2024-05-01T24:00Z', /is not a date on the calendar/],
    ['2024-05-01T10:00', /needs a time zone/],
    ['2024-05-01T10:00+25:00', /offset that is not one/],
    ['9000000000000000', /past the largest time/],
  ])('%s is refused: %s', (text, message) => {
    const parsed = parseTime(text);
    expect('error' in parsed && parsed.error).toMatch(message);
  });
});

describe('the query', () => {
  const issue = (q: Record<string, string>) => {
    const r = query.safeParse(q);
    return r.success ? undefined : { path: r.error.issues[0]?.path.join('.'), message: r.error.issues[0]?.message };
  };

  it('reads every parameter: a page of 50 by default, the times as epoch ms, the cursor as a position', () => {
    expect(query.parse({})).toEqual({ limit: 50 });
    const token = encodeCursor({ startDate: T0, arn: 'arn:aws:states:us-east-1:000000000000:express:m:n:1' });
    expect(query.parse({ name: 'B2024', status: 'FAILED', from: '2024-05-01', to: String(T0), limit: '1000', nextToken: token })).toEqual({
      name: 'B2024',
      status: 'FAILED',
      from: Date.UTC(2024, 4, 1),
      to: T0,
      limit: 1000,
      after: { startDate: T0, arn: 'arn:aws:states:us-east-1:000000000000:express:m:n:1' },
    });
  });

  it('says which parameter is wrong and why', () => {
    expect(issue({ from: '2024-05-02', to: '2024-05-01' })).toEqual({
      path: 'from',
      message: 'is after to (2024-05-02T00:00:00.000Z > 2024-05-01T00:00:00.000Z): no execution can match',
    });
    expect(issue({ to: 'tomorrow' })).toMatchObject({ path: 'to', message: expect.stringMatching(/must be an ISO 8601 time/) });
    expect(issue({ limit: '1001' })).toEqual({ path: 'limit', message: 'must be at most 1000' });
    expect(issue({ limit: '2.5' })).toEqual({ path: 'limit', message: 'must be a whole number' });
    expect(issue({ name: '' })).toMatchObject({ path: 'name', message: expect.stringMatching(/must not be empty/) });
    expect(issue({ name: 'a b' })).toMatchObject({ path: 'name', message: expect.stringMatching(/can match no execution/) });
    expect(issue({ name: 'x'.repeat(81) })).toMatchObject({ path: 'name', message: expect.stringMatching(/at most 80/) });
    expect(issue({ status: 'DONE' })).toMatchObject({ path: 'status', message: expect.stringMatching(/must be one of RUNNING/) });
    expect(issue({ sort: 'oldest' })).toMatchObject({ message: expect.stringMatching(/sort/) });
  });

  it('takes back only cursors it made', () => {
    const ours = encodeCursor({ startDate: T0, arn: 'arn:aws:states:us-east-1:000000000000:express:m:n:1' });
    expect(decodeCursor(ours)).toEqual({ startDate: T0, arn: 'arn:aws:states:us-east-1:000000000000:express:m:n:1' });
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    // Garbage, a cut copy, another version, and the local endpoint's own ListExecutions token.
    for (const token of ['nope', ours.slice(0, -6), b64({ v: 2, t: T0, a: 'arn:x' }), b64({ scope: 'list:arn:x:', after: 4 }), `${ours}!`]) {
      expect(decodeCursor(token), token).toBeUndefined();
      expect(issue({ nextToken: token })).toEqual({ path: 'nextToken', message: expect.stringMatching(/^is not a cursor this console gave/) });
    }
  });
});

describe('the search', () => {
  const all = [
    exec(1, T0, 'SUCCEEDED', 'b20240501T100000-aaaa1111'),
    exec(2, T0 + 60_000, 'FAILED', 'b20240501T100100-BBBB2222'),
    exec(3, T0 + 120_000, 'SUCCEEDED', 'b20240501T100200-cccc3333'),
    exec(4, T0 + 180_000, 'FAILED', 'b20240501T100300-aaaa4444'),
  ];
  const names = (s: Partial<ExecutionSearch>) => searchExecutions(all, search(s), true).executions.map((e) => e.name.slice(-4));

  it('matches part of the name whatever its case, the status, and the start time with both ends included, together', () => {
    expect(names({})).toEqual(['4444', '3333', '2222', '1111']);
    expect(names({ name: 'AAAA' })).toEqual(['4444', '1111']);
    expect(names({ name: 'bbbb' })).toEqual(['2222']);
    expect(names({ status: 'FAILED' })).toEqual(['4444', '2222']);
    expect(names({ from: T0 + 60_000, to: T0 + 120_000 })).toEqual(['3333', '2222']);
    expect(names({ from: T0 + 60_001 })).toEqual(['4444', '3333']);
    expect(names({ to: T0 })).toEqual(['1111']);
    expect(names({ name: 'aaaa', status: 'FAILED', from: T0 + 1 })).toEqual(['4444']);
    expect(names({ name: 'zzzz' })).toEqual([]);
  });

  it('counts what matches, says where the page starts, and whether the count is exact', () => {
    const first = searchExecutions(all, search({ status: 'FAILED', limit: 1 }), false);
    expect(first).toMatchObject({ offset: 0, matching: 2, exact: false, scanned: 4, nextToken: expect.any(String) });
    const second = searchExecutions(all, search({ status: 'FAILED', limit: 1, after: decodeCursor(first.nextToken as string) }), true);
    expect(second).toMatchObject({ offset: 1, matching: 2, exact: true, scanned: 4 });
    expect(second.executions.map((e) => e.name.slice(-4))).toEqual(['2222']);
    expect(second.nextToken).toBeUndefined();
  });

  it('pages through every match once, newest first, executions started in the same millisecond included', () => {
    // 23 executions, many sharing a start time, given in no order.
    const many = Array.from({ length: 23 }, (_, i) => exec(i, T0 + Math.floor(i / 4) * 1000)).reverse();
    many.push(...many.splice(0, 5));
    for (const limit of [1, 3, 4, 7, 23, 50]) {
      const pages = allPages(many, search({ limit }));
      expect(pages.length, `limit ${limit}`).toBe(Math.max(1, Math.ceil(23 / limit)));
      const seen = pages.flat();
      expect(seen).toHaveLength(23);
      expect(new Set(seen.map((e) => e.arn)).size).toBe(23);
      for (let i = 1; i < seen.length; i++) expect((seen[i - 1] as Searchable).startDate).toBeGreaterThanOrEqual((seen[i] as Searchable).startDate);
    }
  });

  it('goes on from where the page before ended when newer executions start or the listed one is gone', () => {
    const first = searchExecutions(all, search({ limit: 2 }), true);
    expect(first.executions.map((e) => e.name.slice(-4))).toEqual(['4444', '3333']);
    const after = decodeCursor(first.nextToken as string);
    // Two newer executions start, and the last one shown is dropped from what is kept.
    const later = [exec(5, T0 + 240_000, 'RUNNING', 'b-new-5555'), exec(6, T0 + 300_000, 'RUNNING', 'b-new-6666'), ...all.filter((e) => !e.name.endsWith('3333'))];
    const second = searchExecutions(later, search({ limit: 2, ...(after ? { after } : {}) }), true);
    expect(second.executions.map((e) => e.name.slice(-4))).toEqual(['2222', '1111']);
    expect(second.offset).toBe(3); // the two new ones and 4444 come before it now
    expect(second.nextToken).toBeUndefined();
  });

  it('gives an empty last page, not an error, after the oldest match', () => {
    const oldest = all[0] as Searchable;
    const page = searchExecutions(all, search({ after: { startDate: oldest.startDate, arn: oldest.arn } }), true);
    expect(page).toEqual({ executions: [], offset: 4, matching: 4, exact: true, scanned: 4 });
  });
});

describe('GET /api/executions on a local stack', () => {
  type Listed = { arn: string; name: string; status: string; startDate: number };
  type Page = { executions: Listed[]; offset: number; matching: number; exact: boolean; scanned: number; nextToken?: string };
  let h: ConsoleHarness;
  const list = async (q: string) => {
    const { status, body } = await h.get(`/api/executions${q}`);
    expect(status, JSON.stringify(body)).toBe(200);
    return body as unknown as Page;
  };
  /** Sends requests and waits until the endpoint has run `more` executions beyond those it had. */
  const executions = async (prefix: string, requests: number, more: number) => {
    const before = h.stack.stepFunctions.executions().length;
    await sendBodies(h.stack, requestBodies(prefix, requests));
    await waitFor(`${more} more executions`, () => {
      const now = h.stack.stepFunctions.executions();
      return now.length >= before + more && now.every((e) => e.status !== 'RUNNING');
    });
  };

  beforeAll(async () => {
    h = await startConsoleHarness();
    await executions('req-search-a', 25, 3); // at least 3 executions: batches hold at most 10
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('pages with nextToken, newest first, and goes on after the page before when newer executions start', async () => {
    const whole = await waitFor('every execution listed as ended', async () => {
      const page = await list('?limit=1000');
      return page.matching === h.stack.stepFunctions.executions().length && page.executions.every((e) => e.status !== 'RUNNING') ? page : undefined;
    });
    expect(whole).toMatchObject({ offset: 0, exact: true, scanned: whole.matching });
    expect(whole.nextToken).toBeUndefined();
    const first = await list('?limit=2');
    expect(first.executions.map((e) => e.arn)).toEqual(whole.executions.slice(0, 2).map((e) => e.arn));
    expect(first).toMatchObject({ offset: 0, matching: whole.matching, nextToken: expect.any(String) });

    // More executions start between the pages: the next page still begins right after the first.
    await executions('req-search-b', 5, 1);
    const rest: Listed[] = [];
    let token = first.nextToken;
    let offset = 2;
    while (token) {
      const page = await list(`?limit=2&nextToken=${encodeURIComponent(token)}`);
      expect(page.offset).toBeGreaterThanOrEqual(offset); // the newer ones count before it
      offset = page.offset + page.executions.length;
      rest.push(...page.executions);
      token = page.nextToken;
    }
    expect(rest.map((e) => e.arn)).toEqual(whole.executions.slice(2).map((e) => e.arn));
  });

  it('finds executions by part of the name in any case, by status, and by start time', async () => {
    const { executions: all } = await list('?limit=1000');
    const target = all[1] as Listed;
    const digest = (target.name.split('-')[1] ?? '').toUpperCase();
    const byName = await list(`?name=${digest}`);
    expect(byName.executions.map((e) => e.arn)).toContain(target.arn);
    for (const e of byName.executions) expect(e.name.toUpperCase()).toContain(digest);
    expect(byName.matching).toBe(all.filter((e) => e.name.toUpperCase().includes(digest)).length);

    const at = await list(`?from=${target.startDate}&to=${new Date(target.startDate).toISOString()}`);
    expect(at.executions.map((e) => e.arn)).toContain(target.arn);
    for (const e of at.executions) expect(e.startDate).toBe(target.startDate);
    const newer = await list(`?from=${target.startDate + 1}`);
    expect(newer.executions.map((e) => e.arn)).toEqual(all.filter((e) => e.startDate > target.startDate).map((e) => e.arn));
    expect((await list(`?status=SUCCEEDED&name=${digest}&to=${target.startDate - 1}`)).executions.map((e) => e.arn)).not.toContain(target.arn);
    expect(await list('?status=ABORTED')).toMatchObject({ executions: [], matching: 0, exact: true });
  });

  it.each([
    ['?from=yesterday', /^query parameter from: must be an ISO 8601 time/],
    ['?to=2024-05-01T10:00', /^query parameter to: needs a time zone/],
    ['?from=2024-02-30', /^query parameter from: is not a date on the calendar/],
    ['?from=2024-05-02&to=2024-05-01', /^query parameter from: is after to \(2024-05-02T00:00:00\.000Z > 2024-05-01T00:00:00\.000Z\)/],
    ['?after=2024-05-01', /^unknown query parameter: after$/],
    ['?nextToken=abc', /^query parameter nextToken: is not a cursor this console gave/],
    ['?name=a%20b', /^query parameter name: can match no execution/],
    ['?limit=1001', /^query parameter limit: must be at most 1000$/],
  ])('GET /api/executions%s -> 400', async (q, message) => {
    const { status, body } = await h.get(`/api/executions${q}`);
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
  });

  it("refuses the endpoint's own ListExecutions token: only the console's cursors are taken back", async () => {
    const d = h.stack.description;
    const sfn = new SFNClient({ region: d.homeRegion, endpoint: d.endpoints.stepFunctions, credentials: LOCAL_CREDENTIALS, disableHostPrefix: true });
    try {
      const { nextToken } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: d.stateMachineArn, maxResults: 1 }));
      expect(nextToken).toBeDefined();
      const { status, body } = await h.get(`/api/executions?nextToken=${encodeURIComponent(nextToken as string)}`);
      expect(status).toBe(400);
      expect(body.error).toMatch(/^query parameter nextToken: is not a cursor this console gave/);
    } finally {
      sfn.destroy();
    }
  });

  it('says its count is a lower bound when the read stopped at its cap', async () => {
    const d = h.stack.description;
    const sfn = new SFNClient({ region: d.homeRegion, endpoint: d.endpoints.stepFunctions, credentials: LOCAL_CREDENTIALS, disableHostPrefix: true });
    try {
      const kept = h.stack.stepFunctions.executions().length;
      const capped = await new ExecutionStore(sfn, d.stateMachineArn, [], kept - 1).list({ limit: 50 });
      expect(capped).toMatchObject({ matching: kept - 1, scanned: kept - 1, exact: false });
      const whole = await new ExecutionStore(sfn, d.stateMachineArn, [], kept + 1).list({ limit: 50 });
      expect(whole).toMatchObject({ matching: kept, scanned: kept, exact: true });
    } finally {
      sfn.destroy();
    }
  });
});
