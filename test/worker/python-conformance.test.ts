/**
 * The worker conformance suite: the scenarios of test/python/conformance/scenarios.json (two workers
 * racing for one request, a copy after completion, an expired lease taken over, a job longer than its
 * lease, a release, a dead-lettered record, a smoke copy, the request_id rule, the lanes' order and idle
 * cycle, presence renewed and removed, stealing by backlog per live worker, a model not served handed
 * back, two stealers racing) run against the TypeScript worker (worker/: Fence, fenced, WatchedCopies,
 * LaneReceiver, PresenceReporter, StealingReceiver) here, and against the Python package
 * (python/inference_dispatch_worker) by test/python/conformance_test.py, both on the same local stack
 * (dynalite, one fauxqs per region) through real SDK clients. The choice rule's cases
 * (test/python/conformance/steal-choices.json) run through core/stealing.ts here and through the
 * package's choose_steal in test/python/package_test.py. Needs python3 with boto3 >= 1.34.90: without
 * them the Python half fails and says so (it is never skipped).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetItemCommand, ProvisionedThroughputExceededException, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
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
  PresenceReporter,
  SmokeCopyError,
  StealingReceiver,
  sqsVisibility,
  WatchedCopies,
  type HeldLease,
} from '../../worker/index.js';
import { STARVATION_LIMIT, type Lane } from '../../core/lanes.js';
import { countPresence, leasesFromAttributes, presenceKey } from '../../core/presence.js';
import { chooseBeforeOwnNormal, chooseSteal, servesModel, stealingSettingsSchema, type StealCandidate } from '../../core/stealing.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

type Step = Record<string, any> & { op: string };
interface Scenario {
  name: string;
  visibility?: number;
  /** Regions of the stealing and presence scenarios, each with its own lanes on one fauxqs (SERVERS, in turn). */
  regions?: string[];
  steps: Step[];
}
const SCENARIOS: Scenario[] = JSON.parse(readFileSync(new URL('../python/conformance/scenarios.json', import.meta.url), 'utf8')).scenarios;
const REGION = 'us-west-2';
/** The local stack's SQS servers a scenario's regions are put on, in turn (the Python runner does the same). */
const SERVERS = ['us-east-1', 'us-west-1', 'us-west-2'];
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
  /** The client of a kept copy's region (a stolen copy's is not the scenario's default). */
  readonly clientOf: Map<Message, SQSClient>;
  /** The `throttle` step: this many of the worker's next DynamoDB updates (its accept writes) are throttled. */
  throttles: { left: number };
}

/** snake_case (the scenarios, as the Python package names things) to camelCase (the TypeScript worker). */
const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const COUNTERS = ['readings', 'stolen', 'handed_back_for_model', 'sqs_requests', 'dynamo_reads'] as const;

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
  /** The scenario's regions (stealing, presence): lanes on one fauxqs each. */
  readonly regionLanes = new Map<string, { server: string; queues: Record<Lane, string> }>();
  readonly reporters = new Map<string, PresenceReporter>();
  readonly stealers = new Map<string, { receiver: StealingReceiver; own: string }>();
  readonly presenceSeen = new Map<string, Map<string, number>>();
  /** Own long polls (receives with a wait) per stealer, and the count at its last mark_long_polls. */
  readonly longPolls = new Map<string, { count: number; mark: number }>();

  constructor(readonly scenario: Scenario) {}

  /** A scenario's region name as written (`east`) to this run's (`cf-<tag>-east`); '' stays ''. */
  region(name: string): string {
    return name ? `cf-${this.tag}-${name}` : name;
  }

  scenarioRegion(region: string): string {
    return region.startsWith(`cf-${this.tag}-`) ? region.slice(`cf-${this.tag}-`.length) : region;
  }

  /** The client and lanes of a scenario region, or the scenario's default lanes. */
  lanesOf(name?: string): { client: SQSClient; queues: Record<Lane, string> } {
    if (name === undefined) return { client: this.sqs, queues: this.queues };
    const lanes = this.regionLanes.get(name);
    if (!lanes) throw new Error(`no region ${name} in this scenario's regions`);
    return { client: aws.sqs(lanes.server), queues: lanes.queues };
  }

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
    for (const [index, name] of (this.scenario.regions ?? []).entries()) {
      const server = SERVERS[index % SERVERS.length] as string;
      const queues: Record<Lane, string> = { normal: '', high: '' };
      for (const lane of ['normal', 'high'] as const) {
        const { QueueUrl } = await aws.sqs(server).send(new CreateQueueCommand({ QueueName: `cf-ts-${name}-${lane}-${this.tag}`, Attributes: { VisibilityTimeout: '30' } }));
        queues[lane] = QueueUrl as string;
      }
      this.regionLanes.set(name, { server, queues });
    }
  }

  rid(step: Step, key = 'request'): string {
    return step.raw ? step[key] : `cf-${this.tag}-${step[key]}`;
  }

  worker(name: string): TsWorker {
    let worker = this.workers.get(name);
    if (!worker) {
      const queueOf = new Map<Message, string>();
      const throttles = { left: 0 };
      // The worker's DynamoDB client: its next `throttles.left` updates fail as a throttled table answers.
      const dynamo = new Proxy(aws.dynamo, {
        get: (target, key, receiver) =>
          key === 'send'
            ? (command: unknown, ...rest: unknown[]) => {
                if (command instanceof UpdateItemCommand && throttles.left > 0) {
                  throttles.left -= 1;
                  return Promise.reject(new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', $metadata: { httpStatusCode: 400 } }));
                }
                return (target.send as (...args: unknown[]) => unknown)(command, ...rest);
              }
            : Reflect.get(target, key, receiver),
      }) as DynamoDBClient;
      const fence = Fence.dynamo(dynamo, aws.resources.tableName);
      const clientOf = new Map<Message, SQSClient>();
      const kept = new WatchedCopies<Message>({
        extendVisibility: (message, seconds) => sqsVisibility(clientOf.get(message) ?? this.sqs, queueOf.get(message))(message, seconds),
        marginSeconds: 30,
        maxKeeps: 3,
        monotonic: fence.monotonic,
      });
      worker = { name, fence, kept, queueOf, clientOf, throttles };
      this.workers.set(name, worker);
    }
    return worker;
  }

  /** A copy through `fenced`, and the SQS side of a loop: delete, keep, or leave it. */
  async handle(
    workerName: string,
    message: Message,
    queueUrl: string,
    options: { work?: number; fail?: boolean; lease?: number; keeps?: number; client?: SQSClient },
  ): Promise<Outcome> {
    const worker = this.worker(workerName);
    const sqs = options.client ?? worker.clientOf.get(message) ?? this.sqs;
    const work = fenced(
      async (_message: Message, { requestId }) => {
        this.runs.set(requestId, (this.runs.get(requestId) ?? 0) + 1);
        await sleep(options.work ?? 0);
        if (options.fail) throw new Error('the job failed');
        return 'done';
      },
      { fence: worker.fence, workerId: worker.name, leaseSeconds: options.lease ?? DEFAULT_LEASE, extendVisibility: sqsVisibility(sqs, queueUrl), onWarning: () => undefined },
    );
    const remove = () => sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    try {
      const outcome = await work(message);
      await remove();
      return { label: outcome.skipped ? `DROPPED:${outcome.reason}` : 'PROCESSED' };
    } catch (error) {
      if (error instanceof SmokeCopyError) return { label: 'SMOKE' };
      if (error instanceof AlreadyAcceptedError && error.retryAfterSeconds !== undefined) {
        worker.queueOf.set(message, queueUrl);
        worker.clientOf.set(message, sqs);
        const kept = await worker.kept.keep(message, error.retryAfterSeconds, options.keeps ?? 0);
        if (!kept) await sqsVisibility(sqs, queueUrl)(message, error.retryAfterSeconds);
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

  reporter(s: Step): PresenceReporter {
    let reporter = this.reporters.get(s.worker);
    if (!reporter) {
      reporter = new PresenceReporter({
        client: aws.dynamo,
        tableName: aws.resources.tableName,
        region: this.region(s.region),
        workerId: s.worker,
        ...(s.heartbeat !== undefined ? { heartbeatMs: s.heartbeat * 1000 } : {}),
        ...(s.lease !== undefined ? { leaseMs: s.lease * 1000 } : {}),
        onError: () => undefined,
      });
      this.reporters.set(s.worker, reporter);
    }
    return reporter;
  }

  /** A StealingReceiver for a worker of `s.region` (its own lanes polled without waiting), every scenario region given. */
  makeStealer(s: Step): StealingReceiver {
    const own = this.lanesOf(s.region);
    // `watch_wait_seconds`: the deployed receiver (its lanes watched by long polls of that wait, no rest).
    const watch = s.watch_wait_seconds as number | undefined;
    const polls = { count: 0, mark: 0 };
    if (s.worker) this.longPolls.set(s.worker, polls);
    const lanes = new LaneReceiver(
      async (queueUrl, wait) => {
        if (wait > 0) polls.count += 1;
        return (await own.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: watch === undefined ? 0 : wait, MessageAttributeNames: ['All'] })))
          .Messages?.[0];
      },
      own.queues,
      watch === undefined ? { mode: 'sequential', idleWaitSeconds: 0 } : { idleWaitSeconds: watch, idleRestSeconds: 0 },
    );
    const settings = Object.fromEntries(
      Object.entries((s.settings ?? {}) as Record<string, unknown>).map(([name, value]) => [
        camel(name),
        name === 'allow_regions' ? (value as string[]).map((r) => this.region(r)) : value,
      ]),
    );
    return new StealingReceiver({
      ownRegion: this.region(s.region),
      lanes,
      regions: [...this.regionLanes].map(([name, r]) => ({ region: this.region(name), client: aws.sqs(r.server), queues: r.queues })),
      settings,
      presence: { client: aws.dynamo, tableName: aws.resources.tableName },
      onError: () => undefined,
    });
  }

  stealer(name: string): { receiver: StealingReceiver; own: string } {
    const stealer = this.stealers.get(name);
    if (!stealer) throw new Error(`no stealer ${name}`);
    return stealer;
  }

  async close(): Promise<void> {
    for (const reporter of this.reporters.values()) reporter.abandon();
    for (const { receiver, own } of this.stealers.values()) {
      for (const held of await receiver.close()) {
        await this.lanesOf(own).client.send(new ChangeMessageVisibilityCommand({ QueueUrl: held.queueUrl, ReceiptHandle: held.message.ReceiptHandle, VisibilityTimeout: 0 }));
      }
    }
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
    case 'send': {
      const { client, queues } = run.lanesOf(s.region);
      await client.send(
        new SendMessageCommand({
          QueueUrl: queues[s.lane as Lane],
          MessageBody: JSON.stringify({ request_id: run.rid(s), ...(s.model ? { model_name: s.model } : {}) }),
          MessageAttributes: {
            request_id: { DataType: 'String', StringValue: run.rid(s) },
            dispatch_token: { DataType: 'String', StringValue: s.token },
            ...(s.smoke ? { dispatch_smoke: { DataType: 'String', StringValue: s.smoke } } : {}),
            ...(s.model ? { model_name: { DataType: 'String', StringValue: s.model } } : {}),
          },
        }),
      );
      return;
    }
    case 'receive': {
      const { client, queues } = run.lanesOf(s.region);
      const queueUrl = queues[s.lane as Lane];
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: s.wait ?? 1, MessageAttributeNames: ['All'] }),
      );
      expect(Messages, 'a message to receive').toHaveLength(1);
      run.slots.set(s.as, { message: Messages[0] as Message, queueUrl });
      if (s.same_as) expect(Messages[0]?.MessageId).toBe(run.slots.get(s.same_as)?.message.MessageId);
      return;
    }
    case 'expect_empty': {
      const { client, queues } = run.lanesOf(s.region);
      const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queues[s.lane as Lane], MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      expect(Messages, `nothing visible in the ${s.lane} lane`).toEqual([]);
      return;
    }
    case 'expect_visible': {
      const { client, queues } = run.lanesOf(s.region);
      const { Attributes = {} } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queues[s.lane as Lane], AttributeNames: ['ApproximateNumberOfMessages'] }));
      expect(Number(Attributes.ApproximateNumberOfMessages), `visible in ${s.region ?? ''} ${s.lane}`).toBe(s.count);
      return;
    }
    case 'presence_start':
      run.reporter(s).start();
      return;
    case 'presence_renew':
      expect(await run.reporter(s).renew()).toBe(s.expect);
      return;
    case 'presence_stop':
      expect(await run.reporter(s).stop()).toBe(s.expect);
      return;
    case 'presence_abandon':
      run.reporter(s).abandon();
      return;
    case 'put_presence': {
      const now = Date.now();
      const entries = Object.entries(s.entries as Record<string, number>).map(([id, offset]) => [`w_${id}`, { N: String(now + offset * 1000) }]);
      await aws.dynamo.send(
        new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: presenceKey(run.region(s.region)) }, ...Object.fromEntries(entries) } }),
      );
      return;
    }
    case 'expect_presence': {
      const region = run.region(s.region);
      const { Item } = await aws.dynamo.send(
        new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: presenceKey(region) } }, ConsistentRead: true }),
      );
      const leases = leasesFromAttributes(Object.fromEntries(Object.entries(Item ?? {}).map(([k, v]) => [k, v.N ?? v.S])));
      const now = Date.now();
      const ids = (live: boolean) => [...leases].filter(([, until]) => (until > now) === live).map(([id]) => id).sort();
      expect(ids(true), 'live').toEqual([...(s.live as string[])].sort());
      expect(countPresence({ region, leases }, now).live).toBe((s.live as string[]).length);
      if (s.lapsed) expect(ids(false), 'lapsed').toEqual([...(s.lapsed as string[])].sort());
      for (const id of (s.absent ?? []) as string[]) expect(leases.has(id), `${id} absent`).toBe(false);
      if (s.later_than) {
        const seen = run.presenceSeen.get(s.later_than) as Map<string, number>;
        for (const id of s.live as string[]) expect(leases.get(id), `${id} renewed`).toBeGreaterThan(seen.get(id) as number);
      }
      if (s.as) run.presenceSeen.set(s.as, leases);
      return;
    }
    case 'expect_presence_counters': {
      const c = run.reporter(s).counters();
      if (s.renewals_at_least !== undefined) expect(c.renewals).toBeGreaterThanOrEqual(s.renewals_at_least);
      for (const name of ['renewals', 'failures', 'forgotten', 'writes'] as const) if (s[name] !== undefined) expect(c[name], name).toBe(s[name]);
      return;
    }
    case 'stealer':
      run.stealers.set(s.worker, { receiver: run.makeStealer(s), own: s.region });
      return;
    case 'mark_long_polls': {
      const polls = run.longPolls.get(s.worker) as { count: number; mark: number };
      polls.mark = polls.count;
      return;
    }
    case 'expect_long_polls_since_mark': {
      const polls = run.longPolls.get(s.worker) as { count: number; mark: number };
      expect(polls.count - polls.mark, 'own long polls since the mark').toBe(s.count);
      return;
    }
    case 'stealer_refused':
      expect(() => run.makeStealer(s)).toThrow(new RegExp(s.error));
      return;
    case 'steal': {
      const { receiver, own } = run.stealer(s.worker);
      const taken = await receiver.next();
      if (s.expect === null) {
        expect(taken).toBeUndefined();
        return;
      }
      expect(taken, 'a message taken').toBeDefined();
      expect(run.scenarioRegion(taken!.region)).toBe(s.expect.region);
      if (s.expect.lane) expect(taken!.lane).toBe(s.expect.lane);
      expect(taken!.stolen).toBe(s.expect.stolen);
      if (s.expect.request) expect(taken!.message.MessageAttributes?.request_id?.StringValue).toBe(run.rid(s.expect));
      if (s.handle) {
        const outcome = await run.handle(s.worker, taken!.message, taken!.queueUrl, { client: taken!.client ?? run.lanesOf(own).client });
        expect(outcome.label).toBe(s.handle);
      }
      return;
    }
    case 'expect_steal_counters': {
      const c = run.stealer(s.worker).receiver.counters();
      for (const name of COUNTERS) if (s[name] !== undefined) expect(c[camel(name) as keyof typeof c], name).toBe(s[name]);
      if (s.by_region) {
        expect(Object.keys(c.byRegion).map((r) => run.scenarioRegion(r)).sort()).toEqual(Object.keys(s.by_region).sort());
        for (const [name, expected] of Object.entries(s.by_region as Record<string, Record<string, number>>)) {
          const got = c.byRegion[run.region(name)] as unknown as Record<string, number>;
          for (const [key, value] of Object.entries(expected)) expect(got[camel(key)], `${name} ${key}`).toBe(value);
        }
      }
      return;
    }
    case 'steal_race': {
      const outcomes = await Promise.all(
        (s.workers as string[]).map(async (name) => {
          const { receiver } = run.stealer(name);
          const taken = await receiver.next();
          expect(taken?.stolen, `${name} stole a copy`).toBe(true);
          return run.handle(name, taken!.message, taken!.queueUrl, { work: s.work, client: taken!.client });
        }),
      );
      const counts: Record<string, number> = {};
      for (const o of outcomes) {
        const status = o.label.split(':')[0] as string;
        counts[status] = (counts[status] ?? 0) + 1;
      }
      expect(counts, JSON.stringify(outcomes)).toEqual(s.expect_counts);
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
    case 'throttle':
      run.worker(s.worker).throttles.left = s.count;
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

/** The choice rule's shared cases (test/python/conformance/steal-choices.json) through core/stealing.ts. */
const CHOICES: {
  base_allow_regions: string[];
  cases: { name: string; rule?: 'before_own_normal'; own_region: string; settings: Record<string, unknown>; candidates: Record<string, any>[]; expect: Record<string, any> | null }[];
  serves_model: { models: string[] | null; model: string | null; expect: boolean }[];
} = JSON.parse(readFileSync(new URL('../python/conformance/steal-choices.json', import.meta.url), 'utf8'));

describe('the choice rule: core/stealing.ts over steal-choices.json (the package runs the same cases)', () => {
  for (const c of CHOICES.cases) {
    it(c.name, () => {
      const settings = stealingSettingsSchema.parse(
        Object.fromEntries(Object.entries({ allow_regions: CHOICES.base_allow_regions, ...c.settings }).map(([name, value]) => [camel(name), value])),
      );
      const candidates: StealCandidate[] = c.candidates.map((x) => ({
        region: x.region,
        waiting: x.waiting,
        ...(x.workers !== undefined ? { workers: x.workers } : {}),
        ...(x.latency_ms !== undefined ? { latencyMs: x.latency_ms } : {}),
      }));
      const expected = c.expect && { region: c.expect.region, lane: c.expect.lane, backlogPerWorker: c.expect.backlog_per_worker };
      const rule = c.rule === 'before_own_normal' ? chooseBeforeOwnNormal : chooseSteal;
      expect(rule(c.own_region, candidates, settings) ?? null).toEqual(expected);
    });
  }
  it('servesModel', () => {
    for (const c of CHOICES.serves_model) expect(servesModel(c.models ?? undefined, c.model ?? undefined), JSON.stringify(c)).toBe(c.expect);
  });
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
        SQS_ENDPOINTS: JSON.stringify(aws.endpoints.sqs),
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
