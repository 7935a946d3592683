/**
 * Raw HTTP to a local endpoint, with the headers a web page's request would carry (a rebinding Host,
 * an Origin, a preflight), which the SDK clients never send.
 */
import { request } from 'node:http';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface RawRequest {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Sends the request to the endpoint's address (127.0.0.1:<port>) whatever its Host header says. */
export function raw(endpoint: string, req: RawRequest): Promise<RawAnswer> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const out = request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: req.method ?? 'POST',
        path: req.path ?? url.pathname,
        headers: { host: url.host, ...req.headers, ...(req.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(req.body)) }) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(req.body);
  });
}

/** An AWS JSON 1.0 call, with an Authorization header of the shape dynalite checks (no server checks the signature). */
export function awsJson(target: string, body: object, service: string): RawRequest {
  return {
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': target,
      'x-amz-date': '20260101T000000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
    },
    body: JSON.stringify(body),
  };
}

/** The same request with other headers (a page's), its own kept unless replaced. */
export const withHeaders = (req: RawRequest, headers: Record<string, string>): RawRequest => ({ ...req, headers: { ...req.headers, ...headers } });

/** A browser's CORS preflight for an AWS JSON call from a page on `origin`. */
export const preflight = (origin: string): RawRequest => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type,x-amz-date,x-amz-target',
  },
});
