/**
 * `consume` through the dispatch fence, run as a user runs it (a child process) against local servers
 * found through a stack file: two copies of one request are counted once and one is reported dropped;
 * --no-fence counts both; bare queue URLs without --table say the fence is off.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackDescription } from '../../../tools/local/stack.js';
import { queueEmpty, request, startLocalAws, type LocalAws, sendCopy } from '../../support/local-aws.js';
import { runCli } from '../../support/cli-child.js';


let aws: LocalAws;
let cwd: string;

const cli = (...args: string[]) => runCli(cwd, args);

beforeAll(async () => {
  aws = await startLocalAws();
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-consume-fence-'));
  const r = aws.resources;
  // What `up` writes; this process stands in for the stack's (its pid is alive).
  const description: StackDescription = {
    pid: process.pid,
    stage: r.stage,
    homeRegion: r.homeRegion,
    endpoints: { dynamodb: aws.endpoints.dynamodb, stepFunctions: 'http://127.0.0.1:9', sqs: aws.endpoints.sqs },
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:unused',
    tableName: r.tableName,
    masterQueueUrl: r.masterQueueUrl,
    masterDeadLetterQueueUrl: r.masterDeadLetterQueueUrl,
    dispatchDeadLetterQueueUrl: r.dispatchDeadLetterQueueUrl,
    regions: r.regions.map(({ region, capacity, queueUrl, deadLetterQueueUrl }) => ({ region, capacity, queueUrl, deadLetterQueueUrl })),
  };
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(description));
});
afterAll(async () => {
  await aws?.stop();
});

/** One copy of the request in each of two regions' queues, with different dispatch tokens. */
async function twoCopies(): Promise<string> {
  const id = `req-${randomUUID().slice(0, 8)}`;
  for (const [region, token] of [['us-east-1', 'tok-1'], ['us-west-2', 'tok-2']] as const) {
    const queueUrl = aws.resources.regions.find((r) => r.region === region)?.queueUrl;
    await sendCopy(aws.sqs(region), queueUrl as string, id, token);
  }
  return id;
}

const total = (stdout: string) => Number(/^Total: (\d+) messages?$/m.exec(stdout)?.[1]);

async function allEmpty(): Promise<boolean> {
  const checks = await Promise.all(aws.resources.regions.map((r) => queueEmpty(aws.sqs(r.region), r.queueUrl)));
  return checks.every(Boolean);
}

describe('consume with the dispatch fence', () => {
  it('counts two copies of one request once and reports one dropped copy', async () => {
    const id = await twoCopies();
    const consumed = await cli('consume', '--wait', '0');
    expect(consumed.code, consumed.stderr).toBe(0);
    // The original's table, unchanged, then the fence's line.
    expect(consumed.stdout).toMatch(/^={40}\nMessage distribution\n={40}\nus-east-1: 1 \(100\.0%\)\nus-west-2: 0 \(0\.0%\)\nus-west-1: 0 \(0\.0%\)\n-{40}\nTotal: 1 message\n/);
    expect(consumed.stdout).toMatch(/^Dropped by the dispatch fence: 1 copy \(ALREADY_COMPLETED 1\)$/m);
    expect(await allEmpty()).toBe(true);
    const { Item } = await aws.dynamo.send(
      new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: id } }, ConsistentRead: true }),
    );
    expect(Item?.workStatus).toEqual({ S: 'COMPLETED' });
    expect(Item?.acceptedToken).toEqual({ S: 'tok-1' });
    expect(Item?.acceptedBy?.S).toMatch(/^consume-/);
  }, 60_000);

  it('a copy without the dispatch attributes is fenced by its body and message id, and consume says so', async () => {
    const id = `req-${randomUUID().slice(0, 8)}`;
    const queueUrl = aws.resources.regions.find((r) => r.region === 'us-west-1')?.queueUrl;
    const { MessageId } = await aws.sqs('us-west-1').send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(request(id)) }));
    const consumed = await cli('consume', '--wait', '0');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(total(consumed.stdout)).toBe(1);
    expect(consumed.stderr).toMatch(/^1 copy without the dispatch message attributes/m);
    const { Item } = await aws.dynamo.send(
      new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: id } }, ConsistentRead: true }),
    );
    expect(Item?.acceptedToken).toEqual({ S: MessageId });
    expect(Item?.workStatus).toEqual({ S: 'COMPLETED' });
  }, 60_000);

  it('--no-fence counts every copy and says the fence is off', async () => {
    await twoCopies();
    const consumed = await cli('consume', '--wait', '0', '--no-fence');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(total(consumed.stdout)).toBe(2);
    expect(consumed.stdout).toMatch(/^Dispatch fence off: --no-fence$/m);
    expect(consumed.stdout).not.toMatch(/Dropped by/);
  }, 60_000);

  it('bare queue URL flags: the fence is off without --table, on with it', async () => {
    const flags = aws.resources.regions.flatMap((r) => [`--queue-${r.region}`, r.queueUrl]);
    await twoCopies();
    const bare = await cli('consume', ...flags, '--wait', '0');
    expect(bare.code, bare.stderr).toBe(0);
    expect(total(bare.stdout)).toBe(2);
    expect(bare.stdout).toMatch(/^Dispatch fence off: no idempotency table for bare queue URLs \(--table NAME\)$/m);

    await twoCopies();
    const withTable = await cli('consume', ...flags, '--table', aws.resources.tableName, '--wait', '0');
    expect(withTable.code, withTable.stderr).toBe(0);
    expect(total(withTable.stdout)).toBe(1);
    expect(withTable.stdout).toMatch(/^Dropped by the dispatch fence: 1 copy/m);
  }, 90_000);
});
