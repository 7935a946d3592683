/** A local stack with its web console, for the console's API and browser tests. */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueueReader } from '../../../tools/ops/queue-reader.js';
import { startConsole, type ConsoleServer } from '../../../tools/console/server.js';
import { localDefinition } from '../../../tools/local/dispatch.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';

export interface ConsoleHarness {
  readonly stack: LocalStack;
  readonly console: ConsoleServer;
  get(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> & { error?: string } }>;
  /** The record's status in the table. */
  recordStatus(requestId: string): Promise<string | undefined>;
  /**
   * The regions whose queue holds a copy of the request, one entry per copy, read with ReceiveMessage and
   * made visible again (ops/queue-reader.ts); the tests' stacks run no workers.
   */
  regionalCopies(requestId: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startConsoleHarness(): Promise<ConsoleHarness> {
  // No workers: what is dispatched stays in the regional queues, where a test can count it. Region health
  // off: a scene that makes every region refuse must not leave them closed for the next one.
  const stack = await startLocalStack({ retryIntervalMs: 20, env: { regionHealthSeconds: 0 } });
  const server = await startConsole({ description: stack.description, sampleIntervalMs: 250 });
  const d = stack.description;
  const dynamo = new DynamoDBClient({ region: d.homeRegion, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  return {
    stack,
    console: server,
    async get(path, init) {
      const response = await fetch(new URL(path, server.url), init);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async recordStatus(requestId) {
      const { Item } = await dynamo.send(new GetItemCommand({ TableName: d.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
      return Item?.status?.S;
    },
    async regionalCopies(requestId) {
      const found: string[] = [];
      for (const r of d.regions) {
        const client = sqsAt(r.region, d.endpoints.sqs[r.region] as string);
        const reader = new QueueReader(client, r.queueUrl, { visibilitySeconds: 30, waitSeconds: 0, idleReceives: 2 });
        try {
          for await (const batch of reader.batches()) {
            for (const m of batch) if (m.MessageAttributes?.request_id?.StringValue === requestId) found.push(r.region);
          }
        } finally {
          await reader.release();
          client.destroy();
        }
      }
      return found;
    },
    async stop() {
      dynamo.destroy();
      await server.stop();
      await stack.stop();
    },
  };
}

/** The names of every state of the definition the stack runs, counted from the definition itself. */
export function definitionStateNames(stack: LocalStack): string[] {
  type Machine = { States: Record<string, { Branches?: Machine[]; ItemProcessor?: Machine; Iterator?: Machine }> };
  const names = (m: Machine): string[] =>
    Object.entries(m.States).flatMap(([name, s]) => [
      name,
      ...(s.Branches ?? []).flatMap(names),
      ...((s.ItemProcessor ?? s.Iterator) ? names((s.ItemProcessor ?? s.Iterator) as Machine) : []),
    ]);
  return names(localDefinition(stack.resources) as unknown as Machine);
}
