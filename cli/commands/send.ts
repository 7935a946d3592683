/** `send`: the original's producer. Inference requests to the master queue, locally or on AWS. */
import { readFileSync } from 'node:fs';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Command, Option } from 'commander';
import { parseRequest, type Priority } from '../../core/request.js';
import { makeRequest } from '../requests.js';
import { awsOptions, positiveInt, priority, queueUrl, seconds } from '../options.js';
import { progress } from '../progress.js';
import { clientForQueueUrl, resolveTarget } from '../target.js';

interface SendOptions {
  count: number;
  interval: number;
  duplicate?: boolean;
  requestId: string;
  priority: Priority;
  model?: string;
  file?: string;
  queueUrl?: string;
  stage?: string;
  profile?: string;
  region?: string;
}

/** Bodies from a JSON-lines file; lines that are not valid requests are reported and sent all the same. */
export function bodiesFromFile(path: string): { bodies: string[]; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  const bodies: string[] = [];
  const warnings: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const parsed = parseRequest(line);
    if (!parsed.ok) warnings.push(`line ${i + 1}: ${parsed.reason} (sent anyway: the dispatcher will dead-letter it)`);
    bodies.push(line);
  });
  if (!bodies.length) throw new Error(`${path} holds no requests (one JSON object per line)`);
  return { bodies, warnings };
}

export function sendCommand(): Command {
  const command = new Command('send')
    .description("send inference requests to the master queue (the original's producer)")
    .option('--count <n>', 'how many requests', positiveInt('--count', 100_000), 30)
    .option('--interval <seconds>', 'pause between two sends', seconds('--interval'), 0.2)
    .option('--duplicate', 'send the same request_id every time (idempotency test)')
    .option('--request-id <id>', 'the request_id used with --duplicate', 'test-dup-001')
    .option('--priority <priority>', 'high, normal or low', priority, 'normal' as Priority)
    .option('--model <name>', 'model_name of the requests')
    .option('--file <path>', 'send the requests of a JSON-lines file, one per line, as they are')
    .addOption(new Option('--queue-url <url>', 'send to this queue on AWS instead of the local stack').argParser(queueUrl));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: SendOptions) => {
    let client: SQSClient;
    let url: string;
    let where: string;
    if (options.queueUrl) {
      client = clientForQueueUrl(options.queueUrl, options);
      url = options.queueUrl;
      where = url;
    } else {
      const target = resolveTarget(options);
      client = target.sqs(target.homeRegion);
      url = target.masterQueueUrl as string;
      where = `${target.description}: ${url}`;
    }
    let bodies: string[];
    if (options.file) {
      const read = bodiesFromFile(options.file);
      for (const warning of read.warnings) console.error(`warning: ${warning}`);
      bodies = read.bodies;
    } else {
      bodies = Array.from({ length: options.count }, (_, i) =>
        JSON.stringify(
          makeRequest(i, {
            priority: options.priority,
            ...(options.model ? { model: options.model } : {}),
            ...(options.duplicate ? { requestId: options.requestId } : {}),
          }),
        ),
      );
    }
    console.log(`sending ${bodies.length} request(s) to ${where}`);
    const bar = progress('sent', bodies.length);
    const started = Date.now();
    const ids: string[] = [];
    for (const [i, body] of bodies.entries()) {
      if (i > 0 && options.interval > 0) await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
      const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
      ids.push(sent.MessageId ?? '?');
      bar.update(i + 1);
    }
    bar.stop();
    const requestIds = bodies.map((b) => (parseRequest(b).ok ? (JSON.parse(b) as { request_id: string }).request_id : '(invalid)'));
    console.log(`sent ${bodies.length} message(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`request_id: ${requestIds[0]}${requestIds.length > 1 ? ` ... ${requestIds.at(-1)}` : ''}`);
    client.destroy();
  });
}
