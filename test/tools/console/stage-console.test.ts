/**
 * The console of a deployed stage (`console --stage`), run on the local stack through the path a stage
 * takes: a Target of kind 'aws' made by the CLI's own awsTarget from the stage's outputs
 * (.sst/outputs.json), its clients aimed at the local servers' AWS APIs (SQS, DynamoDB, Step Functions,
 * CloudWatch Logs, CloudWatch), never at the SQS server's inspection endpoint. The executions are read
 * from a log group as Step Functions delivers them there (the local stack's executions as Express log
 * records), and from a recorded set of such records. One stack, one browser, a few page loads.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricNamespace } from '../../../core/metrics.js';
import { executionOutputSchema } from '../../../core/outcomes.js';
import { APP_NAME } from '../../../core/topology.js';
import { awsTarget } from '../../../tools/cli/target.js';
import { launchChromium } from '../../../tools/console/chromium.js';
import { CloudWatchFigures } from '../../../tools/console/cloudwatch-figures.js';
import { LIVE_QUEUES_NOT_READ } from '../../../tools/console/queues.js';
import { deadLetterScene, failoverScene } from '../../../tools/console/scene.js';
import { READ_ONLY, startConsole, type ConsoleServer } from '../../../tools/console/server.js';
import type { LocalExecution } from '../../../tools/local/emulators/sfn-endpoint.js';
import { parseExpressLogRecords, publishExpressRecords, shiftRecords, toExpressLogRecords } from '../../../tools/local/emulators/express-log-format.js';
import { startLogsEndpoint, type LogsEndpoint } from '../../../tools/local/emulators/logs-endpoint.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack, type StackDescription } from '../../../tools/local/stack.js';
import { executionHistory } from '../../../tools/ops/executions.js';
import { memo, once } from '../../../tools/ops/lazy.js';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import type { Target } from '../../../tools/ops/target.js';
import { startCloudWatchServer, type CloudWatchServer } from '../../support/cloudwatch-server.js';

const LOG_GROUP = '/aws/vendedlogs/states/inference-dispatch-local';
const RECORDED_GROUP = '/aws/vendedlogs/states/inference-dispatch-dev';
const FIXTURE = new URL('../../fixtures/express-log-records.jsonl', import.meta.url);

let stack: LocalStack;
let logs: LogsEndpoint;
let cloudwatch: CloudWatchServer;
let target: Target;
let readOnly: ConsoleServer;
let writable: ConsoleServer;
let recorded: ConsoleServer;
let failover: LocalExecution;
let deadIds: string[];
/** The executions delivered to the log group, and one the local endpoint ran that was not. */
let delivered: string[];
let undelivered: string;
/** The minute the CloudWatch points were set at (epoch seconds). */
let minute: number;

/** The outputs a deployed stage writes (stacks/stage-outputs.ts), naming the local stack's resources. */
function outputsRoot(d: StackDescription): string {
  const byRegion = (pick: (r: StackDescription['regions'][number]) => string | undefined) =>
    Object.fromEntries(d.regions.flatMap((r) => (pick(r) ? [[r.region, pick(r) as string]] : [])));
  const outputs = {
    app: APP_NAME,
    stage: d.stage,
    homeRegion: d.homeRegion,
    masterQueueUrl: d.masterQueueUrl,
    masterDeadLetterQueueUrl: d.masterDeadLetterQueueUrl,
    dispatchDeadLetterQueueUrl: d.dispatchDeadLetterQueueUrl,
    ...(d.masterHighQueueUrl ? { masterHighQueueUrl: d.masterHighQueueUrl } : {}),
    ...(d.masterHighDeadLetterQueueUrl ? { masterHighDeadLetterQueueUrl: d.masterHighDeadLetterQueueUrl } : {}),
    regionQueues: JSON.stringify(Object.fromEntries(d.regions.map((r) => [r.region, { url: r.queueUrl, capacity: r.capacity }]))),
    regionalQueueUrls: byRegion((r) => r.queueUrl),
    regionalDeadLetterQueueUrls: byRegion((r) => r.deadLetterQueueUrl),
    regionalHighQueueUrls: byRegion((r) => r.highQueueUrl),
    stateMachineArn: d.stateMachineArn,
    stateMachineLogGroup: LOG_GROUP,
    tableName: d.tableName,
    functionNames: { intake: 'intake', snapshot: 'snapshot', select: 'select', forward: 'forward' },
    alarmTopicArns: {},
    consoleLinks: { stateMachine: '-', executionLogs: '-', dashboard: '-', masterQueue: '-', table: '-' },
  };
  const root = mkdtempSync(join(tmpdir(), 'dispatch-stage-console-'));
  mkdirSync(join(root, '.sst'));
  writeFileSync(join(root, '.sst', 'outputs.json'), JSON.stringify(outputs));
  return root;
}

/** What Step Functions delivers to the log group for each execution: its history as Express log records. */
async function deliver(logGroupName: string, executionArns: readonly string[]): Promise<void> {
  for (const arn of executionArns) {
    const events = await executionHistory(target.sfn(), arn);
    await publishExpressRecords(target.logs?.() as CloudWatchLogsClient, logGroupName, toExpressLogRecords(arn, events));
  }
}

const get = async (server: ConsoleServer, path: string, init?: RequestInit) => {
  const response = await fetch(new URL(path, server.url), init);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};
const post = (server: ConsoleServer, path: string, body: unknown, method = 'POST') =>
  get(server, path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const sqsMetric = (name: string, queueUrl: string) => ({ namespace: 'AWS/SQS', name, dimensions: { QueueName: queueUrl.split('/').at(-1) as string } });

beforeAll(async () => {
  stack = await startLocalStack({ retryIntervalMs: 20, env: { regionHealthSeconds: 0 } });
  [logs, cloudwatch] = await Promise.all([startLogsEndpoint(), startCloudWatchServer()]);
  const d = stack.description;
  // The CLI's own reading of a stage's outputs; only the clients are aimed at the local servers.
  const stage = await awsTarget({ stage: d.stage }, outputsRoot(d));
  const local = { region: d.homeRegion, credentials: LOCAL_CREDENTIALS };
  target = {
    ...stage,
    sqs: memo((region) => sqsAt(region, (d.endpoints.sqs[region] ?? d.endpoints.sqs[d.homeRegion]) as string)),
    dynamo: once(() => new DynamoDBClient({ ...local, endpoint: d.endpoints.dynamodb })),
    sfn: once(() => new SFNClient({ ...local, endpoint: d.endpoints.stepFunctions, disableHostPrefix: true })),
    logs: once(() => new CloudWatchLogsClient({ ...local, endpoint: logs.endpoint })),
    cloudwatch: memo((region) => new CloudWatchClient({ region, endpoint: cloudwatch.endpoint, credentials: LOCAL_CREDENTIALS })),
  };
  expect(target.kind).toBe('aws');

  failover = await failoverScene(stack, 'us-west-2', 'req-stage-fo', 6);
  deadIds = await deadLetterScene(stack, 'req-stage-dlq', 2);
  // Every execution but the oldest reaches the log group: the console must show exactly those.
  const all = stack.stepFunctions.executions().map((e) => e.executionArn);
  const oldest = all.find((arn) => arn !== failover.executionArn) as string;
  undelivered = oldest;
  delivered = all.filter((arn) => arn !== oldest);
  await target.logs?.().send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
  await deliver(LOG_GROUP, delivered);

  // CloudWatch's points of the last minutes: us-west-2's queue, what was sent to it, its failovers.
  minute = Math.floor(Date.now() / 60_000) * 60 - 60;
  const west = d.regions.find((r) => r.region === 'us-west-2') as StackDescription['regions'][number];
  cloudwatch.set(sqsMetric('ApproximateNumberOfMessagesVisible', west.queueUrl), [[minute - 120, 2], [minute, 7]]);
  cloudwatch.set(sqsMetric('NumberOfMessagesSent', west.queueUrl), [[minute - 120, 4], [minute - 60, 5]]);
  cloudwatch.set(
    { namespace: metricNamespace(d.stage), name: 'FailedOver', dimensions: { service: 'forward', From: 'us-west-2', To: 'us-east-1' } },
    [[minute - 60, 3]],
  );

  readOnly = await startConsole({ target, stage: d.stage });
  writable = await startConsole({ target, stage: d.stage, allowRedrive: true });

  // A recorded set of Express log records, brought into the last hour, in a log group of its own.
  const records = parseExpressLogRecords(readFileSync(FIXTURE, 'utf8'));
  const newest = Math.max(...records.map((r) => Number(r.event_timestamp)));
  await target.logs?.().send(new CreateLogGroupCommand({ logGroupName: RECORDED_GROUP }));
  await publishExpressRecords(target.logs?.() as CloudWatchLogsClient, RECORDED_GROUP, shiftRecords(records, Date.now() - 60_000 - newest));
  recorded = await startConsole({ target: { ...target, logGroupName: RECORDED_GROUP }, stage: 'dev' });
}, 120_000);

afterAll(async () => {
  for (const server of [readOnly, writable, recorded]) await server?.stop();
  await logs?.stop();
  await cloudwatch?.close();
  await stack?.stop();
});

describe('the console of a deployed stage, on the local stack through the AWS APIs', () => {
  it('names the stage it serves, and says whether it only reads', async () => {
    const a = await get(readOnly, '/api/stack');
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ source: `stage ${stack.description.stage} in us-east-1`, readOnly: true, tableName: stack.description.tableName });
    expect((await get(writable, '/api/stack')).body.readOnly).toBe(false);
    // The pages' empty texts say where the executions were looked for: the stage's log group, not a local endpoint.
    expect(a.body.executionsKept).toMatch(/^the newest \d+ in the log group \S+ of stage .* over the last 1 hour/);
  });

  it("lists the executions of the state machine's log group, with their messages and outcomes; not those the Step Functions endpoint keeps", async () => {
    const { status, body } = await get(readOnly, '/api/executions');
    expect(status).toBe(200);
    const arns = (body.executions as Array<{ arn: string }>).map((e) => e.arn);
    expect(arns.sort()).toEqual([...delivered].sort());
    expect(arns).not.toContain(undelivered);
    const row = (body.executions as Array<Record<string, any>>).find((e) => e.arn === failover.executionArn);
    const outcomes = executionOutputSchema.parse(failover.output).forwarded.flat();
    expect(row).toMatchObject({ status: 'SUCCEEDED', messages: outcomes.length, failedOver: outcomes.filter((o) => o.failedOver).length });
    expect(row?.failedOver).toBeGreaterThan(0);
    expect(row?.counts.dispatched).toBe(outcomes.length);
  });

  it('shows one execution from its log events: its history, its messages, by ARN or by name; and the deployed graph', async () => {
    const history = await executionHistory(target.sfn(), failover.executionArn);
    const byArn = await get(readOnly, `/api/execution?arn=${encodeURIComponent(failover.executionArn)}`);
    expect(byArn.status).toBe(200);
    expect(byArn.body.execution).toMatchObject({ arn: failover.executionArn, status: 'SUCCEEDED' });
    expect(byArn.body.events.map((e: { type: string }) => e.type)).toEqual(history.map((e) => e.type));
    expect(byArn.body.messages.filter((m: { failedOver: boolean }) => m.failedOver).length).toBe(byArn.body.execution.failedOver);
    expect(byArn.body.messages.every((m: { requestId: string }) => m.requestId.startsWith('req-stage-fo'))).toBe(true);

    const byName = await get(readOnly, `/api/execution?name=${encodeURIComponent(failover.name)}`);
    expect(byName.body.execution.arn).toBe(failover.executionArn);

    // Not in the log group: not found, as the API says of a missing execution.
    const missing = await get(readOnly, `/api/execution?arn=${encodeURIComponent(undelivered)}`);
    expect(missing.status).toBe(404);
    // By name: the 404 says where it looked (the stage's log group over its hours), not the local endpoint.
    const undeliveredName = stack.stepFunctions.executions().find((e) => e.executionArn === undelivered)?.name as string;
    const missingByName = await get(readOnly, `/api/execution?name=${encodeURIComponent(undeliveredName)}`);
    expect(missingByName.status).toBe(404);
    expect(missingByName.body.error).toBe(
      `no execution named ${undeliveredName} among the newest 50 in the log group ${LOG_GROUP} of stage ${stack.description.stage} in us-east-1 over the last 1 hour (the console's --hours and --max look further)`,
    );

    const graph = await get(readOnly, '/api/graph');
    expect(graph.status).toBe(200);
    expect(graph.body.stateCount).toBeGreaterThan(10);
  });

  it('lists the dead letters through SQS, and leaves them in their DLQ', async () => {
    const dlq = stack.description.dispatchDeadLetterQueueUrl;
    const home = target.sqs('us-east-1');
    const before = await queueDepth(home, dlq);
    const { status, body } = await get(readOnly, '/api/dead-letters?queue=dispatch');
    expect(status).toBe(200);
    const listing = body.queues[0];
    expect(listing.messages.map((m: { requestId: string }) => m.requestId).sort()).toEqual([...deadIds].sort());
    expect(listing.groups.length).toBeGreaterThan(0);
    expect(await queueDepth(home, dlq)).toEqual(before);
  });

  it("tells a request's story from its record, the DLQ and the log group; the live queues are not looked into", async () => {
    const dead = await get(readOnly, `/api/requests?id=${deadIds[0]}`);
    expect(dead.status).toBe(200);
    expect(dead.body.record.found).toBe(true);
    expect(dead.body.record.rows).toContainEqual(['status', 'DEAD_LETTERED']);
    expect(dead.body.held).toMatchObject([{ kind: 'dispatch DLQ', requestId: deadIds[0] }]);
    expect(dead.body.executions.map((e: { message: { outcome: string } }) => e.message.outcome)).toContain('dead-lettered');
    expect(dead.body.warnings).toContain(LIVE_QUEUES_NOT_READ);

    // A dispatched request waits in its regional queue (the stack runs no workers): a stage's console
    // does not receive from that queue, so it shows no copy there.
    const dispatched = await get(readOnly, '/api/requests?id=req-stage-fo-001');
    expect(dispatched.body.record.rows).toContainEqual(['status', 'DISPATCHED']);
    expect(dispatched.body.held).toEqual([]);
  });

  it('refuses to redrive or scale workers when read-only, and moves nothing', async () => {
    const dlq = stack.description.dispatchDeadLetterQueueUrl;
    const before = await queueDepth(target.sqs('us-east-1'), dlq);
    const refused = await post(readOnly, '/api/redrive', { queue: 'dispatch', requestIds: [deadIds[0]], dryRun: false });
    expect(refused).toEqual({ status: 403, body: { error: READ_ONLY } });
    expect(await queueDepth(target.sqs('us-east-1'), dlq)).toEqual(before);
    const workers = await post(writable, '/api/workers/us-east-1', { count: 2 }, 'PUT');
    expect(workers.status).toBe(404);
    expect(workers.body.error).toMatch(/no simulated workers/);
  });

  it('moves a dead letter back to the master queue when started with --allow-redrive', async () => {
    const moved = await post(writable, '/api/redrive', { queue: 'dispatch', requestIds: [deadIds[1]], dryRun: false });
    expect(moved.status).toBe(200);
    expect(moved.body.counts).toMatchObject({ moved: 1, failed: 0 });
    const dynamo = target.dynamo();
    const { Item } = await dynamo.send(new GetItemCommand({ TableName: stack.description.tableName, Key: { request_id: { S: deadIds[1] as string } }, ConsistentRead: true }));
    // REDRIVEN, or already dispatched again by the running stack: no longer dead-lettered.
    expect(Item?.status?.S).not.toBe('DEAD_LETTERED');
    const left = await get(readOnly, '/api/dead-letters?queue=dispatch');
    expect(left.body.queues[0].messages.map((m: { requestId: string }) => m.requestId)).toEqual([deadIds[0]]);
  });

  it("draws the Regions page from CloudWatch's points, and says so", async () => {
    const { status, body } = await get(readOnly, '/api/regions');
    expect(status).toBe(200);
    expect(body.figures).toMatch(/^CloudWatch metrics of stage local, a point every 60 s/);
    expect(body.intervalMs).toBe(60_000);
    const at = (t: number) => body.samples.find((s: { t: number }) => s.t === t * 1000);
    // One point a minute; a depth holds its last point until the next; the counts add up over the window.
    expect(at(minute - 60).regions['us-west-2']).toMatchObject({ visible: 2, dispatched: 9, failedOverFrom: 3 });
    expect(at(minute).regions['us-west-2']).toMatchObject({ visible: 7, dispatched: 9, failedOverFrom: 3, failedOverTo: 0 });
    expect(at(minute - 180).regions['us-west-2']).toMatchObject({ visible: 0, dispatched: 0 });
    const last = body.samples.at(-1);
    expect(last.regions['us-west-2']).toMatchObject({ visible: 7, dispatched: 9, failedOverFrom: 3 });
    expect(last.regions['us-east-1']).toMatchObject({ visible: 0, dispatched: 0, failedOverTo: 3 });
    // Asked in the stage's namespace, as the forward function writes it.
    expect(cloudwatch.asked).toContainEqual({
      namespace: metricNamespace('local'),
      name: 'FailedOver',
      dimensions: { service: 'forward', From: 'us-west-2', To: 'us-east-1' },
      stat: 'Sum',
      period: 60,
    });
  });
});

describe("the Regions page's CloudWatch figures", () => {
  it('keeps the figures it had when a read fails, and says so', async () => {
    const figures = new CloudWatchFigures(stack.description, [], target.cloudwatch as (region: string) => CloudWatchClient, { namespace: metricNamespace('local') });
    await figures.read();
    const kept = [...figures.samples];
    expect(kept.length).toBe(60);
    cloudwatch.failWith = 500;
    try {
      await expect(figures.read()).rejects.toThrow(/injected failure/);
    } finally {
      cloudwatch.failWith = undefined;
    }
    expect(figures.samples).toEqual(kept);
    expect(figures.note()).toMatch(/The last read failed \(\w+: injected failure\): the figures shown are older\.$/);
    await figures.read();
    expect(figures.note()).not.toMatch(/last read failed/);
  });
});

describe('the console of a deployed stage, over a recorded set of Express log records', () => {
  it('lists the recorded executions newest first, with the status their last record says and their messages', async () => {
    const records = parseExpressLogRecords(readFileSync(FIXTURE, 'utf8'));
    const ends = new Map<string, { start: number; status: string }>();
    const STATUS: Record<string, string> = { ExecutionSucceeded: 'SUCCEEDED', ExecutionFailed: 'FAILED', ExecutionTimedOut: 'TIMED_OUT', ExecutionAborted: 'ABORTED' };
    for (const r of records) {
      const e = ends.get(r.execution_arn) ?? { start: Number(r.event_timestamp), status: 'RUNNING' };
      if (r.type === 'ExecutionStarted') e.start = Number(r.event_timestamp);
      if (STATUS[r.type]) e.status = STATUS[r.type] as string;
      ends.set(r.execution_arn, e);
    }
    const expected = [...ends].sort(([, a], [, b]) => b.start - a.start).map(([arn, e]) => ({ arn, status: e.status }));
    const { status, body } = await get(recorded, '/api/executions');
    expect(status).toBe(200);
    expect(body.executions.map((e: { arn: string; status: string }) => ({ arn: e.arn, status: e.status }))).toEqual(expected);
    expect(expected.map((e) => e.status)).toContain('FAILED');
    for (const e of body.executions) expect(e.messages).toBeGreaterThan(0);
  });

  it('shows a recorded failed execution with its error, and a recorded one step by step', async () => {
    const { body } = await get(recorded, '/api/executions');
    const failed = body.executions.find((e: { status: string }) => e.status === 'FAILED');
    const detail = await get(recorded, `/api/execution?arn=${encodeURIComponent(failed.arn)}`);
    expect(detail.status).toBe(200);
    expect(detail.body.execution.error).toBeTruthy();
    expect(detail.body.messages.every((m: { outcome: string }) => m.outcome === 'retry')).toBe(true);
    const succeeded = body.executions.find((e: { status: string }) => e.status === 'SUCCEEDED');
    const steps = await get(recorded, `/api/execution?arn=${encodeURIComponent(succeeded.arn)}`);
    expect(steps.body.events[0].type).toBe('ExecutionStarted');
    expect(steps.body.events.at(-1).type).toBe('ExecutionSucceeded');
    expect(steps.body.messages.length).toBe(succeeded.messages);
  });
});

describe('the console of a deployed stage in Chromium', () => {
  let browser: Browser | undefined;
  let page: Page;
  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(20_000);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('read-only: names the stage, disables every redrive control on the Dead letters page and says why', async () => {
    await page.goto(`${readOnly.url}#/dead-letters`);
    await page.locator('#read-only').waitFor();
    expect(await page.locator('#read-only').textContent()).toBe(
      `This console of stage ${stack.description.stage} in us-east-1 is read-only: start it with --allow-redrive to move messages.`,
    );
    expect(await page.locator('#stack').textContent()).toMatch(/^stage local in us-east-1 · read-only · /);
    const controls = page.locator('section[data-queue] button');
    expect(await controls.count()).toBeGreaterThan(0);
    for (const control of await controls.all()) expect(await control.isDisabled()).toBe(true);
  });

  it('with --allow-redrive: the controls are live; the Regions page says its figures are CloudWatch\'s', async () => {
    await page.goto(`${writable.url}#/dead-letters`);
    await page.locator('section[data-queue="dispatch"] [data-action="redrive-all"]').waitFor();
    expect(await page.locator('#read-only').count()).toBe(0);
    expect(await page.locator('section[data-queue="dispatch"] [data-action="redrive-all"]').isDisabled()).toBe(false);
    await page.goto(`${writable.url}#/regions`);
    await expect.poll(() => page.locator('#figures').textContent(), { timeout: 20_000 }).toMatch(/^CloudWatch metrics of stage local/);
  });
});
