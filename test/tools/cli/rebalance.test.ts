/**
 * `rebalance` as a user runs it (child processes) against a running local stack without workers: a copy
 * dispatched to us-west-1, drained a minute ago, is listed by --dry-run (--json) and moved by a run; a
 * region still weighed above 0 is refused naming why; bad flags fail with a message and a non-zero exit.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCapacity } from '../../../aws/capacity.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { runCli } from '../../support/cli-child.js';
import { request, until } from '../../support/local-aws.js';

let stack: LocalStack;
let cwd: string;
let dynamo: DynamoDBClient;
let west1: SQSClient;

const cli = (...args: string[]) => runCli(cwd, args, 60_000);

beforeAll(async () => {
  stack = await startLocalStack({ quickStop: true });
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-rebalance-'));
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(stack.description));
  const d = stack.description;
  dynamo = new DynamoDBClient({ region: d.homeRegion, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  west1 = sqsAt('us-west-1', d.endpoints.sqs['us-west-1'] as string);
  // us-west-1 drained a minute ago (the dispatch has seen it), and one copy dispatched there, as the forward leaves it.
  await writeCapacity({ client: dynamo, tableName: d.tableName }, 'us-west-1', 0, 'test', Date.now() - 60_000);
  await dynamo.send(
    new PutItemCommand({
      TableName: d.tableName,
      Item: {
        request_id: { S: 'cli-rebalance-1' },
        status: { S: 'DISPATCHED' },
        region: { S: 'us-west-1' },
        token: { S: 'tok-1' },
        tokens: { SS: ['tok-1'] },
        expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
      },
    }),
  );
  await west1.send(
    new SendMessageCommand({
      QueueUrl: d.regions.find((r) => r.region === 'us-west-1')?.queueUrl as string,
      MessageBody: JSON.stringify(request('cli-rebalance-1')),
      MessageAttributes: {
        request_id: { DataType: 'String', StringValue: 'cli-rebalance-1' },
        dispatch_token: { DataType: 'String', StringValue: 'tok-1' },
      },
    }),
  );
}, 60_000);
afterAll(async () => {
  west1?.destroy();
  dynamo?.destroy();
  await stack?.stop();
});

it('lists what it would move (--dry-run --json), then moves it', { timeout: 120_000 }, async () => {
  const dry = await cli('rebalance', '--from', 'us-west-1', '--dry-run', '--json');
  expect(dry.code, dry.stderr).toBe(0);
  const listed = JSON.parse(dry.stdout) as { dryRun: boolean; counts: Record<string, number>; entries: Array<{ requestId: string; outcome: string }>; capacity: { effective: { capacity: number; source: string } } };
  expect(listed.dryRun).toBe(true);
  expect(listed.capacity.effective).toEqual({ capacity: 0, source: 'set' });
  expect(listed.counts['would-move']).toBe(1);
  expect(listed.entries[0]).toMatchObject({ requestId: 'cli-rebalance-1', outcome: 'would-move' });

  const run = await cli('rebalance', '--from', 'us-west-1');
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/us-west-1: weighed at capacity 0 \(set\)/);
  expect(run.stdout).toMatch(/moved 1:/);
  expect(run.stdout).toMatch(/normal lane inference-dispatch-queue-us-west-1-local ->\s+inference-dispatch-master-queue-local/);
  expect(run.stdout).toMatch(/1 moved, 0 would move, 0 left in\s+place, 0 failed/);
  // The claim took the record over and the dispatch placed it again, elsewhere.
  const read = async () =>
    (await dynamo.send(new GetItemCommand({ TableName: stack.description.tableName, Key: { request_id: { S: 'cli-rebalance-1' } }, ConsistentRead: true }))).Item;
  expect(await until(async () => (await read())?.status?.S === 'DISPATCHED' && (await read())?.token?.S !== 'tok-1', 30_000, 200)).toBe(true);
  const item = await read();
  expect(item?.region?.S).not.toBe('us-west-1');
});

describe.concurrent('refusals and bad flags fail with a clear message and a non-zero exit', () => {
  it.each([
    [['rebalance'], /required option '--from <region>' not specified/],
    [['rebalance', '--from', 'nowhere'], /"nowhere" is not a region name/],
    [['rebalance', '--from', 'eu-north-9'], /unknown region "eu-north-9": the target has us-east-1, us-west-2, us-west-1/],
    [['rebalance', '--from', 'us-west-1', '--max', '0'], /--max must be a whole number from 1/],
    [['rebalance', '--from', 'us-west-2'], /refusing to rebalance from us-west-2: us-west-2 still takes work: it is weighed at its configured capacity 1 .*capacity set us-west-2 0.*--force/],
  ])('%j', { timeout: 90_000 }, async (args, message) => {
    const result = await cli(...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
