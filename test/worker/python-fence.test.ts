/**
 * The Python worker package (python/inference_dispatch_worker), as docs/worker-fence.md uses it
 * (test/python/fence_loop_test.py), against dynalite and fauxqs: a job three times its lease processed once, the
 * skew-safe take-over, a lost lease, a crash, a dead worker's copy kept while watched (never in the DLQ), a smoke
 * copy left to the smoke command, the request_id rule, the worker loop (Worker.run); the lane receiver: busy order, idle
 * watch of both lanes (high first when both answer, nothing lost), idle receives per wait and rest.
 * Needs python3 with boto3: without them this test fails and says so (it is never skipped).
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../tools/local/resources.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

function run(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn('python3', ['test/python/fence_loop_test.py'], { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, output });
    }),
  );
}

describe('the Python worker package', () => {
  it('runs against the local stack: processed once, skew-safe, heartbeat stopped on completion and crash, the copy of a dead worker kept while watched; the worker loop; the lane receiver', async () => {
    const probe = spawnSync('python3', ['-c', 'import boto3'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(`python3 with boto3 >= 1.34.90 is needed to run the Python worker package (pip install 'boto3>=1.34.90'): ${probe.error?.message ?? probe.stderr}`);
    }
    const result = await run({
      DYNAMODB_ENDPOINT: aws.endpoints.dynamodb,
      SQS_ENDPOINT: aws.endpoints.sqs['us-west-2'] as string,
      IDEMPOTENCY_TABLE: aws.resources.tableName,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(result.output).toMatch(/Ran 11 tests/);
    expect(result.code, result.output).toBe(0);
  }, 120_000);
});
