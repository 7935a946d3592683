/**
 * The local AWS: dynalite (DynamoDB, in memory) and one fauxqs SQS server per region, on 127.0.0.1,
 * so that one region can be stopped on its own. The project's code reaches them through the real SDK
 * clients with endpoint overrides. Both answer only this machine's clients, never a web page (local-only.ts).
 */
import { IDLE_KEEP_ALIVE_MS } from './keep-alive.js';
import { guardServer } from './local-only.js';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { buildApp } from 'fauxqs';
import { z } from 'zod';
import { firstRefusedCharacter, isSqsText } from '../../../core/sqs-text.js';

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
  guardServer(server);
  server.keepAliveTimeout = IDLE_KEEP_ALIVE_MS;
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
  await correctFauxqsCharacterCheck();
  const stores = await fauxqsStores();
  const app = buildApp({ logger: false, defaultRegion: region, stores });
  guardServer(app.server);
  // fauxqs returns a message whose visibility timeout ended to its queue only when something receives from
  // that queue, so its counts go on calling it in flight; SQS counts it visible again. Counted as SQS does,
  // a queue nobody receives from any more (a fleet that vanished) shows its stranded copies to stealers.
  app.addHook('onRequest', (request, _reply, done) => {
    if (String(request.headers['x-amz-target'] ?? '').endsWith('.GetQueueAttributes')) stores.sqsStore.processAllTimers();
    done();
  });
  refuseCharactersAsSqs(app);
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
    app.server.keepAliveTimeout = IDLE_KEEP_ALIVE_MS;
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

/*
 * Characters, as SQS takes them (SendMessage in the SQS API reference; core/sqs-text.ts): a body and a
 * String attribute value may hold #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
 * fauxqs checks bodies code unit by code unit, so it refuses every emoji (two surrogates) and, refusing
 * a body, answers a query code the SDK does not model; it does not check attributes at all. Its check is
 * made SQS's, and a hook in front of its handler refuses what SQS refuses, in SQS's own answer.
 */

let fauxqsCorrected: Promise<void> | undefined;

type FauxqsStores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;

/** fauxqs's stores of one server, made here so that the server can reach its SQS store (not exported by the package). */
async function fauxqsStores(): Promise<FauxqsStores> {
  const load = async (path: string, name: string) => {
    const module = (await import(new URL(path, import.meta.resolve('fauxqs')).href)) as Record<string, unknown>;
    const Store = module[name];
    if (typeof Store !== 'function') throw new Error(`fauxqs no longer exports ${name} from ${path}`);
    return new (Store as new () => unknown)();
  };
  const [sqsStore, snsStore, s3Store] = await Promise.all([
    load('./sqs/sqsStore.js', 'SqsStore'),
    load('./sns/snsStore.js', 'SnsStore'),
    load('./s3/s3Store.js', 'S3Store'),
  ]);
  return { sqsStore, snsStore, s3Store } as FauxqsStores;
}

/** fauxqs's body check (a RegExp its actions call `.test` on), made to follow SQS's set; once per process. */
function correctFauxqsCharacterCheck(): Promise<void> {
  fauxqsCorrected ??= (async () => {
    const types = (await import(new URL('./sqs/sqsTypes.js', import.meta.resolve('fauxqs')).href)) as { INVALID_MESSAGE_BODY_CHAR?: unknown };
    const check = types.INVALID_MESSAGE_BODY_CHAR;
    if (!(check instanceof RegExp)) throw new Error('fauxqs no longer exports INVALID_MESSAGE_BODY_CHAR from sqs/sqsTypes.js: correct its character check anew');
    Object.defineProperty(check, 'test', { value: (text: unknown) => typeof text === 'string' && !isSqsText(text) });
  })();
  return fauxqsCorrected;
}

const ALLOWED = '#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]';
const attributesSchema = z.record(z.string(), z.looseObject({ StringValue: z.unknown().optional() })).optional();
const entrySchema = z.looseObject({
  Id: z.unknown().optional(),
  MessageBody: z.unknown().optional(),
  MessageAttributes: attributesSchema,
  MessageSystemAttributes: attributesSchema,
});
const batchSchema = z.looseObject({ Entries: z.array(entrySchema) });
type Entry = z.infer<typeof entrySchema>;

/** Why SQS refuses this message's characters (SQS's wording), or undefined. */
function refusedCharacters(entry: Entry): string | undefined {
  const found = (text: unknown) => (typeof text === 'string' ? firstRefusedCharacter(text) : undefined);
  const inBody = found(entry.MessageBody);
  if (inBody) return `Invalid binary character '${inBody}' was found in the message body, the set of allowed characters is ${ALLOWED}`;
  for (const [name, value] of Object.entries({ ...entry.MessageAttributes, ...entry.MessageSystemAttributes })) {
    const inValue = found(value.StringValue);
    if (inValue) return `Invalid binary character '${inValue}' was found in the value of message attribute '${name}', the set of allowed characters is ${ALLOWED}`;
  }
  return undefined;
}

const entryBytes = (e: Entry) =>
  Buffer.byteLength(String(e.MessageBody ?? '')) +
  Object.entries(e.MessageAttributes ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v.StringValue ?? '')) + 6, 0);

/** Can entries be failed one by one? Only where SQS would not refuse the batch as a whole first. */
const entriesStandAlone = (entries: readonly Entry[]) =>
  entries.length >= 1 &&
  entries.length <= 10 &&
  new Set(entries.map((e) => e.Id)).size === entries.length &&
  entries.every((e) => typeof e.Id === 'string' && /^[A-Za-z0-9_-]{1,80}$/.test(e.Id)) &&
  entries.reduce((n, e) => n + entryBytes(e), 0) <= 1024 * 1024;

type App = ReturnType<typeof buildApp>;

/**
 * SendMessage with a refused character: 400 InvalidMessageContents (a sender fault; the error has no
 * query code of its own in SQS's model). SendMessageBatch: each such entry is failed on its own as a
 * sender fault and the others go on, as SQS reports every entry's result apart.
 */
function refuseCharactersAsSqs(app: App): void {
  const refusedEntries = new WeakMap<object, Array<{ Id: string; SenderFault: true; Code: 'InvalidMessageContents'; Message: string }>>();
  app.addHook('preHandler', (request, reply, done) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    if (target === 'AmazonSQS.SendMessage') {
      const entry = entrySchema.safeParse(request.body);
      const refused = entry.success ? refusedCharacters(entry.data) : undefined;
      if (!refused) return done();
      void reply
        .code(400)
        .header('content-type', 'application/x-amz-json-1.0')
        .header('x-amzn-query-error', 'InvalidMessageContents;Sender')
        .send(JSON.stringify({ __type: 'com.amazonaws.sqs#InvalidMessageContents', message: refused }));
      return;
    }
    if (target !== 'AmazonSQS.SendMessageBatch') return done();
    const batch = batchSchema.safeParse(request.body);
    if (!batch.success || !entriesStandAlone(batch.data.Entries)) return done();
    const failed = batch.data.Entries.flatMap((e) => {
      const refused = refusedCharacters(e);
      return refused ? [{ Id: e.Id as string, SenderFault: true as const, Code: 'InvalidMessageContents' as const, Message: refused }] : [];
    });
    if (!failed.length) return done();
    const kept = batch.data.Entries.filter((e) => !failed.some((f) => f.Id === e.Id));
    if (!kept.length) {
      void reply.code(200).header('content-type', 'application/x-amz-json-1.0').send(JSON.stringify({ Successful: [], Failed: failed }));
      return;
    }
    (request.body as { Entries: Entry[] }).Entries = kept;
    refusedEntries.set(request, failed);
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const failed = refusedEntries.get(request);
    if (!failed || reply.statusCode !== 200 || typeof payload !== 'string') return done(null, payload);
    const answer = JSON.parse(payload) as { Successful?: unknown[]; Failed?: unknown[] };
    done(null, JSON.stringify({ ...answer, Failed: [...(answer.Failed ?? []), ...failed] }));
  });
}
