/** `send`: the original's producer. Inference requests to the master queue, locally or on AWS. */
import { readFileSync } from 'node:fs';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Command, Option } from 'commander';
import { parseRequest, type Priority } from '../../../core/request.js';
import { helpText, print } from '../layout.js';
import { makeRequest } from '../../ops/requests.js';
import { awsOptions, positiveInt, priority, queueUrl, seconds } from '../options.js';
import { progress } from '../progress.js';
import { stderrProgress } from '../stderr-progress.js';
import { clientForQueueUrl, resolveTarget } from '../target.js';

interface SendOptions {
  count: number;
  interval: number;
  duplicate?: boolean;
  requestId: string;
  priority: Priority;
  model?: string;
  file?: string;
  json?: boolean;
  queueUrl?: string;
  stage?: string;
  profile?: string;
  region?: string;
}

/** A file's lines to send, and what was said about the others. */
export interface FileBodies {
  readonly bodies: string[];
  /** One per line worth a word, in line order: skipped lines, and invalid requests sent anyway. */
  readonly warnings: string[];
  /** Why each skipped line was skipped, counted by kind. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Sent lines that are not valid requests: the dispatcher dead-letters them. */
  readonly invalid: number;
}

/** SQS accepts only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF in a body; a send with others fails. */
const SQS_REFUSED_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BOM = '\uFEFF';

const codePoint = (char: string) => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Why a line cannot be sent as it is, or undefined when it can. */
function unsendable(line: string): { kind: string; why: string } | undefined {
  if (/^[ \t\r]*$/.test(line)) return { kind: 'blank', why: 'blank' };
  const refused = SQS_REFUSED_CHAR.exec(line);
  if (refused) {
    return { kind: 'unsendable', why: `holds ${codePoint(refused[0])} at column ${refused.index + 1}, which SQS does not accept in a message body` };
  }
  return undefined;
}

/**
 * The lines of a JSON-lines file, each sent as it is. Lines that cannot be sent (blank, not UTF-8, characters
 * SQS refuses) are skipped with a warning; lines that are not valid requests are sent all the same, since
 * sending bad input is how the dispatch DLQ is tested, with a warning saying where they will end up.
 */
/** A body's priority field, if it is JSON with one; the intake validates the rest. */
function priorityOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { priority?: unknown } | null)?.priority;
  } catch {
    return undefined;
  }
}

export function linesToSend(bytes: Uint8Array): FileBodies {
  const bodies: string[] = [];
  const warnings: string[] = [];
  const skipped: Record<string, number> = {};
  let invalid = 0;
  const skip = (n: number, kind: string, why: string) => {
    warnings.push(`line ${n}: ${why}: skipped`);
    skipped[kind] = (skipped[kind] ?? 0) + 1;
  };
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  for (let n = 1; start < raw.length; n++) {
    const newline = raw.indexOf(0x0a, start);
    const end = newline < 0 ? raw.length : newline;
    const chunk = raw.subarray(start, end > start && raw[end - 1] === 0x0d ? end - 1 : end);
    start = end + 1;
    let line: string;
    try {
      line = UTF8.decode(chunk);
    } catch {
      skip(n, 'not UTF-8', 'not valid UTF-8 (an SQS body is text)');
      continue;
    }
    // A BOM opening the file marks its encoding (editors add one); it is not part of the first request.
    if (n === 1 && line.startsWith(BOM)) {
      line = line.slice(1);
      warnings.push("line 1: byte-order mark at the start of the file removed (it marks the file's encoding, not the request)");
    }
    const problem = unsendable(line);
    if (problem) {
      skip(n, problem.kind, problem.why);
      continue;
    }
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      invalid++;
      warnings.push(`line ${n}: not a valid request (${parsed.reason}): sent anyway, expect it in the dispatch DLQ`);
    }
    bodies.push(line);
  }
  return { bodies, warnings, skipped, invalid };
}

/** linesToSend on a file's contents. */
export function bodiesFromFile(path: string): FileBodies {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  return linesToSend(bytes);
}

/** One line for the end of a send: how the file's lines were used. */
export function fileSummary(path: string, read: FileBodies): string {
  const kinds = Object.entries(read.skipped);
  const skipped = kinds.reduce((sum, [, count]) => sum + count, 0);
  const invalid = read.invalid ? ` (${read.invalid} not valid, expect them in the dispatch DLQ)` : '';
  const why = kinds.length ? ` (${kinds.map(([kind, count]) => `${count} ${kind}`).join(', ')})` : '';
  return `${path}: ${read.bodies.length} line(s) sent${invalid}, ${skipped} skipped${why}`;
}

/** Up to this many request_ids, the text report lists every one; above it, the first ones and a count (--json lists all). */
export const IDS_LISTED = 20;

/**
 * The request_ids sent, for the text report: each distinct one in the order sent (a repeated one once,
 * with how many times), every one up to IDS_LISTED, else the first IDS_LISTED and how many more.
 */
export function formatSentIds(requestIds: readonly (string | null)[]): string {
  const counts = new Map<string, number>();
  for (const id of requestIds) counts.set(id ?? '(invalid)', (counts.get(id ?? '(invalid)') ?? 0) + 1);
  const shown = [...counts].map(([id, n]) => (n > 1 ? `${id} (x${n})` : id));
  const label = shown.length === 1 ? 'request_id' : `request_ids (${shown.length})`;
  if (shown.length <= IDS_LISTED) return `${label}: ${shown.join(', ')}`;
  return `${label}: ${shown.slice(0, IDS_LISTED).join(', ')} ... and ${shown.length - IDS_LISTED} more (--json lists every one)`;
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
    .option('--json', 'print what was sent as JSON on stdout, every request_id (shape below); progress goes to stderr')
    .addOption(new Option('--queue-url <url>', 'send to this queue on AWS instead of the local stack').argParser(queueUrl));
  command.addHelpText(
    'after',
    helpText(`
The report lists every request_id sent when there are at most ${IDS_LISTED} distinct ones (a repeated one
once, with its count), else the first ${IDS_LISTED} and how many more; --json lists every one.

--json prints { "target", "queueUrl", "highQueueUrl" (high-priority requests go there; absent with
--queue-url), "sent", "seconds", "messages": [ { "requestId" (null for a line that is not a valid
request), "messageId", "queueUrl" } ], "file": { "path", "sent", "invalid", "skipped" } (with --file) }.`),
  );
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: SendOptions) => {
    // With --json, stdout is the JSON alone: what would be said there goes to stderr.
    const say = options.json ? (text: string) => console.error(text) : print;
    // The file first: its warnings stand on their own, whether or not a queue is reachable.
    let read: FileBodies | undefined;
    if (options.file) {
      read = bodiesFromFile(options.file);
      for (const warning of read.warnings) console.error(`warning: ${warning}`);
      if (!read.bodies.length) throw new Error(`${options.file} holds no requests to send (one JSON object per line)`);
    }
    let client: SQSClient;
    let url: string;
    let where: string;
    /** The master queue's high lane, where high-priority requests go (core/lanes.ts); none with --queue-url. */
    let highUrl: string | undefined;
    if (options.queueUrl) {
      client = clientForQueueUrl(options.queueUrl, options);
      url = options.queueUrl;
      where = url;
    } else {
      const target = await resolveTarget(options);
      client = target.sqs(target.homeRegion);
      url = target.masterQueueUrl as string;
      highUrl = target.masterHighQueueUrl;
      where = `${target.description}: ${url}${highUrl ? ` (high priority: ${highUrl})` : ''}`;
    }
    const laneOfBody = (body: string): string => (highUrl && priorityOf(body) === 'high' ? highUrl : url);
    const bodies =
      read?.bodies ??
      Array.from({ length: options.count }, (_, i) =>
        JSON.stringify(
          makeRequest(i, {
            priority: options.priority,
            ...(options.model ? { model: options.model } : {}),
            ...(options.duplicate ? { requestId: options.requestId } : {}),
          }),
        ),
      );
    say(`sending ${bodies.length} request(s) to ${where}`);
    const onStderr = stderrProgress('sending');
    const bar = options.json ? { update: (value: number) => onStderr.update(value, bodies.length), stop: () => onStderr.stop() } : progress('sent', bodies.length);
    const started = Date.now();
    const sent: Array<{ messageId: string; queueUrl: string }> = [];
    for (const [i, body] of bodies.entries()) {
      if (i > 0 && options.interval > 0) await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
      const queueUrl = laneOfBody(body);
      const answer = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      sent.push({ messageId: answer.MessageId ?? '?', queueUrl });
      bar.update(i + 1);
    }
    bar.stop();
    const requestIds = bodies.map((b) => {
      const parsed = parseRequest(b);
      return parsed.ok ? parsed.request.request_id : null;
    });
    const seconds = (Date.now() - started) / 1000;
    if (options.json) {
      console.log(
        JSON.stringify(
          {
            target: where,
            queueUrl: url,
            ...(highUrl ? { highQueueUrl: highUrl } : {}),
            sent: bodies.length,
            seconds,
            messages: sent.map((m, i) => ({ requestId: requestIds[i] ?? null, ...m })),
            ...(read && options.file
              ? { file: { path: options.file, sent: read.bodies.length, invalid: read.invalid, skipped: read.skipped } }
              : {}),
          },
          null,
          2,
        ),
      );
    } else {
      print(`sent ${bodies.length} message(s) in ${seconds.toFixed(1)} s`);
      print(formatSentIds(requestIds));
      if (read && options.file) print(fileSummary(options.file, read));
    }
    client.destroy();
  });
}
