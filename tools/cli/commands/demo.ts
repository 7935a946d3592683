/**
 * `demo` (also `npm start`): the whole dispatch on this machine. Starts the local stack, sends a mixed
 * load (unique requests, duplicates, malformed ones), shows live progress and per-region depth, and ends
 * with the distribution, the duplicates dropped, the DLQ with reasons, and one execution step by step.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { executionOutputSchema } from '../../../core/outcomes.js';
import { DEFAULT_REGIONS, HOME_REGION, MAX_RECEIVE_COUNT } from '../../../core/topology.js';
import { workerFleet } from '../../local/fleet/fleet.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../local/resources.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { distributionTable } from '../distribution.js';
import { nonNegativeInt, positiveInt, seconds } from '../options.js';
import { regionNameFor } from '../regions.js';
import { makeRequest, MALFORMED_BODIES } from '../../ops/requests.js';
import { removeStackFile, writeStackFile } from '../stack-file.js';
import { stopOnSignals, type SignalGuard } from '../shutdown.js';
import { formatSummary, summarizeSteps, toSteps } from '../steps.js';
import { drainQueue } from './consume.js';
import { executionHistory } from '../../ops/executions.js';
import { formatMessagesSection } from './executions.js';
import { batchMessages, failoversAcross, formatRoutes } from '../batch-messages.js';
import { outputWidth, print } from '../layout.js';
import { consoleLine, consoleOptions, describeStack, startStackConsole, type ConsoleFlags } from './up.js';

interface DemoOptions extends ConsoleFlags {
  count: number;
  duplicates: number;
  malformed: number;
  interval: number;
  secondsPerRequest: number;
  timeout: number;
  failRegion?: string;
  keep?: boolean;
}

/** Workers per region: unequal on purpose, so capacity-aware placement shows in the distribution. */
const WORKERS: Record<string, number> = { 'us-east-1': 3, 'us-west-2': 2, 'us-west-1': 1 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The demo's load, shuffled: unique requests, repeats of some of them, malformed bodies. */
export function demoLoad(count: number, duplicates: number, malformed: number): { bodies: string[]; uniqueIds: string[] } {
  const unique = Array.from({ length: count }, (_, i) =>
    makeRequest(i, { requestId: `req-demo-${String(i + 1).padStart(4, '0')}`, priority: i % 10 === 0 ? 'high' : 'normal' }),
  );
  const repeats = Array.from({ length: duplicates }, (_, i) => unique[(i * 7) % Math.max(1, count)]).filter(Boolean);
  const bad = Array.from({ length: malformed }, (_, i) => MALFORMED_BODIES[i % MALFORMED_BODIES.length] as string);
  const bodies = [...unique.map((r) => JSON.stringify(r)), ...repeats.map((r) => JSON.stringify(r)), ...bad];
  // Repeats and malformed ones spread through the load, deterministically.
  const order = bodies.map((body, i) => ({ body, key: (i * 7919) % bodies.length }));
  order.sort((a, b) => a.key - b.key);
  return { bodies: order.map((o) => o.body), uniqueIds: unique.map((r) => r.request_id as string) };
}

async function depth(client: SQSClient, queueUrl: string): Promise<number> {
  try {
    const { Attributes: a = {} } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
  } catch {
    return Number.NaN;
  }
}

interface Live {
  update(resolved: number, depths: Record<string, number>, processed: Record<string, number>): void;
  stop(): void;
}

function liveView(total: number, regions: readonly string[]): Live {
  if (process.stdout.isTTY) {
    const bars = new cliProgress.MultiBar(
      { format: '{label} [{bar}] {value}/{total} {note}', hideCursor: true, clearOnComplete: false, barsize: 30 },
      cliProgress.Presets.shades_classic,
    );
    const main = bars.create(total, 0, { label: 'resolved        ', note: '' });
    const perRegion = Object.fromEntries(regions.map((r) => [r, bars.create(total, 0, { label: `${r} depth`.padEnd(16), note: '' })]));
    return {
      update(resolved, depths, processed) {
        main.update(resolved, { note: 'master messages done (dispatched, duplicate or dead-lettered)' });
        for (const r of regions) perRegion[r]?.update(Number.isNaN(depths[r]) ? 0 : (depths[r] ?? 0), { note: `processed ${processed[r] ?? 0}` });
      },
      stop: () => bars.stop(),
    };
  }
  let last = 0;
  return {
    update(resolved, depths, processed) {
      if (Date.now() - last < 1000 && resolved < total) return;
      last = Date.now();
      const regionText = regions.map((r) => `${r} depth ${depths[r] ?? 0} done ${processed[r] ?? 0}`).join(' | ');
      console.log(`resolved ${resolved}/${total} | ${regionText}`);
    },
    stop() {},
  };
}

async function sendAll(
  client: SQSClient,
  queueUrl: string,
  bodies: readonly string[],
  intervalSeconds: number,
  onSent: (count: number) => void,
): Promise<void> {
  // Batches of 5 with a pause between, so that the load arrives over time and depths move.
  for (let i = 0; i < bodies.length; i += 5) {
    const chunk = bodies.slice(i, i + 5);
    await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((body, j) => ({ Id: String(j), MessageBody: body })) }));
    onSent(i + chunk.length);
    if (intervalSeconds > 0) await sleep(intervalSeconds * 1000);
  }
}

async function report(
  stack: LocalStack,
  uniqueIds: readonly string[],
  sentValid: number,
  delivered: Map<string, string[]>,
  dropped: number,
): Promise<boolean> {
  const d = stack.description;
  const dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  const regionOf = new Map<string, string>();
  for (const id of uniqueIds) {
    const { Item } = await dynamo.send(new GetItemCommand({ TableName: d.tableName, Key: { request_id: { S: id } }, ConsistentRead: true }));
    if (Item?.status?.S === 'DISPATCHED' && Item.region?.S) regionOf.set(id, Item.region.S);
  }
  dynamo.destroy();

  // What is still queued counts as delivered too: drain it.
  for (const region of d.regions) {
    const client = sqsAt(region.region, d.endpoints.sqs[region.region] as string);
    // Both lanes (core/lanes.ts).
    const left = (await drainQueue(client, region.queueUrl, 10, 0)) + (region.highQueueUrl ? await drainQueue(client, region.highQueueUrl, 10, 0) : 0);
    if (left) delivered.set(`(queued in ${region.region})`, Array.from({ length: left }, () => region.region));
    client.destroy();
  }

  console.log('');
  console.log(distributionTable(d.regions.map((r) => [r.region, [...regionOf.values()].filter((x) => x === r.region).length] as const)));

  const deliveries = [...delivered.values()].flat().length;
  const duplicatesDelivered = [...delivered.entries()].filter(([id, regions]) => !id.startsWith('(') && regions.length > 1);
  console.log('');
  console.log(`requests sent         ${uniqueIds.length} unique + ${sentValid - uniqueIds.length} repeats`);
  console.log(`dispatched            ${regionOf.size} of ${uniqueIds.length} unique requests`);
  const failovers = failoversAcross(stack.stepFunctions.executions().map((e) => e.output), d.regions.map((r) => r.region));
  print(`failed over           ${failovers.total} (${failovers.total ? formatRoutes(failovers.routes) : 'dispatched elsewhere after their region refused'})`);
  console.log(`duplicates dropped    ${sentValid - regionOf.size} (repeated request_id, forwarded once)`);
  console.log(`delivered to workers  ${deliveries} (each dispatched request exactly once: ${duplicatesDelivered.length === 0 && deliveries === regionOf.size ? 'yes' : 'NO'})`);
  console.log(`dropped by the fence  ${dropped} (second copies a worker refused to process; 0 without faults)`);

  const home = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
  const reasons = new Map<string, number>();
  for (;;) {
    const { Messages = [] } = await home.send(new ReceiveMessageCommand({ QueueUrl: d.dispatchDeadLetterQueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['reason'] }));
    if (!Messages.length) break;
    for (const m of Messages) {
      const reason = m.MessageAttributes?.reason?.StringValue ?? '(no reason)';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
  }
  const deadLettered = [...reasons.values()].reduce((a, b) => a + b, 0);
  console.log(`dead-lettered         ${deadLettered} (dispatch DLQ), with reasons:`);
  for (const [reason, n] of reasons) print(`  ${n} x ${reason}`);
  const masterDlq = await depth(home, d.masterDeadLetterQueueUrl);
  console.log(`master DLQ            ${masterDlq} (messages that failed ${MAX_RECEIVE_COUNT} receives)`);
  home.destroy();
  return duplicatesDelivered.length === 0 && deliveries === regionOf.size && regionOf.size === uniqueIds.length;
}

async function showOneExecution(stack: LocalStack): Promise<void> {
  const executions = stack.stepFunctions.executions().filter((e) => e.status === 'SUCCEEDED');
  // The most telling one: a failover if there was one, else the biggest batch.
  const pick =
    executions.find((e) => JSON.stringify(e.output ?? '').includes('"failedOver":true')) ??
    [...executions].sort((a, b) => JSON.stringify(b.input).length - JSON.stringify(a.input).length)[0];
  if (!pick) return;
  const sfn = new SFNClient({ region: HOME_REGION, endpoint: stack.description.endpoints.stepFunctions, credentials: LOCAL_CREDENTIALS, disableHostPrefix: true });
  const steps = toSteps(await executionHistory(sfn, pick.executionArn));
  sfn.destroy();
  const outcomes = executionOutputSchema.safeParse(pick.output);
  const messages = outcomes.success ? outcomes.data.skipped.length + outcomes.data.forwarded.flat().length : '?';
  console.log(`\n${executions.length} executions ran. One of them (${pick.name}, ${messages} messages), state by state:`);
  console.log('    (xN: visits, one per message in a Map; the time is the slowest visit)\n');
  console.log(formatSummary(summarizeSteps(steps)));
  // What became of each message, named as it happened (a failover says from where).
  const table = batchMessages(pick.output, { regions: stack.description.regions.map((r) => r.region), steps });
  if (table) console.log(`\n${formatMessagesSection(table, outputWidth())}`);
}

export function demoCommand(): Command {
  return consoleOptions(new Command('demo'))
    .description('run the whole dispatch locally on a mixed load and report what happened (npm start)')
    .option('--count <n>', 'unique requests', positiveInt('--count', 5000), 60)
    .option('--duplicates <n>', 'repeats of already-sent request_ids', nonNegativeInt('--duplicates'), 6)
    .option('--malformed <n>', 'malformed messages (they must end in the DLQ)', nonNegativeInt('--malformed'), 4)
    .option('--interval <s>', 'pause between send batches of 5', seconds('--interval'), 0.1)
    .option('--seconds-per-request <s>', 'simulated inference time per request', seconds('--seconds-per-request'), 0.3)
    .option('--timeout <s>', 'give up waiting after this long', positiveInt('--timeout', 3600), 50)
    .option('--fail-region <region>', 'make this region refuse every send, to watch failover', regionNameFor)
    .option('--keep', 'keep the stack and its web console running afterwards (Ctrl-C stops them)')
    .action(async (options: DemoOptions) => {
      const started = Date.now();
      const delivered = new Map<string, string[]>();
      const processed: Record<string, number> = {};
      let dropped = 0;
      const stack = await startLocalStack({
        onDropped: () => void dropped++,
        regions: DEFAULT_REGIONS.map((r) => ({ ...r, capacity: WORKERS[r.region] ?? 1 })),
        masterVisibilitySeconds: 5,
        pollers: 2,
        workers: Object.fromEntries(DEFAULT_REGIONS.map((r) => [r.region, { workers: WORKERS[r.region] ?? 1, secondsPerRequest: options.secondsPerRequest }])),
        onProcessed(region, body) {
          processed[region] = (processed[region] ?? 0) + 1;
          const id = (() => {
            try {
              return String((JSON.parse(body) as { request_id?: string }).request_id);
            } catch {
              return '(unreadable)';
            }
          })();
          delivered.set(id, [...(delivered.get(id) ?? []), region]);
        },
      });
      // With --keep, the web console serves from the start, so the demo can be watched in it.
      const fleet = options.keep ? workerFleet(stack, { secondsPerRequest: options.secondsPerRequest }) : undefined;
      const web = options.keep ? await startStackConsole(stack, options, 0, fleet) : undefined;
      let ok = false;
      let signals: SignalGuard | undefined;
      try {
        const d = stack.description;
        console.log(`local stack up in ${Date.now() - started} ms:\n${describeStack(d)}${web ? `\n${consoleLine(web)}` : ''}\n`);
        if (options.failRegion) {
          stack.sqsServers[options.failRegion]?.failActions(['SendMessageBatch']);
          console.log(`${options.failRegion} refuses every send: its messages are retried, then fail over.\n`);
        }
        const { bodies, uniqueIds } = demoLoad(options.count, options.duplicates, options.malformed);
        console.log(
          `sending ${bodies.length} messages: ${options.count} unique requests, ${options.duplicates} repeats, ${options.malformed} malformed; ` +
            `workers per region: ${Object.entries(WORKERS).map(([r, n]) => `${r} ${n}`).join(', ')}\n`,
        );
        const home = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
        const clients = Object.fromEntries(d.regions.map((r) => [r.region, sqsAt(r.region, d.endpoints.sqs[r.region] as string)]));
        const live = liveView(bodies.length, d.regions.map((r) => r.region));
        let sentCount = 0;
        const sending = sendAll(home, d.masterQueueUrl, bodies, options.interval, (n) => (sentCount = n));
        const deadline = Date.now() + options.timeout * 1000;
        // A master message is resolved once the intake deleted it (dispatched, duplicate or dead-lettered):
        // sent minus what the master queue still holds, visible or in flight.
        let resolved = 0;
        for (;;) {
          const [master, ...regional] = await Promise.all([
            depth(home, d.masterQueueUrl),
            // A region's depth is both its lanes' (core/lanes.ts).
            ...d.regions.map(async (r) =>
              (await depth(clients[r.region] as SQSClient, r.queueUrl)) + (r.highQueueUrl ? await depth(clients[r.region] as SQSClient, r.highQueueUrl) : 0),
            ),
          ]);
          const depths = Object.fromEntries(d.regions.map((r, i) => [r.region, regional[i] as number]));
          if (!Number.isNaN(master)) resolved = Math.max(0, sentCount - (master as number));
          live.update(resolved, depths, processed);
          const idle = Object.values(depths).every((n) => n === 0);
          if ((sentCount === bodies.length && resolved === bodies.length && idle) || Date.now() > deadline) break;
          await sleep(250);
        }
        await sending;
        live.stop();
        home.destroy();
        for (const client of Object.values(clients)) client.destroy();
        if (resolved < bodies.length) console.log(`\ntimed out after ${options.timeout} s with ${bodies.length - resolved} messages unresolved`);
        ok = (await report(stack, uniqueIds, options.count + options.duplicates, delivered, dropped)) && resolved >= bodies.length;
        await showOneExecution(stack);
        console.log(`\ndemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s: ${ok ? 'every request accounted for' : 'SOMETHING IS MISSING (see above)'}`);
        if (options.keep) {
          writeStackFile({ ...d, ...(web ? { consoleUrl: web.url } : {}) });
          console.log('\nthe stack keeps running; in another terminal try:');
          console.log('  npm run cli -- executions');
          console.log('  npm run cli -- inspect <name>');
          console.log(`  npm run cli -- status ${uniqueIds[0]}`);
          if (web) console.log(`or open the web console: ${web.url}`);
          console.log('Ctrl-C stops it.');
          // As `up`: a second press does not cut the stop short, a third forces the exit (shutdown.ts).
          signals = stopOnSignals({ force: () => removeStackFile() });
          await signals.requested;
          console.log('\nstopping ... (Ctrl-C again does not interrupt this)');
          removeStackFile();
        } else {
          console.log('\nto explore afterwards: npm run cli -- demo --keep, then executions / inspect <name> / status <request_id>');
        }
      } finally {
        await web?.stop();
        await fleet?.stop();
        await stack.stop();
        signals?.finished();
      }
      if (!ok) process.exitCode = 1;
    });
}
