/**
 * `consume`: the original's consumer. Drains the regional queues and prints the distribution table.
 * When the target has an idempotency table (the local stack, a deployed stage, or --table), each copy
 * is accepted and completed through the dispatch fence (worker/) as a worker would: a copy whose
 * acceptance is refused is deleted uncounted, and a line after the table says how many were dropped.
 */
import { hostname } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { Command, Option } from 'commander';
import { DEFAULT_REGIONS, HOME_REGION } from '../../../core/topology.js';
import { LOCAL_CREDENTIALS } from '../../local/resources.js';
import { AlreadyAcceptedError, type DropReason } from '../../../worker/errors.js';
import { Fence } from '../../../worker/fence.js';
import { fenced, type FencedOutcome } from '../../../worker/wrapper.js';
import { distributionTable } from '../distribution.js';
import { helpText, print } from '../layout.js';
import { awsOptions, positiveInt, queueUrl, seconds } from '../options.js';
import { readStackFile } from '../stack-file.js';
import { clientForQueueUrl, resolveTarget } from '../target.js';

interface ConsumeOptions {
  maxMessages: number;
  wait: number;
  queue?: string[];
  stage?: string;
  profile?: string;
  region?: string;
  /** false with --no-fence. */
  fence: boolean;
  table?: string;
  json?: boolean;
  /** The per-region queue flags, by commander's attribute name (queueUsEast1, ...). */
  [queueFlag: string]: unknown;
}

/** Receives and deletes until a receive comes back empty; returns how many messages there were. */
export async function drainQueue(client: SQSClient, url: string, maxMessages: number, waitSeconds: number): Promise<number> {
  let count = 0;
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: maxMessages, WaitTimeSeconds: Math.ceil(waitSeconds) }),
    );
    if (!Messages.length) return count;
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    count += Messages.length;
  }
}

/** Counts per region, lanes added together, in first-seen order. */
function perRegion(counts: ReadonlyArray<readonly [string, number]>): Array<readonly [string, number]> {
  const sums = new Map<string, number>();
  for (const [region, n] of counts) sums.set(region, (sums.get(region) ?? 0) + n);
  return [...sums];
}

/** The fence's acceptance lease for consume: it completes each copy at once. */
const CONSUME_LEASE_SECONDS = 60;

export interface FencedDrain {
  /** Copies accepted and completed (what the distribution counts). */
  readonly processed: number;
  readonly dropped: ReadonlyMap<DropReason, number>;
  /** Copies held by another worker whose lease runs: left in the queue, visible again when the lease ends. */
  readonly held: number;
}

type Accept = (message: Message) => Promise<FencedOutcome<void>>;

/**
 * Receives until a receive comes back empty, accepting and completing each copy through the fence;
 * deletes what was processed or dropped. An error other than a refusal (DynamoDB unreachable) hands the
 * batch's undecided copies back at once and is thrown.
 */
export async function drainQueueFenced(client: SQSClient, url: string, maxMessages: number, waitSeconds: number, accept: Accept): Promise<FencedDrain> {
  let processed = 0;
  let held = 0;
  const dropped = new Map<DropReason, number>();
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: Math.ceil(waitSeconds),
        MessageAttributeNames: ['All'],
      }),
    );
    if (!Messages.length) return { processed, dropped, held };
    const settled = await Promise.allSettled(Messages.map((m) => accept(m)));
    const done: Message[] = [];
    const back: Array<{ message: Message; seconds: number }> = [];
    let failure: unknown;
    settled.forEach((result, i) => {
      const message = Messages[i] as Message;
      if (result.status === 'fulfilled') {
        done.push(message);
        if (result.value.skipped) dropped.set(result.value.reason, (dropped.get(result.value.reason) ?? 0) + 1);
        else processed += 1;
      } else if (result.reason instanceof AlreadyAcceptedError && result.reason.retryAfterSeconds !== undefined) {
        held += 1;
        back.push({ message, seconds: Math.min(result.reason.retryAfterSeconds, 43_200) });
      } else {
        failure ??= result.reason;
        back.push({ message, seconds: 0 });
      }
    });
    if (done.length) {
      await client.send(
        new DeleteMessageBatchCommand({ QueueUrl: url, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
      );
    }
    if (back.length) {
      await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: back.map(({ message, seconds }, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: seconds })),
        }),
      );
    }
    if (failure !== undefined) throw failure;
  }
}

export type FenceSetup =
  | { readonly on: true; readonly tableName: string; readonly fence: Fence; readonly close?: () => void }
  | { readonly on: false; readonly why: string };

const isLocalUrl = (url: string) => /^(sqs\.[a-z0-9-]+\.localhost|127\.0\.0\.1|localhost)$/.test(new URL(url).hostname);

/** The fence for bare queue URLs: only with --table (on the running local stack's DynamoDB for local URLs). */
function fenceForUrls(options: ConsumeOptions, urls: readonly string[]): FenceSetup {
  if (!options.fence) return { on: false, why: '--no-fence' };
  if (!options.table) return { on: false, why: 'no idempotency table for bare queue URLs (--table NAME)' };
  const local = urls.every(isLocalUrl);
  const client = local
    ? new DynamoDBClient({ region: HOME_REGION, endpoint: readStackFile().endpoints.dynamodb, credentials: LOCAL_CREDENTIALS })
    : new DynamoDBClient({ region: options.region ?? HOME_REGION, ...(options.profile ? { profile: options.profile } : {}) });
  return { on: true, tableName: options.table, fence: Fence.dynamo(client, options.table), close: () => client.destroy() };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The line after the distribution table. */
export function fenceLine(setup: FenceSetup, dropped: ReadonlyMap<DropReason, number>): string {
  if (!setup.on) return `Dispatch fence off: ${setup.why}`;
  const total = [...dropped.values()].reduce((a, b) => a + b, 0);
  const reasons = [...dropped.entries()].map(([reason, n]) => `${reason} ${n}`).join(', ');
  return `Dropped by the dispatch fence: ${plural(total, 'copy', 'copies')}${total ? ` (${reasons})` : ''}`;
}

/** What `consume --json` prints. */
export function consumeJson(counts: ReadonlyArray<readonly [string, number]>, setup: FenceSetup, dropped: ReadonlyMap<DropReason, number>, held: number) {
  return {
    regions: counts.map(([region, count]) => ({ region, count })),
    total: counts.reduce((sum, [, n]) => sum + n, 0),
    fence: {
      on: setup.on,
      ...(setup.on ? { table: setup.tableName } : { why: setup.why }),
      dropped: Object.fromEntries(dropped),
      droppedTotal: [...dropped.values()].reduce((a, b) => a + b, 0),
    },
    heldByAnotherWorker: held,
  };
}

/** The original's per-region flags: --queue-us-east-1 URL and so on. */
const regionOption = (region: string) => new Option(`--queue-${region} <url>`, `the ${region} queue URL (the original's flag)`).argParser(queueUrl);

const regionQueue = (value: string, previous: string[] = []) => {
  const [region, url] = value.split(/=(.*)/s);
  if (!region || !url) throw new Error(`--queue wants REGION=URL, got "${value}"`);
  queueUrl(url);
  return [...previous, `${region}=${url}`];
};

export function consumeCommand(): Command {
  const command = new Command('consume')
    .description("drain the regional queues and print the distribution (the original's consumer)")
    .option('--max-messages <n>', 'messages per receive call (1-10)', positiveInt('--max-messages', 10), 10)
    .option('--wait <seconds>', 'long-poll time of each receive', seconds('--wait'), 1)
    .option('--queue <region=url...>', 'a regional queue on AWS (repeatable)', regionQueue)
    .option('--table <name>', "the idempotency table of the dispatch fence (default: the local stack's or the stage's)")
    .option('--no-fence', 'drain without the dispatch fence: every copy is counted, none dropped')
    .option('--json', 'print the distribution as JSON on stdout (shape below; progress stays on stderr)')
    .addHelpText('after', helpText(`
--json prints { "regions": [ { "region", "count" } ], "total", "fence": { "on": boolean, "why" (when off),
"table" (when on), "dropped": { <reason>: count }, "droppedTotal" }, "heldByAnotherWorker" }.`));
  for (const { region } of DEFAULT_REGIONS) command.addOption(regionOption(region));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: ConsumeOptions) => {
    const given = [
      ...DEFAULT_REGIONS.map(({ region }) => [region, options[regionOption(region).attributeName()]] as const).filter(
        ([, url]) => typeof url === 'string',
      ),
      ...(options.queue ?? []).map((entry) => entry.split(/=(.*)/s) as unknown as readonly [string, string]),
    ] as Array<readonly [string, string]>;
    let setup: FenceSetup;
    let queues: Array<{ region: string; url: string; client: SQSClient; lane?: string }>;
    if (given.length) {
      queues = given.map(([region, url]) => ({ region, url, client: clientForQueueUrl(url, { ...options, region: options.region ?? region }) }));
      setup = fenceForUrls(options, queues.map((q) => q.url));
    } else {
      const target = await resolveTarget(options);
      // Both lanes of a region, the high lane first (core/lanes.ts); counted together per region.
      queues = target.regions.flatMap((r) => [
        ...(r.highQueueUrl ? [{ region: r.region, url: r.highQueueUrl, client: target.sqs(r.region), lane: 'high' }] : []),
        { region: r.region, url: r.queueUrl, client: target.sqs(r.region) },
      ]);
      const tableName = options.table ?? target.tableName;
      setup = !options.fence
        ? { on: false, why: '--no-fence' }
        : tableName
          ? { on: true, tableName, fence: Fence.dynamo(target.dynamo(), tableName) }
          : { on: false, why: `${target.description} names no idempotency table (--table NAME)` };
    }
    /** Copies without the dispatch attributes (identified by the body's request_id / their message id). */
    const fallbacks = new Set<string>();
    const accept = setup.on
      ? fenced(async () => undefined, {
          fence: setup.fence,
          workerId: `consume-${hostname()}-${process.pid}`,
          leaseSeconds: CONSUME_LEASE_SECONDS,
          onWarning: (message, detail) => {
            if (detail.kind === 'fallback') fallbacks.add(`${String(detail.requestId)} ${String(detail.token)}`);
            else process.stderr.write(`dispatch fence: ${message}\n`);
          },
        })
      : undefined;
    const counts: Array<readonly [string, number]> = [];
    const dropped = new Map<DropReason, number>();
    let held = 0;
    try {
      for (const { region, url, client, lane } of queues) {
        process.stderr.write(`draining ${region}${lane ? ` (${lane} lane)` : ''} ... `);
        if (!accept) {
          const n = await drainQueue(client, url, options.maxMessages, options.wait);
          process.stderr.write(`${n}\n`);
          counts.push([region, n]);
          continue;
        }
        const drained = await drainQueueFenced(client, url, options.maxMessages, options.wait, accept);
        const droppedHere = [...drained.dropped.values()].reduce((a, b) => a + b, 0);
        process.stderr.write(`${drained.processed}${droppedHere ? ` (+${droppedHere} dropped by the fence)` : ''}${drained.held ? ` (${drained.held} held by another worker, left)` : ''}\n`);
        counts.push([region, drained.processed]);
        for (const [reason, n] of drained.dropped) dropped.set(reason, (dropped.get(reason) ?? 0) + n);
        held += drained.held;
      }
    } finally {
      if (setup.on) setup.close?.();
    }
    if (fallbacks.size) {
      process.stderr.write(
        `${plural(fallbacks.size, 'copy', 'copies')} without the dispatch message attributes: fenced by the body's request_id and the SQS message id\n`,
      );
    }
    if (options.json) {
      console.log(JSON.stringify(consumeJson(perRegion(counts), setup, dropped, held), null, 2));
      return;
    }
    console.log(distributionTable(perRegion(counts)));
    print(fenceLine(setup, dropped));
    if (held) print(`Left in the queues: ${plural(held, 'copy', 'copies')} held by another worker`);
  });
}
