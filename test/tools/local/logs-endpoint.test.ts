/**
 * The local CloudWatch Logs endpoint, driven by the real CloudWatchLogsClient over HTTP: what the
 * deployed-stage path of reading executions (tools/ops/express-logs.ts) sees from the service.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  MalformedQueryException,
  PutLogEventsCommand,
  StartQueryCommand,
  StopQueryCommand,
  paginateDescribeLogGroups,
  paginateFilterLogEvents,
  type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLogsEndpoint, type LogsEndpoint } from '../../../tools/local/emulators/logs-endpoint.js';
import { LOCAL_CREDENTIALS } from '../../../tools/local/resources.js';
import { newestExecutionsQuery } from '../../../tools/ops/express-logs.js';

const GROUP = '/aws/vendedlogs/states/inference-dispatch-test';
const T0 = Date.now() - 3600_000;

let endpoint: LogsEndpoint;
let logs: CloudWatchLogsClient;
/** A second endpoint whose queries answer Running once, and whose pages are cut at 600 bytes. */
let slow: LogsEndpoint;
let slowLogs: CloudWatchLogsClient;

const clientFor = (server: LogsEndpoint) => new CloudWatchLogsClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });

/** A record of execution `name` as Step Functions logs it (only what these tests read). */
const record = (name: string, id: number, type: string, at: number) =>
  JSON.stringify({
    details: {},
    redrive_count: '0',
    id: String(id),
    type,
    previous_event_id: String(id - 1),
    event_timestamp: String(at),
    execution_arn: `arn:aws:states:us-east-1:000000000000:express:inference-dispatch-test:${name}:0000`,
  });

/** 24 events over two streams, interleaved in time: execution a on stream one, b on stream two, one plain line. */
async function seed(client: CloudWatchLogsClient) {
  await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
  await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'one' }));
  await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'two' }));
  const events = (name: string, count: number, from: number, middle: string, end: string) =>
    Array.from({ length: count }, (_, i) => {
      const timestamp = from + i * 10;
      return { timestamp, message: record(name, i + 1, i === 0 ? 'ExecutionStarted' : i === count - 1 ? end : middle, timestamp) };
    });
  const a = events('exec-a', 12, T0, 'PassStateEntered', 'ExecutionSucceeded');
  const b = events('exec-b', 11, T0 + 5, 'TaskStateEntered', 'ExecutionFailed');
  await client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: 'one', logEvents: a }));
  const plain = { timestamp: T0 + 500, message: 'START RequestId: not a record' };
  await client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: 'two', logEvents: [...b, plain] }));
}

beforeAll(async () => {
  [endpoint, slow] = await Promise.all([startLogsEndpoint(), startLogsEndpoint({ runningPolls: 1, maxPageBytes: 600 })]);
  [logs, slowLogs] = [clientFor(endpoint), clientFor(slow)];
  await Promise.all([seed(logs), seed(slowLogs)]);
});
afterAll(async () => {
  logs?.destroy();
  slowLogs?.destroy();
  await Promise.all([endpoint?.stop(), slow?.stop()]);
});

async function allPages(client: CloudWatchLogsClient, input: Omit<ConstructorParameters<typeof FilterLogEventsCommand>[0], 'nextToken'>) {
  const pages: FilteredLogEvent[][] = [];
  for await (const page of paginateFilterLogEvents({ client }, input)) pages.push(page.events ?? []);
  return pages;
}

describe('PutLogEvents then FilterLogEvents', () => {
  it('returns every event of both streams in time order, page by page at `limit`, the SDK paginator following nextToken', async () => {
    const pages = await allPages(logs, { logGroupName: GROUP, limit: 10 });
    expect(pages.map((p) => p.length)).toEqual([10, 10, 4]);
    const events = pages.flat();
    const times = events.map((e) => e.timestamp as number);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(events.slice(0, 4).map((e) => e.logStreamName)).toEqual(['one', 'two', 'one', 'two']);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(24);
    expect(events.every((e) => e.ingestionTime !== undefined)).toBe(true);
  });

  it('cuts a page by its size too (the service cuts at 1 MB; this endpoint is set to 600 bytes)', async () => {
    const pages = await allPages(slowLogs, { logGroupName: GROUP });
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat()).toHaveLength(24);
    for (const page of pages) expect(page.reduce((sum, e) => sum + Buffer.byteLength(e.message ?? '') + 26, 0)).toBeLessThanOrEqual(600);
  });

  it('keeps to startTime and endTime (both included), the streams named, and the JSON pattern express-logs.ts writes', async () => {
    const ranged = (await allPages(logs, { logGroupName: GROUP, startTime: T0 + 10, endTime: T0 + 30 })).flat();
    expect(ranged.map((e) => e.timestamp)).toEqual([T0 + 10, T0 + 15, T0 + 20, T0 + 25, T0 + 30]);

    const two = (await allPages(logs, { logGroupName: GROUP, logStreamNames: ['two'] })).flat();
    expect(two).toHaveLength(12);
    expect(new Set(two.map((e) => e.logStreamName))).toEqual(new Set(['two']));

    const b = (await allPages(logs, { logGroupName: GROUP, filterPattern: '{ $.execution_arn = "*:exec-b:*" }', limit: 4 })).flat();
    expect(b).toHaveLength(11);
    expect(b.every((e) => e.message?.includes(':exec-b:'))).toBe(true);
    const ends = (await allPages(logs, { logGroupName: GROUP, filterPattern: '{ ($.type = "ExecutionSucceeded" || $.type = "ExecutionFailed") && $.id != "1" }' })).flat();
    expect(ends.map((e) => JSON.parse(e.message ?? '').type)).toEqual(['ExecutionFailed', 'ExecutionSucceeded']);
    const plain = (await allPages(logs, { logGroupName: GROUP, filterPattern: '"not a record" -exec' })).flat();
    expect(plain.map((e) => e.message)).toEqual(['START RequestId: not a record']);
  });

  it('refuses what the service refuses, with its named exceptions', async () => {
    const put = (logEvents: Array<{ timestamp: number; message: string }>, logStreamName = 'one') =>
      logs.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName, logEvents }));
    await expect(put([{ timestamp: T0 + 2, message: 'b' }, { timestamp: T0 + 1, message: 'a' }])).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/chronological order/),
    });
    await expect(put([{ timestamp: T0, message: 'x' }], 'three')).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: expect.stringContaining('three') });
    await expect(logs.send(new CreateLogGroupCommand({ logGroupName: GROUP }))).rejects.toMatchObject({ name: 'ResourceAlreadyExistsException' });
    await expect(logs.send(new FilterLogEventsCommand({ logGroupName: '/no/such/group' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '[ip, user]' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/space-delimited/),
    });
    // A token is bound to the pattern and streams of the request that got it.
    const first = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 2 }));
    await expect(logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 2, filterPattern: 'exec', nextToken: first.nextToken }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/nextToken/),
    });
    await expect(logs.send(new DeleteLogGroupCommand({ logGroupName: GROUP }))).rejects.toMatchObject({
      name: 'UnknownOperationException',
      message: expect.stringContaining('Logs_20140328.DeleteLogGroup'),
    });
  });

  it('stores no event older than 14 days or more than 2 hours ahead, and says which it rejected', async () => {
    await logs.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'edges' }));
    const now = Date.now();
    const put = (logEvents: Array<{ timestamp: number; message: string }>) => logs.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: 'edges', logEvents }));
    const old = await put([
      { timestamp: now - 14 * 86400_000 - 3600_000, message: 'too old' },
      { timestamp: now - 14 * 86400_000 - 3599_000, message: 'too old too' },
      { timestamp: now - 14 * 86400_000 + 3600_000, message: 'old enough' },
    ]);
    expect(old.rejectedLogEventsInfo).toEqual({ tooOldLogEventEndIndex: 2 });
    const ahead = await put([
      { timestamp: now, message: 'kept' },
      { timestamp: now + 3 * 3600_000, message: 'too new' },
    ]);
    expect(ahead.rejectedLogEventsInfo).toEqual({ tooNewLogEventStartIndex: 1 });
    const stored = (await allPages(logs, { logGroupName: GROUP, logStreamNames: ['edges'] })).flat();
    expect(stored.map((e) => e.message)).toEqual(['old enough', 'kept']);
  });

  it('lists log groups by prefix, page by page', async () => {
    for (const name of ['/aws/lambda/a', '/aws/lambda/b', '/aws/lambda/c']) await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
    const names: string[] = [];
    for await (const page of paginateDescribeLogGroups({ client: logs, pageSize: 2 }, { logGroupNamePrefix: '/aws/lambda/' })) {
      expect((page.logGroups ?? []).length).toBeLessThanOrEqual(2);
      names.push(...(page.logGroups ?? []).map((g) => g.logGroupName as string));
    }
    expect(names).toEqual(['/aws/lambda/a', '/aws/lambda/b', '/aws/lambda/c']);
    const [group] = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: GROUP }))).logGroups ?? [];
    expect(group).toMatchObject({ logGroupName: GROUP, arn: `arn:aws:logs:us-east-1:000000000000:log-group:${GROUP}:*` });
    expect(group?.storedBytes).toBeGreaterThan(0);
  });
});

describe('Logs Insights queries', () => {
  const seconds = (ms: number) => Math.floor(ms / 1000);
  const start = (client: CloudWatchLogsClient, queryString: string, from = T0 - 60_000, to = T0 + 60_000) =>
    client.send(new StartQueryCommand({ logGroupName: GROUP, queryString, startTime: seconds(from), endTime: seconds(to) }));

  it('runs newestExecutionsQuery: one row per execution, newest first, its first and last Execution* times and last type', async () => {
    const { queryId } = await start(logs, newestExecutionsQuery(10));
    const page = await logs.send(new GetQueryResultsCommand({ queryId }));
    expect(page.status).toBe('Complete');
    const rows = (page.results ?? []).map((row) => Object.fromEntries(row.map((f) => [f.field, f.value])));
    const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
    expect(rows).toEqual([
      { execution_arn: expect.stringContaining(':exec-b:'), startedAt: stamp(T0 + 5), lastAt: stamp(T0 + 105), lastType: 'ExecutionFailed' },
      { execution_arn: expect.stringContaining(':exec-a:'), startedAt: stamp(T0), lastAt: stamp(T0 + 110), lastType: 'ExecutionSucceeded' },
    ]);
    // 4 Execution* events matched out of the 24 in the range.
    expect(page.statistics).toMatchObject({ recordsMatched: 4, recordsScanned: 24 });

    const one = await logs.send(new GetQueryResultsCommand({ queryId: (await start(logs, newestExecutionsQuery(1))).queryId }));
    expect(one.results).toHaveLength(1);
    // Outside the time range: nothing.
    const none = await logs.send(new GetQueryResultsCommand({ queryId: (await start(logs, newestExecutionsQuery(10), T0 + 3600_000, T0 + 7200_000)).queryId }));
    expect(none.results).toEqual([]);
  });

  it('answers Running while a query runs, and StopQuery cancels it; a finished query cannot be stopped', async () => {
    const running = await start(slowLogs, newestExecutionsQuery(10));
    expect(await slowLogs.send(new StopQueryCommand({ queryId: running.queryId }))).toMatchObject({ success: true });
    expect(await slowLogs.send(new GetQueryResultsCommand({ queryId: running.queryId }))).toMatchObject({ status: 'Cancelled', results: [] });

    const finished = await start(slowLogs, newestExecutionsQuery(10));
    expect((await slowLogs.send(new GetQueryResultsCommand({ queryId: finished.queryId }))).status).toBe('Running');
    const done = await slowLogs.send(new GetQueryResultsCommand({ queryId: finished.queryId }));
    expect(done.status).toBe('Complete');
    expect(done.results).toHaveLength(2);
    await expect(slowLogs.send(new StopQueryCommand({ queryId: finished.queryId }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/not running/),
    });
    await expect(slowLogs.send(new GetQueryResultsCommand({ queryId: 'no-such-query' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('refuses a query it does not run as MalformedQueryException, saying what and where', async () => {
    const query = 'fields @timestamp, type\n| parse @message "id\\":\\"*\\"" as id';
    const error = await start(logs, query).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MalformedQueryException);
    expect((error as MalformedQueryException).message).toMatch(/commands fields, filter, stats, sort and limit, not "parse"/);
    const at = query.indexOf('parse');
    expect((error as MalformedQueryException).queryCompileError?.location).toEqual({ startCharOffset: at, endCharOffset: at + 'parse'.length });

    const refused = (queryString: string, why: RegExp) =>
      expect(start(logs, queryString)).rejects.toMatchObject({ name: 'MalformedQueryException', message: expect.stringMatching(why) });
    await refused('stats pct(id, 50) by execution_arn', /stats functions .* not "pct"/);
    await refused('filter type ~ "x"', /unexpected character "~"/);
    await refused('fields type | limit 0', /limit takes a whole number/);
    await expect(
      logs.send(new StartQueryCommand({ logGroupName: '/no/such/group', queryString: 'fields type', startTime: 0, endTime: 1 })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: expect.stringContaining('/no/such/group') });
  });
});
