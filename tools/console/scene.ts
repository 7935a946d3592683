/**
 * Scenes for the console's screenshots and browser tests, made on a running local stack the way a
 * person would make them: requests sent to the master queue, and regions made to refuse sends.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { queueDepth } from '../ops/queue-reader.js';
import { makeRequest } from '../ops/requests.js';
import { executionOutputSchema } from '../../core/outcomes.js';
import { sqsAt } from '../local/resources.js';
import type { LocalStack } from '../local/stack.js';
import type { LocalExecution } from '../local/emulators/sfn-endpoint.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (not undefined/false), or throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Sends bodies to the master queue, one SendMessage each (a scene makes regions refuse SendMessageBatch,
 * and the home region's server holds the master queue too).
 */
export async function sendBodies(stack: LocalStack, bodies: readonly string[]): Promise<void> {
  const d = stack.description;
  const client = sqsAt(d.homeRegion, d.endpoints.sqs[d.homeRegion] as string);
  try {
    await Promise.all(bodies.map((body) => client.send(new SendMessageCommand({ QueueUrl: d.masterQueueUrl, MessageBody: body }))));
  } finally {
    client.destroy();
  }
}

export const requestBodies = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => JSON.stringify(makeRequest(i, { requestId: `${prefix}-${String(i + 1).padStart(3, '0')}` })));

const failedOver = (e: LocalExecution) => {
  const output = executionOutputSchema.safeParse(e.output);
  return output.success && output.data.forwarded.flat().some((o) => o.failedOver);
};

/**
 * One region refuses every send (400, known not delivered) while a batch goes through: its Forward is
 * retried, then caught, and its messages fail over. Returns the execution where that happened.
 */
export async function failoverScene(stack: LocalStack, region: string, prefix = 'req-failover', count = 9): Promise<LocalExecution> {
  const before = new Set(stack.stepFunctions.executions().map((e) => e.executionArn));
  stack.sqsServers[region]?.failActions(['SendMessageBatch'], 'reject');
  try {
    await sendBodies(stack, requestBodies(prefix, count));
    return await waitFor(`an execution that failed over from ${region}`, () =>
      stack.stepFunctions.executions().find((e) => !before.has(e.executionArn) && e.status === 'SUCCEEDED' && failedOver(e)),
    );
  } finally {
    stack.sqsServers[region]?.failActions([]);
  }
}

/** Every region refuses sends while requests go through: no region takes them, so they are dead-lettered. */
export async function deadLetterScene(stack: LocalStack, prefix = 'req-dlq', count = 3): Promise<string[]> {
  const bodies = requestBodies(prefix, count);
  const ids = bodies.map((b) => (JSON.parse(b) as { request_id: string }).request_id);
  const servers = Object.values(stack.sqsServers).filter((s) => stack.description.regions.some((r) => r.region === s.region));
  for (const server of servers) server.failActions(['SendMessageBatch'], 'reject');
  const before = new Set(stack.stepFunctions.executions().map((e) => e.executionArn));
  try {
    await sendBodies(stack, bodies);
    await waitFor(`${count} requests dead-lettered`, () => {
      const outcomes = stack.stepFunctions
        .executions()
        .filter((e) => !before.has(e.executionArn) && e.status === 'SUCCEEDED')
        .flatMap((e) => {
          const output = executionOutputSchema.safeParse(e.output);
          return output.success ? output.data.forwarded.flat() : [];
        });
      return ids.every((id) => outcomes.some((o) => o.requestId === id && o.outcome === 'dead-lettered'));
    });
  } finally {
    for (const server of servers) server.failActions([]);
  }
  return ids;
}

/**
 * A request the intake refuses (its input_data_url is neither s3:// nor http(s)://) under a request_id that
 * keeps the rules: dead-lettered by the intake with no record, found by the request_id in its body.
 * Resolves once its copy is in the dispatch DLQ and the master queue is empty.
 */
export async function invalidRequestScene(stack: LocalStack, requestId: string): Promise<void> {
  const d = stack.description;
  const home = sqsAt(d.homeRegion, d.endpoints.sqs[d.homeRegion] as string);
  try {
    const before = (await queueDepth(home, d.dispatchDeadLetterQueueUrl)).visible;
    await sendBodies(stack, [JSON.stringify({ request_id: requestId, model_name: 'm', input_data_url: 'ftp://nowhere/x' })]);
    await waitFor('the invalid request in the dispatch DLQ', async () => (await queueDepth(home, d.dispatchDeadLetterQueueUrl)).visible > before);
    // And out of the master queue (the intake deletes it once its batch is done).
    await waitFor('the master queue empty', async () => {
      const master = await queueDepth(home, d.masterQueueUrl);
      return master.visible + master.inFlight === 0;
    });
  } finally {
    home.destroy();
  }
}
