/**
 * A Systems Manager Parameter Store endpoint for tests: GetParameter and PutParameter over the AWS JSON
 * 1.1 protocol the SDK's SSMClient speaks (no emulator here covers SSM). Point a client at it with
 * AWS_ENDPOINT_URL_SSM. `failWith` answers every request with that HTTP status, as a failing service does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SsmServer {
  readonly endpoint: string;
  readonly parameters: Map<string, string>;
  /** Requests received, by X-Amz-Target action. */
  readonly calls: string[];
  failWith: number | undefined;
  close(): Promise<void>;
}

export async function startSsmServer(): Promise<SsmServer> {
  const parameters = new Map<string, string>();
  const calls: string[] = [];
  const state = { failWith: undefined as number | undefined };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSSM\./, '');
      calls.push(action);
      const answer = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(json));
      };
      if (state.failWith) return answer(state.failWith, { __type: 'InternalServerError', message: 'injected failure' });
      const input = JSON.parse(body || '{}') as { Name?: string; Value?: string };
      if (action === 'GetParameter') {
        const value = parameters.get(input.Name ?? '');
        if (value === undefined) return answer(400, { __type: 'ParameterNotFound', message: `${input.Name} not found` });
        return answer(200, { Parameter: { Name: input.Name, Type: 'String', Value: value, Version: 1, DataType: 'text' } });
      }
      if (action === 'PutParameter') {
        parameters.set(input.Name ?? '', input.Value ?? '');
        return answer(200, { Version: 1, Tier: 'Standard' });
      }
      return answer(400, { __type: 'UnknownOperationException', message: action });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    parameters,
    calls,
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
