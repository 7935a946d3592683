/**
 * The forwarding half of the fault proxy, on node:http only: hop-by-hop headers dropped (they describe
 * one connection, not the message), everything else sent as the client sent it, Host included (SigV4
 * signs it; fauxqs builds queue URLs from it only in CreateQueue and looks queues up port-agnostically).
 */
import { Agent, request, type IncomingMessage } from 'node:http';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/** rawHeaders (flat [name, value, ...]) without the hop-by-hop ones. */
export function endToEnd(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, raw[i + 1] as string);
  }
  return out;
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface Upstream {
  readonly host: string;
  readonly port: number;
  readonly agent: Agent;
}

export function upstreamFor(target: string): Upstream {
  const url = new URL(target);
  if (url.protocol !== 'http:') throw new Error(`fault proxy: only http targets are supported, got ${target}`);
  // Keep-alive to the target: a chaos run sends thousands of requests, one connection each would pile up TIME_WAIT.
  return { host: url.hostname, port: Number(url.port || 80), agent: new Agent({ keepAlive: true }) };
}

export interface OutgoingRequest {
  readonly method: string;
  readonly path: string;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/**
 * Sends the request; resolves with the target's response head (its body still to be read). The body
 * was buffered, so content-length is set when the client had sent it chunked.
 */
export function send(upstream: Upstream, outgoing: OutgoingRequest): Promise<IncomingMessage> {
  const headers = endToEnd(outgoing.rawHeaders);
  if (!headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-length')) headers.push('content-length', String(outgoing.body.length));
  const attempt = (mayRetry: boolean) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: upstream.host, port: upstream.port, method: outgoing.method, path: outgoing.path, headers, agent: upstream.agent });
      req.once('response', resolve);
      req.once('error', (error: NodeJS.ErrnoException) => {
        // The target closed an idle keep-alive socket as we reused it: it never read this request, so
        // sending it again cannot apply it twice (Node's documented pattern for reusedSocket).
        if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET') attempt(false).then(resolve, reject);
        else reject(error);
      });
      req.end(outgoing.body);
    });
  return attempt(true);
}
