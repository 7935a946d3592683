/**
 * `capacity` and `workers` as a user runs them (child processes) against a running local stack, and
 * `capacity list --stage` against a "deployed" stage whose outputs name the same local servers (the SDK
 * reaches them through AWS_ENDPOINT_URL_*). Bad arguments fail with a message and a non-zero exit.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearCapacity, readCapacitySettings, writeCapacity, type CapacityTable } from '../../../aws/capacity.js';
import { capacityArgument, type CapacityReport } from '../../../tools/cli/commands/capacity.js';
import { workersArgument } from '../../../tools/cli/commands/workers.js';
import { startConsole, type ConsoleServer } from '../../../tools/console/server.js';
import { workerFleet, type WorkerFleet } from '../../../tools/local/fleet/fleet.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { runCli } from '../../support/cli-child.js';
import { request } from '../../support/local-aws.js';

let stack: LocalStack;
let fleet: WorkerFleet;
let web: ConsoleServer;
let dynamo: DynamoDBClient;
let table: CapacityTable;
/** A folder whose stack file names the console; one whose stack file does not (a stack started with --no-console). */
let cwd: string;
let noConsoleCwd: string;
const clients: SQSClient[] = [];

const cli = (...args: string[]) => runCli(cwd, args, 60_000);

function folderWith(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'dispatch-cli-capacity-'));
  mkdirSync(join(dir, '.local'));
  writeFileSync(join(dir, '.local', 'stack.json'), JSON.stringify(content));
  return dir;
}

const queueOf = (region: string) => stack.description.regions.find((r) => r.region === region)?.queueUrl as string;
const sqs = (region: string) => {
  const client = sqsAt(region, stack.description.endpoints.sqs[region] as string);
  clients.push(client);
  return client;
};

beforeAll(async () => {
  // No workers of the stack's own; us-west-1 configured at 2.
  stack = await startLocalStack({ regions: [{ region: 'us-east-1', capacity: 1 }, { region: 'us-west-2', capacity: 1 }, { region: 'us-west-1', capacity: 2 }] });
  fleet = workerFleet(stack, { secondsPerRequest: 60 });
  web = await startConsole({ description: stack.description, workers: fleet, sampleIntervalMs: 1000 });
  cwd = folderWith({ ...stack.description, consoleUrl: web.url });
  noConsoleCwd = folderWith(stack.description);
  const d = stack.description;
  dynamo = new DynamoDBClient({ region: d.homeRegion, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  table = { client: dynamo, tableName: d.tableName };
}, 60_000);
afterAll(async () => {
  for (const client of clients) client.destroy();
  dynamo?.destroy();
  await web?.stop();
  await fleet?.stop();
  await stack?.stop();
});

describe('the arguments N', () => {
  it('capacity: a whole number from 0 to 100000', () => {
    expect(capacityArgument('0')).toBe(0);
    expect(capacityArgument('100000')).toBe(100_000);
    for (const bad of ['1.5', 'lots', '', '100001', '-1', '0x10', '1e3']) {
      expect(() => capacityArgument(bad), bad).toThrow(/the capacity must be a whole number from 0 to 100000/);
    }
  });

  it('workers: a whole number from 0 to 100', () => {
    expect(workersArgument('0')).toBe(0);
    expect(workersArgument('100')).toBe(100);
    for (const bad of ['101', '2.5', 'two', '', '-1']) expect(() => workersArgument(bad), bad).toThrow(/the number of workers must be a whole number from 0 to 100/);
  });
});

// Each case is a CLI process: a few, run together.
describe.concurrent('bad arguments fail with a clear message and a non-zero exit', () => {
  it.each([
    [['capacity', 'set', 'eu-north-9', '2'], /unknown region "eu-north-9": local stack \(pid \d+\) has us-east-1, us-west-2, us-west-1/],
    [['capacity', 'set', 'us-west-2', '1.5'], /the capacity must be a whole number from 0 to 100000/],
    [['workers', 'set', 'eu-north-9', '1'], /unknown region "eu-north-9": the local stack has us-east-1, us-west-2, us-west-1/],
    [['workers', 'set', 'us-west-2', '101'], /the number of workers must be a whole number from 0 to 100/],
  ])('%j', { timeout: 90_000 }, async (args, message) => {
    const result = await cli(...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('workers on a stack that serves no console says how to get one', { timeout: 90_000 }, async () => {
    const result = await runCli(noConsoleCwd, ['workers', 'list'], 60_000);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/serves no web console, which scales its workers: restart it with `npm run cli -- up`/);
  });
});

describe('capacity on the local stack', () => {
  it('set, list and clear: the setting is stored with who set it, wins in the list, and goes away', { timeout: 120_000 }, async () => {
    const set = await cli('capacity', 'set', 'us-west-2', '0', '--by', 'cli test');
    expect(set.code, set.stderr).toBe(0);
    // (Lines are wrapped at 80 columns.)
    expect(set.stdout).toMatch(/^us-west-2 capacity set to 0 on local stack \(pid \d+\), by cli test at\s+\d{4}-\S+Z$/m);
    expect(set.stdout).toMatch(/before: not set \(configured 1\)/);
    expect(set.stdout).toMatch(/0 drains us-west-2/);
    const [stored] = await readCapacitySettings(table, ['us-west-2']);
    expect(stored).toMatchObject({ region: 'us-west-2', capacity: 0, setBy: 'cli test' });

    const listed = await cli('capacity', 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const report = JSON.parse(listed.stdout) as CapacityReport;
    expect(report.complete).toBe(true);
    expect(report.regions.map((r) => [r.region, r.configured, r.effective])).toEqual([
      ['us-east-1', 1, { capacity: 1, source: 'configured' }],
      ['us-west-2', 1, { capacity: 0, source: 'set' }],
      ['us-west-1', 2, { capacity: 2, source: 'configured' }],
    ]);
    expect(report.regions[1]?.setting).toEqual(stored);

    const cleared = await cli('capacity', 'clear', 'us-west-2');
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(/us-west-2 capacity setting removed on local stack \(pid \d+\)\s+\(it was 0 at\s+\S+\s+by cli test\)/);
    expect(await readCapacitySettings(table, ['us-west-2'])).toEqual([]);
    const again = await cli('capacity', 'clear', 'us-west-2');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/us-west-2 had no capacity setting/);
  });

  it('list estimates from the queue: with a backlog, the messages in flight above the configured number', { timeout: 120_000 }, async () => {
    // us-east-1: 6 messages, 4 held in flight (as 4 busy workers would), 2 waiting.
    const client = sqs('us-east-1');
    const url = queueOf('us-east-1');
    await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: Array.from({ length: 6 }, (_, i) => ({ Id: `m${i}`, MessageBody: `job-${i}` })) }));
    let held = 0;
    while (held < 4) {
      const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 4 - held, VisibilityTimeout: 600 }));
      held += Messages.length;
    }
    const listed = await cli('capacity', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^region\s+configured\s+waiting\s+in flight\s+weighed by\s+set$/m);
    expect(listed.stdout).toMatch(/^us-east-1\s+1\s+2\s+4\s+4 \(estimated: in flight with a backlog\)\s+-$/m);
    expect(listed.stdout).toMatch(/^us-west-1\s+2\s+0\s+0\s+2 \(configured\)\s+-$/m);
  });
});

describe('workers on the local stack', () => {
  it('set scales a region through the console, list shows it; --set-capacity also sets its capacity', { timeout: 120_000 }, async () => {
    // Three requests in us-west-2 for the workers (60 s each) to hold.
    await sqs('us-west-2').send(
      new SendMessageBatchCommand({
        QueueUrl: queueOf('us-west-2'),
        Entries: [0, 1, 2].map((i) => ({ Id: `m${i}`, MessageBody: JSON.stringify(request(`req-cli-workers-${i}`)) })),
      }),
    );
    try {
      const set = await cli('workers', 'set', 'us-west-2', '2', '--set-capacity');
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toMatch(/^us-west-2: 2 worker\(s\)/);
      expect(set.stdout).toMatch(/us-west-2: capacity set to 2/);
      expect(fleet.list().find((r) => r.region === 'us-west-2')?.workers).toBe(2);
      expect(await readCapacitySettings(table, ['us-west-2'])).toMatchObject([{ capacity: 2, setBy: expect.stringMatching(/\(workers set\)$/) }]);

      const listed = await cli('workers', 'list', '--json');
      expect(listed.code, listed.stderr).toBe(0);
      const { regions } = JSON.parse(listed.stdout) as { regions: Array<{ region: string; workers: number }> };
      expect(regions.map((r) => [r.region, r.workers])).toEqual([
        ['us-east-1', 0],
        ['us-west-2', 2],
        ['us-west-1', 0],
      ]);
      const text = await cli('workers', 'list');
      expect(text.stdout).toMatch(/^us-west-2\s+2\s+\d\s+\d\s+0$/m);
    } finally {
      fleet.setCount('us-west-2', 0);
      await clearCapacity(table, 'us-west-2');
    }
  });
});

describe('capacity on a deployed stage (--stage)', () => {
  it('reads the stage outputs for the table, the queues and the configured capacities', { timeout: 120_000 }, async () => {
    const d = stack.description;
    // One region, on the home SQS server (AWS_ENDPOINT_URL_SQS names one endpoint for every region), its
    // queue URL on that endpoint's host as AWS's are (the SDK sends to a queue URL's host).
    const endpoint = d.endpoints.sqs[d.homeRegion] as string;
    const queueUrl = `${endpoint}${new URL(queueOf(d.homeRegion)).pathname}`;
    const outputs = {
      app: 'inference-dispatch',
      stage: 'cap',
      homeRegion: d.homeRegion,
      masterQueueUrl: d.masterQueueUrl,
      masterDeadLetterQueueUrl: d.masterDeadLetterQueueUrl,
      dispatchDeadLetterQueueUrl: d.dispatchDeadLetterQueueUrl,
      regionQueues: JSON.stringify({ [d.homeRegion]: { url: queueUrl, capacity: 3 } }),
      regionalQueueUrls: { [d.homeRegion]: queueUrl },
      regionalDeadLetterQueueUrls: {},
      stateMachineArn: d.stateMachineArn,
      stateMachineLogGroup: '/aws/vendedlogs/states/x',
      tableName: d.tableName,
      functionNames: { intake: 'a', snapshot: 'b', select: 'c', forward: 'd' },
      alarmTopicArns: {},
      consoleLinks: { stateMachine: 'x', executionLogs: 'x', dashboard: 'x', masterQueue: 'x', table: 'x' },
    };
    const stageCwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-capacity-stage-'));
    mkdirSync(join(stageCwd, '.sst'));
    writeFileSync(join(stageCwd, '.sst', 'outputs.json'), JSON.stringify(outputs));
    const env = {
      AWS_ENDPOINT_URL_DYNAMODB: d.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: d.homeRegion,
    };
    await writeCapacity(table, d.homeRegion, 7, 'stage test');
    try {
      const listed = await runCli(stageCwd, ['capacity', 'list', '--stage', 'cap', '--json'], 60_000, env);
      expect(listed.code, listed.stderr).toBe(0);
      const report = JSON.parse(listed.stdout) as CapacityReport;
      expect(report.target).toMatch(/^stage cap\b.* on AWS/);
      expect(report.complete).toBe(true);
      expect(report.regions.map((r) => [r.region, r.configured, r.setting?.capacity, r.effective])).toEqual([
        [d.homeRegion, 3, 7, { capacity: 7, source: 'set' }],
      ]);
      const refused = await runCli(stageCwd, ['capacity', 'set', 'us-west-2', '1', '--stage', 'cap'], 60_000, env);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/unknown region "us-west-2": stage cap\b.* on AWS.* has us-east-1$/m);
    } finally {
      await clearCapacity(table, d.homeRegion);
    }
  });
});
