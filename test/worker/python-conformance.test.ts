/**
 * The worker conformance suite: the scenarios of test/python/conformance/scenarios.json (two workers
 * racing for one request, a copy after completion, an expired lease taken over, a job longer than its
 * lease, a release, a dead-lettered record, a smoke copy, the request_id rule, the lanes' order and idle
 * cycle) run against the TypeScript worker (worker/: Fence, fenced, WatchedCopies, LaneReceiver) here, and
 * against the Python package (python/inference_dispatch_worker) by test/python/conformance_test.py, both on
 * the same local stack (dynalite, fauxqs) through real SDK clients. Needs python3 with boto3 >= 1.34.90:
 * without them the Python half fails and says so (it is never skipped).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../tools/local/resources.js';
import {
  AcceptRefusedError,
  AlreadyAcceptedError,
  Fence,
  fenced,
  InvalidRequestIdError,
  LANE_RECEIVE,
  LaneReceiver,
  LeaseLostError,
  NoDispatchIdentityError,
  NotHolderError,
  SmokeCopyError,
  sqsVisibility,
  WatchedCopies,
  type HeldLease,
} from '../../worker/index.js';
import { STARVATION_LIMIT, type Lane } from '../../core/lanes.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

type Step = Record<string, any> & { op: string };
interface Scenario {
  name: string;
  visibility?: number;
  steps: Step[];
}
const SCENARIOS: Scenario[] = JSON.parse(readFileSync(new URL('../python/conformance/scenarios.json', import.meta.url), 'utf8')).scenarios;
const REGION = 'us-west-2';
const DEFAULT_LEASE = 30;

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** What one copy's handling came to, named as the Python package names its outcomes. */
type Outcome = { label: string; kept?: boolean };

interface TsWorker {
  readonly name: string;
  readonly fence: Fence;
  readonly kept: WatchedCopies<Message>;
  readonly queueOf: Map<Message, string>;
}

/** One scenario's state: its queues, its workers (a Fence each, as a process has), slots, jobs, runs. */
class Run {
  readonly tag = randomUUID().slice(0, 8);
  queues: Record<Lane, string> = { normal: '', high: '' };
  readonly workers = new Map<string, TsWorker>();
  readonly receivers = new Map<string, { receiver: LaneReceiver; counts: Record<Lane, number> }>();
  readonly leases = new Map<string, HeldLease>();
  readonly slots = new Map<string, { message: Message; queueUrl: string }>();
  readonly jobs = new Map<string, Promise<Outcome>>();
  readonly runs = new Map<string, number>();

  constructor(readonly scenario: Scenario) {}

  get sqs() {
    return aws.sqs(REGION);
  }

  async open(): Promise<void> {
    for (const lane of ['normal', 'high'] as const) {
      const { QueueUrl } = await this.sqs.send(
        new CreateQueueCommand({ QueueName: `cf-ts-${lane}-${this.tag}`, Attributes: { VisibilityTimeout: String(this.scenario.visibility ?? 30) } }),
      );
      this.queues[lane] = QueueUrl as string;
    }
  }

  rid(step: Step, key = 'request'): string {
    return step.raw ? step[key] : `cf-${this.tag}-${step[key]}`;
  }

  worker(name: string): TsWorker {
    let worker = this.workers.get(name);
    if (!worker) {
      const queueOf = new Map<Message, string>();
      const fence = Fence.dynamo(aws.dynamo, aws.resources.tableName);
      const kept = new WatchedCopies<Message>({
        extendVisibility: (message, seconds) => sqsVisibility(this.sqs, queueOf.get(message))(message, seconds),
        marginSeconds: 30,
        maxKeeps: 3,
        monotonic: fence.monotonic,
      });
      worker = { name, fence, kept, queueOf };
      this.workers.set(name, worker);
    }
    return worker;
  }

  /** A copy through `fenced`, and the SQS side of a loop: delete, keep, or leave it. */
  async handle(workerName: string, message: Message, queueUrl: string, options: { work?: number; fail?: boolean; lease?: number; keeps?: number }): Promise<Outcome> {
    const worker = this.worker(workerName);
    const work = fenced(
      async (_message: Message, { requestId }) => {
        this.runs.set(requestId, (this.runs.get(requestId) ?? 0) + 1);
        await sleep(options.work ?? 0);
        if (options.fail) throw new Error('the job failed');
        return 'done';
      },
      { fence: worker.fence, workerId: worker.name, leaseSeconds: options.lease ?? DEFAULT_LEASE, extendVisibility: sqsVisibility(this.sqs, queueUrl), onWarning: () => undefined },
    );
    const remove = () => this.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    try {
      const outcome = await work(message);
      await remove();
      return { label: outcome.skipped ? `DROPPED:${outcome.reason}` : 'PROCESSED' };
    } catch (error) {
      if (error instanceof SmokeCopyError) return { label: 'SMOKE' };
      if (error instanceof AlreadyAcceptedError && error.retryAfterSeconds !== undefined) {
        worker.queueOf.set(message, queueUrl);
        const kept = await worker.kept.keep(message, error.retryAfterSeconds, options.keeps ?? 0);
        if (!kept) await sqsVisibility(this.sqs, queueUrl)(message, error.retryAfterSeconds);
        return { label: 'IN_FLIGHT', kept };
      }
      if (error instanceof LeaseLostError) return { label: `LEASE_LOST:${error.reason}` };
      if (error instanceof NoDispatchIdentityError) return { label: 'INVALID' };
      if ((error as Error).message === 'the job failed') return { label: 'FAILED' };
      throw error;
    }
  }

  handleSlot(step: Step): Promise<Outcome> {
    const slot = this.slots.get(step.message);
    if (!slot) throw new Error(`no message in slot ${step.message}`);
    return this.handle(step.worker, slot.message, slot.queueUrl, { work: step.work, fail: step.fail, lease: step.lease });
  }

  receiver(step: Step): { receiver: LaneReceiver; counts: Record<Lane, number> } {
    let entry = this.receivers.get(step.worker);
    if (!entry) {
      const counts: Record<Lane, number> = { high: 0, normal: 0 };
      const laneOf = new Map<string, Lane>([
        [this.queues.high, 'high'],
        [this.queues.normal, 'normal'],
      ]);
      const receiver = new LaneReceiver(
        async (queueUrl, waitSeconds) => {
          counts[laneOf.get(queueUrl) as Lane] += 1;
          const answer = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: waitSeconds, MessageAttributeNames: ['All'] }));
          return answer.Messages?.[0];
        },
        this.queues,
        { ...(step.idle_wait_seconds ? { idleWaitSeconds: step.idle_wait_seconds } : {}), ...(step.idle_rest_seconds ? { idleRestSeconds: step.idle_rest_seconds } : {}) },
      );
      entry = { receiver, counts };
      this.receivers.set(step.worker, entry);
    }
    return entry;
  }

  async close(): Promise<void> {
    for (const { receiver } of this.receivers.values()) {
      for (const held of await receiver.close()) {
        await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: held.queueUrl, ReceiptHandle: held.message.ReceiptHandle, VisibilityTimeout: 0 }));
      }
    }
    for (const worker of this.workers.values()) worker.kept.abandon();
  }
}

const typed = (value: unknown): AttributeValue => (typeof value === 'number' ? { N: String(value) } : { S: String(value) });
const plain = (item: Record<string, AttributeValue>) =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S !== undefined ? v.S : v.N !== undefined ? Number(v.N) : v]));

async function record(requestId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await aws.dynamo.send(new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
  return Item ? plain(Item) : undefined;
}

async function step(run: Run, s: Step): Promise<void> {
  switch (s.op) {
    case 'send':
      await run.sqs.send(
        new SendMessageCommand({
          QueueUrl: run.queues[s.lane as Lane],
          MessageBody: JSON.stringify({ request_id: run.rid(s) }),
          MessageAttributes: {
            request_id: { DataType: 'String', StringValue: run.rid(s) },
            dispatch_token: { DataType: 'String', StringValue: s.token },
            ...(s.smoke ? { dispatch_smoke: { DataType: 'String', StringValue: s.smoke } } : {}),
          },
        }),
      );
      return;
    case 'receive': {
      const queueUrl = run.queues[s.lane as Lane];
      const { Messages = [] } = await run.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
      expect(Messages, 'a message to receive').toHaveLength(1);
      run.slots.set(s.as, { message: Messages[0] as Message, queueUrl });
      if (s.same_as) expect(Messages[0]?.MessageId).toBe(run.slots.get(s.same_as)?.message.MessageId);
      return;
    }
    case 'expect_empty': {
      const { Messages = [] } = await run.sqs.send(new ReceiveMessageCommand({ QueueUrl: run.queues[s.lane as Lane], MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      expect(Messages, `nothing visible in the ${s.lane} lane`).toEqual([]);
      return;
    }
    case 'handle': {
      const outcome = await run.handleSlot(s);
      expect(outcome.label).toBe(s.expect);
      if ('kept' in s) expect(outcome.kept).toBe(s.kept);
      return;
    }
    case 'handle_due': {
      const worker = run.worker(s.worker);
      const due = worker.kept.takeDue();
      expect(due, 'a kept copy due').toBeDefined();
      const queueUrl = worker.queueOf.get(due!.message) as string;
      const outcome = await run.handle(s.worker, due!.message, queueUrl, { ...s, keeps: due!.keeps });
      expect(outcome.label).toBe(s.expect);
      return;
    }
    case 'start':
      run.jobs.set(s.as, run.handleSlot(s));
      return;
    case 'join': {
      const outcome = await run.jobs.get(s.job);
      expect(outcome?.label).toBe(s.expect);
      return;
    }
    case 'race': {
      const outcomes = await Promise.all((s.handles as Step[]).map((h) => run.handleSlot(h)));
      const counts: Record<string, number> = {};
      for (const o of outcomes) {
        const status = o.label.split(':')[0] as string;
        counts[status] = (counts[status] ?? 0) + 1;
      }
      expect(counts, JSON.stringify(outcomes)).toEqual(s.expect_counts);
      return;
    }
    case 'accept': {
      const worker = run.worker(s.worker);
      let got: string;
      try {
        const lease = await worker.fence.acceptLease({ requestId: run.rid(s), token: s.token, workerId: s.worker, leaseSeconds: s.lease });
        run.leases.set(`${s.worker} ${run.rid(s)}`, lease);
        got = 'ACCEPTED';
      } catch (error) {
        if (error instanceof InvalidRequestIdError) got = 'INVALID';
        else if (error instanceof AcceptRefusedError) got = error.reason;
        else throw error;
      }
      expect(got).toBe(s.expect);
      return;
    }
    case 'complete': {
      const worker = run.worker(s.worker);
      const lease = run.leases.get(`${s.worker} ${run.rid(s)}`);
      let got: string;
      try {
        await worker.fence.complete({ requestId: run.rid(s), token: s.token, workerId: s.worker, ...(lease ? { versions: [lease.version] } : {}) });
        got = 'COMPLETED';
      } catch (error) {
        if (!(error instanceof NotHolderError)) throw error;
        got = 'NOT_HOLDER';
      }
      expect(got).toBe(s.expect);
      return;
    }
    case 'put_record':
      await aws.dynamo.send(
        new PutItemCommand({
          TableName: aws.resources.tableName,
          Item: { request_id: { S: run.rid(s) }, ...Object.fromEntries(Object.entries(s.item as Record<string, unknown>).map(([k, v]) => [k, typed(v)])) },
        }),
      );
      return;
    case 'expect_record': {
      const item = await record(run.rid(s));
      if (s.absent) {
        expect(item).toBeUndefined();
        return;
      }
      expect(item, 'a record').toBeDefined();
      for (const [name, value] of Object.entries((s.fields ?? {}) as Record<string, unknown>)) expect(item?.[name], name).toEqual(value);
      for (const name of (s.absent_fields ?? []) as string[]) expect(item, name).not.toHaveProperty(name);
      if (s.exactly) expect(item).toEqual({ request_id: run.rid(s), ...s.exactly });
      return;
    }
    case 'expect_runs':
      expect(run.runs.get(run.rid(s)) ?? 0).toBe(s.count);
      return;
    case 'sleep':
      await sleep(s.seconds);
      return;
    case 'next': {
      const { receiver } = run.receiver(s);
      const lanes: string[] = [];
      for (let tries = 0; lanes.length < s.expect_lanes.length && tries < s.expect_lanes.length + 6; tries++) {
        const taken = await receiver.next();
        if (!taken) continue;
        lanes.push(taken.lane);
        expect((await run.handle(s.worker, taken.message, taken.queueUrl, {})).label).toBe('PROCESSED');
      }
      expect(lanes).toEqual(s.expect_lanes);
      return;
    }
    case 'lane_defaults':
      expect(STARVATION_LIMIT).toBe(s.expect.starvation_limit);
      expect(LANE_RECEIVE.idleWaitSeconds).toEqual(s.expect.idle_wait_seconds);
      expect(LANE_RECEIVE.idleRestSeconds).toEqual(s.expect.idle_rest_seconds);
      return;
    case 'idle': {
      const { receiver, counts } = run.receiver(s);
      expect(await receiver.next()).toBeUndefined();
      counts.high = 0;
      counts.normal = 0;
      const started = performance.now();
      while (performance.now() - started < s.seconds * 1000) expect(await receiver.next()).toBeUndefined();
      const elapsed = (performance.now() - started) / 1000;
      for (const lane of ['high', 'normal'] as const) {
        const cycle = s.idle_wait_seconds[lane] + s.idle_rest_seconds[lane];
        expect(counts[lane], `${lane}: ${JSON.stringify(counts)} in ${elapsed} s`).toBeLessThanOrEqual(elapsed / cycle + s.slack);
        expect(counts[lane], `${lane}: ${JSON.stringify(counts)} in ${elapsed} s`).toBeGreaterThanOrEqual(Math.max(1, elapsed / cycle - s.slack));
      }
      return;
    }
    default:
      throw new Error(`unknown step ${s.op}`);
  }
}

describe('worker conformance: the TypeScript worker', () => {
  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const run = new Run(scenario);
      await run.open();
      try {
        for (const [index, s] of scenario.steps.entries()) {
          try {
            await step(run, s);
          } catch (error) {
            (error as Error).message = `step ${index} (${s.op}): ${(error as Error).message}`;
            throw error;
          }
        }
      } finally {
        await run.close();
      }
    }, 60_000);
  }
});

describe('worker conformance: the Python package', () => {
  it(`passes the same ${SCENARIOS.length} scenarios (test/python/conformance_test.py)`, async () => {
    const probe = spawnSync('python3', ['-c', 'import boto3, botocore; print(boto3.__version__, botocore.__version__)'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(`python3 with boto3 >= 1.34.90 is needed to run the Python worker package (pip install 'boto3>=1.34.90'): ${probe.error?.message ?? probe.stderr}`);
    }
    const child = spawn('python3', ['test/python/conformance_test.py'], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        DYNAMODB_ENDPOINT: aws.endpoints.dynamodb,
        SQS_ENDPOINT: aws.endpoints.sqs[REGION] as string,
        IDEMPOTENCY_TABLE: aws.resources.tableName,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(killer);
    expect(output, output).toMatch(new RegExp(`Ran ${SCENARIOS.length} tests`));
    expect(code, output).toBe(0);
  }, 180_000);
});
