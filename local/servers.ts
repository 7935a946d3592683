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
 * One region's SQS server. An outage is simulated by cutting every connection while the server
 * keeps its queues and messages, as a real region would: callers see a network error.
 */
export interface SqsServer {
  readonly region: string;
  readonly endpoint: string;
  readonly available: boolean;
  setAvailable(available: boolean): void;
  /**
   * Partial outage: only these API actions (e.g. SendMessageBatch) fail, by a cut connection, or by a
   * request that is accepted and never answered ('hang': a region that is there but stuck).
   */
  failActions(actions: readonly string[], mode?: 'cut' | 'hang'): void;
  stop(): Promise<void>;
}

export async function startSqs(region: string, port = 0): Promise<SqsServer> {
  const app = buildApp({ logger: false, defaultRegion: region });
  let available = true;
  let failing = new Set<string>();
  let mode: 'cut' | 'hang' = 'cut';
  const hung = new Set<import('node:net').Socket>();
  const release = () => {
    for (const socket of hung) socket.destroy();
    hung.clear();
  };
  app.addHook('onRequest', (request, _reply, done) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.slice(target.indexOf('.') + 1);
    if (available && !failing.has(action)) return done();
    if (available && mode === 'hang') {
      hung.add(request.raw.socket); // never answered; cut when the outage ends or the server stops
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
  return {
    region,
    endpoint: `http://${HOST}:${bound}`,
    get available() {
      return available;
    },
    setAvailable(value: boolean) {
      available = value;
      if (value) {
        failing = new Set();
        release();
      }
    },
    failActions(actions, how = 'cut') {
      failing = new Set(actions);
      mode = how;
    },
    stop: () => {
      release();
      return app.close();
    },
  };
}
