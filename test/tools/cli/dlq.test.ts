/**
 * `dlq` and `redrive` as a user runs them (a child process) against a running local stack: a malformed
 * request is dead-lettered by the intake, `dlq` shows it with its reason, and `redrive --dry-run` skips
 * it (its body is not JSON) unless --include-not-json, moving nothing. Bad flags fail cleanly.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import { sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { until } from '../../support/local-aws.js';
import { runCli } from '../../support/cli-child.js';


let cwd: string;
let stack: LocalStack;

const cli = (...args: string[]) => runCli(cwd, args);

interface Listing {
  queues: Array<{ queue: string; read: number; groups: Array<{ reason: string; count: number; withoutRequestId: number }> }>;
}

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-dlq-'));
  stack = await startLocalStack({ masterVisibilitySeconds: 2, batchWindowSeconds: 0.2 });
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(stack.description));
});
afterAll(async () => {
  await stack?.stop();
});

describe.concurrent('bad flags', () => {
  it.each([
    [['redrive', '--queue', 'nowhere'], /--queue must be dispatch, master or master-high/],
    [['redrive', '--max', '0'], /--max must be a whole number from 1/],
    [['dlq', '--queue', 'regional'], /--queue must be dispatch, master, master-high or all/],
  ])('%j fails with a clear message and a non-zero exit', { timeout: 60_000 }, async (args, message) => {
    const result = await cli(...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});

describe('against a running local stack', () => {
  // Three CLI runs, each a fresh process: a generous limit for a loaded machine (a limit, not an assertion).
  it('dlq lists a dead-lettered malformed message with its reason; redrive --dry-run lists it and moves nothing', { timeout: 120_000 }, async () => {
    const home = sqsAt(stack.description.homeRegion, stack.description.endpoints.sqs[stack.description.homeRegion] as string);
    try {
      // A malformed request on the master queue: the intake dead-letters it with the reason.
      await home.send(new SendMessageCommand({ QueueUrl: stack.description.masterQueueUrl, MessageBody: 'this is not json' }));
      const dlqUrl = stack.description.dispatchDeadLetterQueueUrl;
      expect(await until(async () => (await queueDepth(home, dlqUrl)).visible === 1, 20_000)).toBe(true);

      const listed = await cli('dlq');
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/dispatch DLQ\s+\S+\n\s+read 1 message\(s\) \(SQS approximate: 1 visible, 0 in flight\)/);
      expect(listed.stdout).toMatch(/^\s+1\s+invalid request: body is not JSON/m);
      expect(listed.stdout).toMatch(/without request_id: 1/);
      expect(listed.stdout).toMatch(/Counts are the messages this read could see/);

      // A body that is not JSON can never pass the intake: skipped unless --include-not-json.
      const dry = await cli('redrive', '--dry-run');
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/would move 0\n/);
      expect(dry.stdout.replace(/\s+/g, ' ')).toMatch(/skipped 1: \(no request_id\) message \S+: the body is not JSON/);
      expect(dry.stdout).toMatch(/dry run: nothing was moved/);
      const included = await cli('redrive', '--dry-run', '--include-not-json');
      expect(included.code, included.stderr).toBe(0);
      expect(included.stdout).toMatch(/would move 1:\n\s+1\s+invalid request: body is not JSON/);

      // Still there, visible, and nothing reached the master queue.
      const json = await cli('dlq', '--queue', 'dispatch', '--json');
      expect(json.code, json.stderr).toBe(0);
      const listing = JSON.parse(json.stdout) as Listing;
      expect(listing.queues.map((q) => [q.queue, q.read, q.groups.map((g) => [g.reason.startsWith('invalid request: body is not JSON'), g.count, g.withoutRequestId])])).toEqual([
        ['dispatch', 1, [[true, 1, 1]]],
      ]);
      expect(await queueDepth(home, dlqUrl)).toEqual({ visible: 1, inFlight: 0 });
      expect(await queueDepth(home, stack.description.masterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
    } finally {
      home.destroy();
    }
  });
});
