/**
 * The CLI and the priority lanes (core/lanes.ts): `send --priority high` puts requests on the master
 * queue's high lane; `consume` drains both lanes of every region and counts them per region.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { until } from '../../support/local-aws.js';
import { runCli } from '../../support/cli-child.js';

let cwd: string;
let stack: LocalStack;
const cli = (...args: string[]) => runCli(cwd, args);

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-lanes-cli-'));
  stack = await startLocalStack({ masterVisibilitySeconds: 2, batchWindowSeconds: 0.2 });
  // The intake is stopped: what `send` put on the master queue stays there to be counted.
  await stack.stopConsumers();
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(stack.description));
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const visible = async (url: string) => {
  const client = sqsAt('us-east-1', stack.description.endpoints.sqs['us-east-1'] as string);
  try {
    const { Attributes = {} } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(Attributes.ApproximateNumberOfMessages ?? 0);
  } finally {
    client.destroy();
  }
};

describe('send', () => {
  it('puts high-priority requests on the high lane and the others on the normal master queue', async () => {
    const high = await cli('send', '--count', '3', '--priority', 'high');
    expect(high.code, high.stderr).toBe(0);
    const normal = await cli('send', '--count', '2', '--priority', 'low');
    expect(normal.code, normal.stderr).toBe(0);
    expect(await until(async () => (await visible(stack.description.masterHighQueueUrl as string)) === 3, 10_000)).toBe(true);
    expect(await visible(stack.description.masterQueueUrl)).toBe(2);
  });
});
