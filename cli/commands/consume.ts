/** `consume`: the original's consumer. Drains the regional queues and prints the distribution table. */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Command, Option } from 'commander';
import { DEFAULT_REGIONS } from '../../core/topology.js';
import { distributionTable } from '../distribution.js';
import { awsOptions, positiveInt, queueUrl, seconds } from '../options.js';
import { clientForQueueUrl, resolveTarget } from '../target.js';

interface ConsumeOptions {
  maxMessages: number;
  wait: number;
  queue?: string[];
  stage?: string;
  profile?: string;
  region?: string;
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
    .option('--queue <region=url...>', 'a regional queue on AWS (repeatable)', regionQueue);
  for (const { region } of DEFAULT_REGIONS) command.addOption(regionOption(region));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: ConsumeOptions) => {
    const given = [
      ...DEFAULT_REGIONS.map(({ region }) => [region, options[regionOption(region).attributeName()]] as const).filter(
        ([, url]) => typeof url === 'string',
      ),
      ...(options.queue ?? []).map((entry) => entry.split(/=(.*)/s) as unknown as readonly [string, string]),
    ] as Array<readonly [string, string]>;
    const queues = given.length
      ? given.map(([region, url]) => ({ region, url, client: clientForQueueUrl(url, { ...options, region: options.region ?? region }) }))
      : (() => {
          const target = resolveTarget(options);
          return target.regions.map((r) => ({ region: r.region, url: r.queueUrl, client: target.sqs(r.region) }));
        })();
    const counts: Array<readonly [string, number]> = [];
    for (const { region, url, client } of queues) {
      process.stderr.write(`draining ${region} ... `);
      const n = await drainQueue(client, url, options.maxMessages, options.wait);
      process.stderr.write(`${n}\n`);
      counts.push([region, n]);
    }
    console.log(distributionTable(counts));
  });
}
