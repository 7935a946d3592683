/**
 * An AWS JSON-protocol endpoint on 127.0.0.1 (the local Step Functions and CloudWatch Logs endpoints):
 * POST with `x-amz-target: <prefix><Action>`, a JSON body, a JSON answer; the API's own errors as 400
 * `{ __type, message }` so the SDK raises them by name, anything else as a 500 of `internalType`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localOnly } from './local-only.js';
import { PortInUseError } from './servers.js';

export interface JsonProtocolOptions {
  /** Its name in a port-in-use error ("Step Functions endpoint"). */
  readonly service: string;
  /** What the target header starts with before the action ("AWSStepFunctions."). */
  readonly targetPrefix: string;
  /** application/x-amz-json-1.0 or -1.1, as the service answers. */
  readonly contentType: string;
  readonly operations: Readonly<Record<string, (body: unknown) => unknown>>;
  /** The 400 body of an error the API itself raises (`__type`, `message`, ...); undefined for any other error. */
  readonly apiError: (error: unknown) => object | undefined;
  /** The errors for an action it does not serve and a body that is not JSON. */
  readonly unknownOperation: (target: string) => Error;
  readonly notJson: () => Error;
  /** The `__type` of a 500. */
  readonly internalType: string;
  /** 0 (the default) takes any free port. */
  readonly port?: number;
}

export interface JsonProtocolServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** Stops taking requests and closes open connections. */
  close(): Promise<void>;
}

export async function serveJsonProtocol(options: JsonProtocolOptions): Promise<JsonProtocolServer> {
  const { operations, targetPrefix } = options;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, payload: object) => {
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': options.contentType, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
      res.end(text);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target.startsWith(targetPrefix) ? target.slice(targetPrefix.length) : undefined;
      // Own actions only: a name such as toString is not one.
      const operation = action !== undefined && Object.hasOwn(operations, action) ? operations[action] : undefined;
      if (req.method !== 'POST' || !operation) throw options.unknownOperation(target);
      let body: unknown;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw options.notJson();
      }
      send(200, (await operation(body)) as object);
    } catch (error) {
      const answer = options.apiError(error);
      if (answer) send(400, answer);
      else send(500, { __type: options.internalType, message: (error as Error)?.message ?? String(error) });
    }
  }

  const server = createServer(localOnly((req, res) => void handle(req, res)));
  const port = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortInUseError(options.service, port) : error));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
