/**
 * The local AWS: dynalite (DynamoDB, in memory) and one fauxqs SQS server per region, on 127.0.0.1,
 * so that one region can be stopped on its own. The project's code reaches them through the real SDK
 * clients with endpoint overrides.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { buildApp } from 'fauxqs';

const require = createRequire(import.meta.url);
// dynalite is CommonJS without types.
const dynalite = require('dynalite') as (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(readonly what: string, readonly port: number) {
    super(`${what}: port ${port} on 127.0.0.1 is already in use; pick another port (or 0 for any free port)`);
  }
}

const HOST = '127.0.0.1';

function listenError(what: string, port: number, error: unknown): Error {
  return (error as NodeJS.ErrnoException)?.code === 'EADDRINUSE' ? new PortInUseError(what, port) : (error as Error);
}

export interface DynamoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startDynamo(port = 0): Promise<DynamoServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError('DynamoDB (dynalite)', port, error)));
    server.listen(port, HOST, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://${HOST}:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * One region's SQS server. Its failures are the ways a real region fails, told apart by what the caller
 * can know afterwards (aws/delivery.ts):
 * - down (setAvailable(false)): connections are refused, as from a host that is gone: nothing was sent.
 * - 'reject': the named actions are answered 400 RequestThrottled: refused, known not delivered.
 * - 'cut': the request is received and the connection dropped: the caller cannot tell whether it was applied.
 * - 'hang': the request is received and never answered: the caller's request timeout fires.
 * The server keeps its queues and messages through all of them, as a real region would.
 */
export interface SqsServer {
  readonly region: string;
  readonly endpoint: string;
  readonly available: boolean;
  /** false: refuse every connection (ECONNREFUSED); true: serve again, every failure cleared. */
  setAvailable(available: boolean): Promise<void>;
  /** Partial outage: only these API actions (e.g. SendMessageBatch) fail, in the given way. */
  failActions(actions: readonly string[], mode?: 'reject' | 'cut' | 'hang'): void;
  stop(): Promise<void>;
}

/** What SQS answers a throttled request with (JSON protocol). */
const THROTTLED = JSON.stringify({ __type: 'com.amazonaws.sqs#RequestThrottled', message: 'Rate exceeded (local outage)' });

export async function startSqs(region: string, port = 0): Promise<SqsServer> {
  const app = buildApp({ logger: false, defaultRegion: region });
  let available = true;
  let failing = new Set<string>();
  let mode: 'reject' | 'cut' | 'hang' = 'reject';
  const hung = new Set<import('node:net').Socket>();
  const release = () => {
    for (const socket of hung) socket.destroy();
    hung.clear();
  };
  app.addHook('onRequest', (request, reply, done) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.slice(target.indexOf('.') + 1);
    if (!failing.has(action)) return done();
    if (mode === 'hang') {
      hung.add(request.raw.socket); // never answered; cut when the outage ends or the server stops
      return;
    }
    if (mode === 'reject') {
      void reply
        .code(400)
        .header('content-type', 'application/x-amz-json-1.0')
        .header('x-amzn-query-error', 'AWS.SimpleQueueService.RequestThrottled;Sender')
        .send(THROTTLED);
      return;
    }
    request.raw.socket.destroy();
  });
  try {
    await app.listen({ port, host: HOST });
  } catch (error) {
    throw listenError(`SQS ${region} (fauxqs)`, port, error);
  }
  const bound = (app.server.address() as AddressInfo).port;
  const server = app.server;
  return {
    region,
    endpoint: `http://${HOST}:${bound}`,
    get available() {
      return available;
    },
    async setAvailable(value: boolean) {
      if (value === available) {
        if (value) {
          failing = new Set();
          release();
        }
        return;
      }
      available = value;
      if (!value) {
        // Stop listening (new connections are refused) and drop the open ones, as a host that went away.
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          release();
          server.closeAllConnections();
        });
        return;
      }
      failing = new Set();
      release();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(bound, HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    failActions(actions, how = 'reject') {
      failing = new Set(actions);
      mode = how;
    },
    stop: async () => {
      release();
      if (!available) {
        // Listening again lets fastify close as it expects.
        await new Promise<void>((resolve) => server.listen(bound, HOST, () => resolve()));
      }
      return app.close();
    },
  };
}
