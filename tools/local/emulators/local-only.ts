/**
 * The guard in front of every local endpoint (DynamoDB, each SQS server, Step Functions, metrics, the
 * fault proxies). They listen on 127.0.0.1 with no credentials to check, so any web page the browser
 * opens could reach them:
 * - a page on another origin, with fetch or a form: refused by its Origin header (or, where a browser
 *   sends none, by Sec-Fetch-Site), before the server sees the request. No local endpoint is called from a
 *   browser (the console's server calls them for its pages), so no origin is allowed, not even the console's;
 * - a page whose name is made to resolve to 127.0.0.1 (DNS rebinding): refused by its Host header.
 * The SDK clients, boto3 and the CLI send Host 127.0.0.1:<port> and no Origin, and are served as before.
 * Nothing here answers a CORS preflight with Access-Control-Allow-Origin, and the servers' own CORS
 * headers (dynalite's `*`) are dropped.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

/**
 * The names of this machine a local endpoint answers to. The port is not checked: a fault proxy passes
 * its callers' Host (its own port) on to the server behind it, and a browser always names the port it connects to.
 */
const LOCAL_HOSTNAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Sec-Fetch-Site values a browser gives requests that another site's page made. */
const OTHER_SITE = new Set(['cross-site', 'same-site']);

export interface Refusal {
  readonly status: 403 | 421;
  readonly reason: string;
}

/** The name in a Host header (`name` or `name:port`), read strictly: no URL parser's leniency (userinfo, shorthand IPs). */
const hostnameOf = (host: string) => /^(\[[^\]]*\]|[^:[\]@/]+)(?::\d{1,5})?$/.exec(host.toLowerCase())?.[1];

/** Why this request must not be served, or undefined. */
export function refusal(req: IncomingMessage): Refusal | undefined {
  const hostname = hostnameOf(String(req.headers.host ?? ''));
  if (!hostname || !LOCAL_HOSTNAMES.has(hostname)) {
    return { status: 421, reason: 'this local endpoint answers only to 127.0.0.1, localhost and [::1] (Host header)' };
  }
  if (req.headers.origin !== undefined) {
    return { status: 403, reason: 'this local endpoint refuses requests from web pages (Origin header)' };
  }
  if (OTHER_SITE.has(String(req.headers['sec-fetch-site']))) {
    return { status: 403, reason: 'this local endpoint refuses requests from web pages (Sec-Fetch-Site header)' };
  }
  return undefined;
}

function refuse(res: ServerResponse, { status, reason }: Refusal): void {
  const body = `${reason}\n`;
  // The body is not read: the connection closes after the answer rather than carry on with it.
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.end(body);
}

const isCors = (name: string) => name.toLowerCase().startsWith('access-control-');

/** Drops the CORS headers a server would set on its answers (dynalite sets `*` for any Origin). */
function withoutCors(res: ServerResponse): void {
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => (isCors(name) ? res : setHeader(name, value));
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    const at = args.findIndex((a) => typeof a === 'object' && a !== null);
    const headers = args[at];
    if (Array.isArray(headers)) {
      // [name, value, name, value, ...] or [[name, value], ...]
      const pairs = Array.isArray(headers[0]) ? (headers as string[][]) : headers.flatMap((h, i) => (i % 2 ? [] : [[h, headers[i + 1]]]));
      args[at] = pairs.filter(([name]) => !isCors(String(name))).flat();
    } else if (headers) {
      args[at] = Object.fromEntries(Object.entries(headers).filter(([name]) => !isCors(name)));
    }
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
}

/** A request listener that serves only what `refusal` lets through. */
export function localOnly(listener: RequestListener): RequestListener {
  return (req, res) => {
    const refused = refusal(req);
    if (refused) return refuse(res, refused);
    withoutCors(res);
    listener(req, res);
  };
}

/** Puts the guard in front of a server built by another library (dynalite, fastify): its request listeners go behind it. */
export function guardServer(server: Server): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on(
    'request',
    localOnly((req, res) => {
      for (const listener of listeners) listener.call(server, req, res);
    }),
  );
}
