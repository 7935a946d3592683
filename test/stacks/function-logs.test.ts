/**
 * No message body, no metadata value and no input_data_url in the functions' logs: only identifiers
 * (request ids, message ids, batch and execution names, regions), counts and reasons. docs/deploy.md,
 * Security, states the rule; this is its check.
 *
 * The four handlers run here as Lambda runs them (intake invoked with SQS events, the task functions
 * called by the dispatch definition on the local stack), at LOG_LEVEL=DEBUG, on batches mixing valid
 * requests, a repeat, invalid bodies of every kind, a redelivery, a region refusing sends, a region
 * whose depth cannot be read, an execution that fails with a cause quoting its input (as AWS's
 * States.Runtime causes do), and Step Functions unreachable. Everything written to stdout and stderr
 * (where Powertools' logger writes, functions/logger.ts) and to the console is captured. Every field of
 * every request carries a canary that must never show up; and no run of more than QUOTE_LIMIT
 * characters of any body may show up, identifiers aside.
 *
 * Reasons may quote a short part of a body: JSON.parse's message (V8) shows at most 20 characters of
 * the text (10 either side of the error; a text under 21 characters whole, which no valid request is).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceNames } from '../../core/topology.js';
import { LOGGED_TEXT_CHARS } from '../../functions/intake.js';
import { clearSnapshotCache } from '../../functions/snapshot.js';
import { createDispatchRunner, createLocalIntake, type LocalIntake, type RunnerSetup } from '../../tools/local/dispatch.js';
import { startStepFunctionsEndpoint, type StepFunctionsEndpoint } from '../../tools/local/emulators/sfn-endpoint.js';
import { startLocalAws, type LocalAws, type LocalFaults } from '../support/local-aws.js';
import { sqsRecord } from '../support/sqs-event.js';

/** What a reason may quote of a body: V8's JSON.parse messages show at most 20 characters of the text. */
const QUOTE_LIMIT = 20;

let aws: LocalAws & { readonly faults: LocalFaults };
let setup: RunnerSetup;
let sfn: StepFunctionsEndpoint;
/** The intakes made, the last one the one invoked. */
const intakes: LocalIntake[] = [];
let failingSfn: Server;
/** How the fake Step Functions endpoint answers: a States.Runtime failure, or a success whose output is not the workflow's. */
let failingMode: 'runtime-error' | 'unreadable-output' = 'runtime-error';

/** Every canary planted in a body, by the field it stands for. */
const canaries: { field: string; value: string }[] = [];
/** Identifiers: allowed in the logs even where a body holds them. */
const identifiers = new Set<string>();
const bodies: string[] = [];
/** Everything the functions wrote while the scenarios ran. */
const captured: string[] = [];

const secret = (field: string) => {
  const value = `S3CR3T${field.replace(/[^A-Za-z0-9]/g, '')}${randomBytes(8).toString('hex')}`;
  canaries.push({ field, value });
  return value;
};

function validBody(requestId: string): string {
  identifiers.add(requestId);
  return JSON.stringify({
    request_id: requestId,
    model_name: `model-${secret('model_name')}`,
    input_data_url: `s3://inputs-bucket/${secret('input_data_url')}/input.json`,
    callback_sns_topic: `arn:aws:sns:us-east-1:123456789012:${secret('callback_sns_topic')}`,
    priority: 'high',
    timestamp: '2025-12-02T10:23:00Z',
    metadata: { user_id: secret('metadata.user_id'), api_key: secret('metadata.api_key'), nested: { note: secret('metadata.nested') } },
    prompt: secret('unknown field'),
  });
}

/** Invalid bodies, each refused for a different reason, each holding secrets. */
function invalidBodies(tag: string): string[] {
  const dupA = `req-${tag}-dup-a`;
  const dupB = `req-${tag}-dup-b`;
  [dupA, dupB].forEach((id) => identifiers.add(id));
  const request = (extra: Record<string, unknown>) => ({ ...JSON.parse(validBody(`req-${tag}-${randomUUID().slice(0, 8)}`)), ...extra });
  return [
    // Not JSON: the error is at a secret, so V8's message quotes 10 characters of it.
    `{"request_id": "req-${tag}-nj", "metadata": {"token": ${secret('not JSON, at the error')}}}`,
    // Not JSON, the error far from the secrets.
    `{"request_id": "req-${tag}-trunc", "input_data_url": "s3://b/${secret('not JSON, truncated')}", `,
    JSON.stringify([secret('not an object')]),
    JSON.stringify(request({ priority: secret('priority') })),
    JSON.stringify(request({ request_id: `req ${secret('request_id charset')}` })),
    JSON.stringify(request({ metadata: { blob: `${secret('metadata over limit')}${'x'.repeat(17 * 1024)}` } })),
    `{"request_id":"${dupA}","model_name":"m","input_data_url":"s3://b/${secret('duplicate request_id')}","request_id":"${dupB}"}`,
    // Too large for an execution's input.
    JSON.stringify(request({ blob: `${secret('too large')}${'y'.repeat(250 * 1024)}` })),
  ];
}

function record(body: string, receiveCount = 1, messageId: string = randomUUID()): SQSRecord {
  identifiers.add(messageId);
  bodies.push(body);
  return sqsRecord(body, { queueArn: aws.resources.masterQueueArn, messageId, receiveCount });
}

const context = { functionName: 'intake', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

/** Runs `work` with stdout, stderr and the console captured (and silenced). */
async function capturing<T>(work: () => Promise<T>): Promise<T> {
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const originals = methods.map((m) => console[m]);
  const keep = (chunk: unknown) => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  process.stdout.write = keep as typeof process.stdout.write;
  process.stderr.write = keep as typeof process.stderr.write;
  for (const m of methods) console[m] = (...items: unknown[]) => void keep(items.map(String).join(' '));
  try {
    return await work();
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    methods.forEach((m, i) => (console[m] = originals[i]!));
  }
}

const invoke = (records: SQSRecord[]): Promise<SQSBatchResponse> =>
  capturing(() => (intakes.at(-1) as LocalIntake).handler({ Records: records } satisfies SQSEvent, context));

/** Every function logs at DEBUG. */
const DEBUG = { logLevel: 'DEBUG' };

/** The intake from now on starts its executions at `sfnEndpoint`. */
function useIntake(sfnEndpoint: string) {
  intakes.push(createLocalIntake(aws.resources, aws.codeEndpoints, sfnEndpoint, { settings: DEBUG }));
}

/**
 * A Step Functions endpoint whose every sync execution fails the way AWS reports a States.Runtime error:
 * HTTP 200, status FAILED, and a cause that quotes the state's whole input (message bodies included);
 * or (failingMode 'unreadable-output') succeeds with an output that is the input itself, bodies included.
 */
async function startFailingStepFunctions(): Promise<Server> {
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as { stateMachineArn: string; name: string; input: string };
      const now = Date.now() / 1000;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      if (failingMode === 'unreadable-output') {
        res.end(JSON.stringify({ executionArn: `${body.stateMachineArn}:${body.name}`, stateMachineArn: body.stateMachineArn, name: body.name, startDate: now, stopDate: now, status: 'SUCCEEDED', input: body.input, output: body.input }));
        return;
      }
      res.end(
        JSON.stringify({
          executionArn: `${body.stateMachineArn.replace(':stateMachine:', ':express:')}:${body.name}:${randomUUID()}`,
          stateMachineArn: body.stateMachineArn,
          name: body.name,
          startDate: now,
          stopDate: now,
          status: 'FAILED',
          error: 'States.Runtime',
          cause:
            "An error occurred while executing the state 'Claim' (entered at the event id #2). The JSONPath " +
            `'$.leaseUntil' specified for the field ':lease.$' could not be found in the input '${body.input}'`,
          input: body.input,
          billingDetails: { billedMemoryUsedInMB: 64, billedDurationInMilliseconds: 100 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
  setup = createDispatchRunner(aws.resources, aws.codeEndpoints, { retryIntervalMs: 5, settings: DEBUG });
  sfn = await startStepFunctionsEndpoint({
    stateMachines: [{ name: resourceNames(aws.resources.stage).stateMachine, runner: setup.runner, definition: setup.definition, type: 'EXPRESS' }],
  });
  failingSfn = await startFailingStepFunctions();
  useIntake(sfn.endpoint);

  // 1. A mixed batch: valid requests, one repeated, and invalid bodies.
  const valid = Array.from({ length: 4 }, (_, i) => record(validBody(`req-logs-${i}`)));
  // The first request again, under another message id: a repeat within the batch.
  const repeat = record(bodies[0]!);
  const invalid = invalidBodies('a').map((body) => record(body));
  const first = [...valid, repeat, ...invalid.slice(0, 5)];
  const rest = invalid.slice(5);
  await invoke(first);
  await invoke(rest);
  // 2. The same messages delivered again: the valid ones are duplicates now, the invalid ones were
  //    dead-lettered by the first delivery (the intake reads its markers).
  await invoke([...first, ...rest].map((r) => record(r.body, 2, r.messageId)));
  //    Once more, with the markers neither readable (so dead-lettered again) nor written.
  const marker = (body: unknown) => JSON.stringify(body).includes('#intake-dlq#');
  aws.faults.dynamodb.rules.add({ mode: 'error', actions: ['BatchGetItem', 'PutItem'], when: marker });
  await invoke(invalid.slice(0, 3).map((r) => record(r.body, 3, r.messageId)));
  aws.faults.dynamodb.rules.clear();

  // 3. us-west-2 refuses every send, us-west-1's depth cannot be read: failover, unreadable readings.
  // Throttled: a definite refusal (a 500 would leave the sends unconfirmed, retried in place, not failed over).
  const refusing = aws.faults.sqs['us-west-2']!.rules.add({ mode: 'error', error: 'throttle', actions: ['SendMessageBatch'] });
  const blind = aws.faults.sqs['us-west-1']!.rules.add({ mode: 'error', actions: ['GetQueueAttributes'] });
  //    And the regions' health can be neither read (snapshot) nor written (forward).
  const health = (body: unknown) => JSON.stringify(body).includes('#health#');
  aws.faults.dynamodb.rules.add({ mode: 'error', actions: ['BatchGetItem', 'UpdateItem', 'DeleteItem'], when: health });
  clearSnapshotCache(); // drops the snapshot's cached readings and health
  await invoke(Array.from({ length: 6 }, (_, i) => record(validBody(`req-logs-fault-${i}`))));
  aws.faults.sqs['us-west-2']!.rules.remove(refusing);
  aws.faults.sqs['us-west-1']!.rules.remove(blind);
  aws.faults.dynamodb.rules.clear();

  // 4. An execution that fails with a cause quoting its input.
  useIntake(`http://127.0.0.1:${(failingSfn.address() as AddressInfo).port}`);
  await invoke([record(validBody('req-logs-failed-1')), record(validBody('req-logs-failed-2')), ...invalidBodies('f').slice(0, 2).map((b) => record(b))]);
  //    And one that "succeeds" with an output that is not the workflow's (the input, bodies included).
  failingMode = 'unreadable-output';
  await invoke([record(validBody('req-logs-unreadable'))]);

  // 5. Step Functions unreachable.
  useIntake('http://127.0.0.1:9');
  await invoke([record(validBody('req-logs-nosfn'))]);
}, 120_000);

afterAll(async () => {
  for (const intake of intakes) intake.close();
  await new Promise((resolve) => failingSfn?.close(resolve));
  await sfn?.stop();
  setup?.close();
  await aws?.stop();
});

interface LogLine {
  readonly service?: string;
  readonly level?: string;
  readonly message?: string;
  readonly [key: string]: unknown;
}

/** The captured output as lines, JSON ones parsed. */
function lines(): { raw: string; json: LogLine | undefined }[] {
  return captured
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((raw) => {
      try {
        const json = JSON.parse(raw) as unknown;
        return { raw, json: json !== null && typeof json === 'object' ? (json as LogLine) : undefined };
      } catch {
        return { raw, json: undefined };
      }
    });
}

/** Every string a log line holds, keys and values at any depth, as a reader of the log sees them. */
function texts(): string[] {
  const found: string[] = [];
  const visit = (value: unknown) => {
    if (typeof value === 'string') found.push(value);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        found.push(key);
        visit(item);
      }
    }
  };
  for (const line of lines()) (line.json ? visit(line.json) : found.push(line.raw));
  return found;
}

/** The longest runs of `body` (identifiers masked) that some logged string contains, longer than `limit`. */
function quotedRuns(body: string, logged: ReadonlySet<string>, limit: number): string[] {
  let masked = body;
  for (const id of identifiers) masked = masked.split(id).join('\u0000');
  const runs: string[] = [];
  for (let i = 0; i + limit < masked.length; i++) {
    const window = masked.slice(i, i + limit + 1);
    if (!window.includes('\u0000') && logged.has(window)) runs.push(window);
  }
  return runs;
}

describe('the functions at LOG_LEVEL=DEBUG', () => {
  it('were captured: every function logged, at every step of the scenarios', () => {
    const messages = lines().flatMap((l) => (l.json?.message ? [`${l.json.service}: ${l.json.message}`] : []));
    for (const expected of [
      'intake: batch done',
      'intake: not dispatched',
      'intake: execution did not succeed',
      'intake: execution not started',
      'intake: execution output unreadable',
      'intake: dead-letter markers unreadable',
      'intake: dead-letter marker not written',
      'forward: failover',
      'forward: region health not recorded',
      'snapshot: queue depth unreadable',
      'snapshot: region health unreadable',
    ]) {
      expect(messages, expected).toContain(expected);
    }
    // Not reached here: forward's 'some messages not taken' (a batch partly refused; it logs the region and counts).
    // Powertools' JSON, and nothing else: no stray console output from the handlers.
    expect(lines().filter((l) => !l.json?.service).map((l) => l.raw.slice(0, 200))).toEqual([]);
  });

  it('log no canary: no metadata value, input_data_url, model name, topic or unknown field of any body', () => {
    const all = captured.join('');
    const leaked = canaries.filter(({ value }) => all.includes(value)).map(({ field }) => field);
    expect(leaked).toEqual([]);
    expect(canaries.length).toBeGreaterThan(50);
  });

  it(`quote no more than ${QUOTE_LIMIT} characters in a row of any body, identifiers aside (so no whole request body)`, () => {
    const windows = new Set<string>();
    for (const text of texts()) for (let i = 0; i + QUOTE_LIMIT < text.length; i++) windows.add(text.slice(i, i + QUOTE_LIMIT + 1));
    const quoted = bodies.flatMap((body) => quotedRuns(body, windows, QUOTE_LIMIT).map((run) => `${body.slice(0, 40)}...: ${JSON.stringify(run)}`));
    expect(quoted).toEqual([]);
  });

  it('the quote a reason may make is there, and short: JSON.parse quoting the text at its error', () => {
    const reasons = lines().flatMap((l) => (typeof l.json?.reason === 'string' ? [l.json.reason] : []));
    // The body whose JSON error is at a secret (logged on its first delivery and on the redelivery).
    const atError = [...new Set(reasons.filter((r) => r.includes('S3CR3T')))];
    expect(atError.length).toBeGreaterThan(0);
    for (const reason of atError) {
      const quote = /^invalid request: body is not JSON: Unexpected token '.', (?:\.\.\.)?"(.*?)"(?:\.\.\.)? is not valid JSON/.exec(reason);
      expect(quote, reason).not.toBeNull();
      expect(quote![1]!.length, reason).toBeLessThanOrEqual(QUOTE_LIMIT);
    }
  });
});

describe('a failed execution', () => {
  it(`is logged with its name, its error and the first ${LOGGED_TEXT_CHARS} characters of its cause (the rest is in the execution log)`, () => {
    const failed = lines().filter((l) => l.json?.message === 'execution did not succeed' && l.json.error === 'States.Runtime');
    expect(failed.length).toBeGreaterThan(0);
    for (const { json } of failed) {
      expect(json!.executionName).toMatch(/^b\d{8}T\d{6}-/);
      const cause = String(json!.cause);
      expect(cause.startsWith("An error occurred while executing the state 'Claim'"), cause).toBe(true);
      expect(cause).toMatch(/\.\.\. \(\d+ characters\)$/);
      expect(cause.replace(/\.\.\. \(\d+ characters\)$/, '')).toHaveLength(LOGGED_TEXT_CHARS);
    }
    const reasons = lines().filter((l) => l.json?.message === 'not dispatched' && String(l.json.reason).includes('States.Runtime'));
    // One per message of that execution (the two valid requests of that batch), each by its message id.
    expect(reasons).toHaveLength(2);
    for (const { json } of reasons) expect(identifiers.has(String(json!.messageId))).toBe(true);
    for (const { json } of reasons) expect(String(json!.reason).length).toBeLessThanOrEqual(LOGGED_TEXT_CHARS + 30);
  });
});

describe('what Lambda itself would log for a task that throws on bad input', () => {
  it('names the field, not the value (zod issues carry no input)', async () => {
    const leaks: string[] = [];
    const bad = { batchId: 'b1', executionName: 'e1', snapshot: { readings: [], health: [] }, placements: [{ body: secret('task input body'), priority: secret('task input priority') }] };
    for (const [name, fn] of [
      ['forward', setup.functions.forward],
      ['select', setup.functions.select],
    ] as const) {
      const error = await capturing(async () => {
        try {
          await (fn as (event: unknown) => Promise<unknown>)(bad);
          return undefined;
        } catch (thrown) {
          return thrown as Error;
        }
      });
      expect(error, `${name} accepted a bad input`).toBeInstanceOf(Error);
      const text = `${error!.name}: ${error!.message}\n${error!.stack ?? ''}`;
      for (const { value, field } of canaries.slice(-2)) if (text.includes(value)) leaks.push(`${name}: ${field}`);
    }
    expect(leaks).toEqual([]);
  });
});
