/**
 * The web console of the local stack: static pages (console/static, plain HTML/CSS/JS, no build)
 * over a JSON API served here, on 127.0.0.1 only, with node:http. Query parameters and bodies are
 * checked with zod; a bad one is a 400 that says which parameter and why.
 *
 *   GET  /api/stack                          the stack: regions, queues, state machine
 *   GET  /api/executions?name=&status=&from=&to=&limit=&nextToken=
 *                                            executions, newest first, with message and outcome counts: a
 *                                            search by part of the name, status and start time, a page at a time
 *   GET  /api/execution?arn= (or ?name=)     one execution: summary, messages, events, states' outcomes
 *   GET  /api/graph                          the deployed definition laid out as a graph
 *   GET  /api/graph?view=                    a view of it (graph-view.ts): Map/Parallel blocks, states never entered left out
 *   GET  /api/definition                     the deployed definition itself (ASL), as DescribeStateMachine gives it
 *   GET  /api/requests?id=                   a request's story: executions, record, where it is now
 *   GET  /api/regions                        depth, in flight, dispatched, failed over over time; health; DLQs;
 *                                            the capacity each region is weighed by (as `capacity list` says)
 *   GET  /api/dead-letters?queue=            the DLQs' messages grouped by reason (as `dlq` lists them)
 *   POST /api/redrive                        { queue, reason?, requestIds?, dryRun } (as `redrive` moves them)
 *   GET  /api/workers                        the simulated workers per region (local/fleet/fleet.ts)
 *   PUT  /api/workers/<region>               { count }: scales that region's workers (`workers set`)
 *
 * Writes (POST, PUT) must be JSON and come from no other site than this console's own.
 *
 * It serves the local stack it runs beside, or a deployed stage through the stage's own services
 * (console/source.ts): read-only there unless started with --allow-redrive, and with no workers to scale.
 */
import { readFile, readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { inferenceRequestSchema } from '../../core/request.js';
import { DEAD_LETTER_AGAIN } from '../../workflows/dispatch.js';
import { MAX_WORKERS, UnknownRegionError, type WorkerFleet } from '../local/fleet/fleet.js';
import { PortInUseError } from '../local/emulators/servers.js';
import type { StackDescription } from '../local/stack.js';
import { COUNTS_NOTE, listDlqs } from '../ops/dlq.js';
import { DLQ_KINDS } from '../ops/dlq-model.js';
import { redrive } from '../ops/redrive.js';
import { executionSearchQuery } from './execution-search.js';
import { CloudWatchFigures } from './cloudwatch-figures.js';
import { ExecutionStore } from './executions.js';
import { graphViewParam, layoutView, unknownOpen } from './graph-view.js';
import { localSource, stageSource, type StageConsole } from './source.js';
import { consoleDeps, dlqKindsOf, DLQ_READ, Lock, regionCapacityView, regionHealth, RegionSampler, requestStory } from './queues.js';

export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

interface ServerOptions {
  /** 0 (the default) takes any free port. */
  readonly port?: number;
  /** How often the Regions page's figures are sampled. */
  readonly sampleIntervalMs?: number;
}

/** A local stack's console (its description), or a deployed stage's (a Target, as `console --stage` finds it). */
export type ConsoleOptions = ServerOptions &
  (
    | {
        readonly description: StackDescription;
        /** The stack's simulated workers, scaled through /api/workers; without it those routes say so (404). */
        readonly workers?: WorkerFleet;
      }
    | StageConsole
  );

/** What a read-only console answers a redrive. */
export const READ_ONLY = 'this console is read-only: start it with --allow-redrive to move messages';

export interface ConsoleServer {
  /** http://127.0.0.1:<port>/ */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
const requestId = inferenceRequestSchema.shape.request_id;

const schemas = {
  executions: executionSearchQuery(STATUSES),
  execution: z
    .strictObject({
      arn: z.string().regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:(express|execution):[^:\s]+:[^:\s]+(:[^:\s]+)?$/, 'must be an execution ARN').optional(),
      // Step Functions' rules for a name: 1 to 80 characters, no whitespace and none of these.
      name: z.string().regex(/^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/, 'must be an execution name (1 to 80 characters, no spaces, no : or /)').optional(),
    })
    .refine((q) => (q.arn === undefined) !== (q.name === undefined), { message: 'give arn (an execution ARN) or name (its name), one of them' }),
  request: z.strictObject({ id: requestId }),
  deadLetters: z.strictObject({ queue: z.enum([...DLQ_KINDS, 'all'], { error: 'must be dispatch, master, master-high or all' }).default('all') }),
  redrive: z.strictObject({
    queue: z.enum(DLQ_KINDS, { error: 'must be dispatch, master or master-high' }),
    reason: z.string().trim().min(1, 'must not be empty').max(2000).optional(),
    requestIds: z.array(requestId).min(1, 'must name at least one request_id').max(1000).optional(),
    dryRun: z.boolean({ error: 'is required: true to see what would move, false to move it' }),
  }),
  workers: z.strictObject({
    count: z
      .number({ error: (issue) => (issue.input === undefined ? 'is required: a whole number of workers' : 'must be a number') })
      .int('must be a whole number')
      .min(0, 'must be at least 0')
      .max(MAX_WORKERS, `must be at most ${MAX_WORKERS}`),
  }),
  graph: z.strictObject({ view: graphViewParam.optional() }),
  none: z.strictObject({}),
};

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = issue?.path.length ? issue.path.join('.') : '';
  if (issue?.code === 'unrecognized_keys') throw new ApiError(400, `unknown ${where}: ${issue.keys.join(', ')}`);
  throw new ApiError(400, `${where}${name ? ` ${name}` : ''}: ${issue?.message ?? 'invalid'}`);
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const source = 'description' in options ? localSource(options.description) : stageSource(options);
  const workers = 'description' in options ? options.workers : undefined;
  const d = source.description;
  const dynamo = source.target.dynamo();
  const deps = consoleDeps(d, source.target.sqs, source.target.dynamo, source.inspectLiveQueues);
  // Names of the outcome lists: by forwardedGroups, the null group as the last; outputs from before the Map by position.
  const store = new ExecutionStore(
    source.target.sfn(),
    d.stateMachineArn,
    [...d.regions.map((r) => r.region), DEAD_LETTER_AGAIN.label],
    source.maxExecutions,
    source.executions,
  );
  const sampled = new RegionSampler(deps, store, options.sampleIntervalMs ?? (source.kind === 'stage' ? 10_000 : 1500));
  // A stage's figures are CloudWatch's (a point a minute), not samples taken here.
  const cloudwatch =
    source.metricNamespace && source.target.cloudwatch
      ? new CloudWatchFigures(d, sampled.dlqUrls(), source.target.cloudwatch, { namespace: source.metricNamespace })
      : undefined;
  const sampler = cloudwatch ?? sampled;
  const lock = new Lock();
  // Where a name is looked for (the executions the console lists), as the 404 says it: a stage's log
  // group is read over its last `hours` (source.ts), newest first.
  const hours = 'description' in options ? 1 : (options.hours ?? 1);
  const executionsLookedIn =
    source.kind === 'local'
      ? 'those the local endpoint keeps'
      : source.target.kind === 'aws'
        ? `the newest ${source.maxExecutions} in the log group ${source.target.logGroupName ?? '(none named)'} of ${source.label} over the last ${hours} hour${hours === 1 ? '' : 's'} (the console's --hours and --max look further)`
        : `the newest ${source.maxExecutions} the Step Functions endpoint of ${source.label} keeps`;
  const files = new Set((await readdir(STATIC_DIR)).filter((f) => /^[a-z0-9-]+\.(html|css|js|svg)$/.test(f)));

  const fleet = () => {
    if (source.kind === 'stage') throw new ApiError(404, `${source.label} has no simulated workers: its fleet is scaled where it runs`);
    if (!workers) throw new ApiError(404, "this console was started without control of the stack's workers");
    return workers;
  };

  // A key's `:name` segment matches one path segment, passed in `params`.
  const routes: Record<string, (query: Record<string, string>, body: unknown, params: Record<string, string>) => Promise<unknown>> = {
    'GET /api/stack': async (query) => {
      parse(schemas.none, query, 'query parameter');
      return {
        source: source.label,
        readOnly: source.readOnly,
        // Where the executions listed come from, as the pages' empty texts say it.
        executionsKept: executionsLookedIn,
        stage: d.stage,
        homeRegion: d.homeRegion,
        stateMachineArn: d.stateMachineArn,
        tableName: d.tableName,
        regions: d.regions,
        masterQueueUrl: d.masterQueueUrl,
        masterDeadLetterQueueUrl: d.masterDeadLetterQueueUrl,
        dispatchDeadLetterQueueUrl: d.dispatchDeadLetterQueueUrl,
      };
    },
    'GET /api/executions': async (query) => {
      return store.list(parse(schemas.executions, query, 'query parameter'));
    },
    'GET /api/execution': async (query) => {
      // By ARN, or by name (a deep link a person types): the name is looked up among the kept executions.
      const q = parse(schemas.execution, query, 'query parameter');
      const arn = q.arn ?? (await store.arnOf(q.name as string));
      if (!arn) throw new ApiError(404, `no execution named ${q.name} among ${executionsLookedIn}`);
      return store.detail(arn);
    },
    'GET /api/graph': async (query) => {
      const { view } = parse(schemas.graph, query, 'query parameter');
      if (!view) return store.graph();
      const definition = await store.stateMachineDefinition();
      const unknown = unknownOpen(definition, view);
      if (unknown.length) throw new ApiError(400, `query parameter view.open: no Map or Parallel state named ${unknown.join(', ')}`);
      return layoutView(definition, view);
    },
    'GET /api/definition': async (query) => {
      parse(schemas.none, query, 'query parameter');
      return { stateMachineArn: d.stateMachineArn, definition: await store.stateMachineDefinition() };
    },
    'GET /api/requests': async (query) => requestStory(deps, store, lock, parse(schemas.request, query, 'query parameter').id),
    'GET /api/regions': async (query) => {
      parse(schemas.none, query, 'query parameter');
      const [health, capacity] = await Promise.all([regionHealth(dynamo, d), regionCapacityView(dynamo, d, sampler.samples.at(-1))]);
      return {
        intervalMs: sampler.intervalMs,
        regions: d.regions.map((r) => ({ region: r.region, capacity: r.capacity, queue: r.queueUrl.split('/').at(-1) })),
        samples: sampler.samples,
        health,
        capacities: capacity.regions,
        ...(capacity.warning ? { capacityWarning: capacity.warning } : {}),
        ...(workers ? { workers: workers.list() } : {}),
        dlqs: sampler.dlqUrls().map((q) => ({ label: q.label, name: q.url.split('/').at(-1) })),
        ...(cloudwatch ? { figures: cloudwatch.note() } : {}),
      };
    },
    'GET /api/dead-letters': async (query) => {
      const q = parse(schemas.deadLetters, query, 'query parameter');
      const kinds = q.queue === 'all' ? dlqKindsOf(d) : [q.queue];
      const queues = await lock.run(() => listDlqs(deps, kinds, DLQ_READ));
      return { note: COUNTS_NOTE, queues };
    },
    'POST /api/redrive': async (query, body) => {
      if (source.readOnly) throw new ApiError(403, READ_ONLY);
      parse(schemas.none, query, 'query parameter');
      const b = parse(schemas.redrive, body, 'body field');
      return lock.run(() =>
        redrive(deps, {
          queue: b.queue,
          dryRun: b.dryRun,
          ...(b.reason !== undefined ? { reason: b.reason } : {}),
          ...(b.requestIds ? { requestIds: b.requestIds } : {}),
          ...DLQ_READ,
        }),
      );
    },
    'GET /api/workers': async (query) => {
      parse(schemas.none, query, 'query parameter');
      return { regions: fleet().list() };
    },
    'PUT /api/workers/:region': async (query, body, params) => {
      parse(schemas.none, query, 'query parameter');
      const workers = fleet();
      const { count } = parse(schemas.workers, body, 'body field');
      try {
        return workers.setCount(params.region as string, count);
      } catch (error) {
        if (error instanceof UnknownRegionError) throw new ApiError(404, error.message);
        if (error instanceof RangeError) throw new ApiError(409, error.message);
        throw error;
      }
    },
  };

  /** The route for a method and a path, with its parameters; or the methods the path takes, if any. */
  const routeFor = (method: string, pathname: string) => {
    const segments = pathname.split('/');
    const allowed: string[] = [];
    for (const [key, handler] of Object.entries(routes)) {
      const [routeMethod, pattern] = key.split(' ') as [string, string];
      const parts = pattern.split('/');
      if (parts.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const matches = parts.every((part, i) => {
        const segment = segments[i] as string;
        if (!part.startsWith(':')) return part === segment;
        if (!segment) return false;
        try {
          params[part.slice(1)] = decodeURIComponent(segment);
        } catch {
          return false;
        }
        return true;
      });
      if (!matches) continue;
      if (routeMethod === method) return { handler, params };
      allowed.push(routeMethod);
    }
    return { allowed };
  };

  let port = options.port ?? 0;
  const origins = () => [`127.0.0.1:${port}`, `localhost:${port}`];

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, type: string, payload: string | Buffer, extra: Record<string, string> = {}) => {
      res.writeHead(status, {
        'content-type': type,
        'content-length': Buffer.byteLength(payload),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...extra,
      });
      res.end(payload);
    };
    const json = (status: number, value: unknown) => send(status, 'application/json; charset=utf-8', JSON.stringify(value));
    try {
      // Only this machine's names for this server (no DNS rebinding), and no writes from other sites.
      if (!origins().includes(String(req.headers.host))) throw new ApiError(403, 'this console answers only to 127.0.0.1 and localhost');
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      if (url.pathname.startsWith('/api/')) {
        const route = routeFor(String(req.method), url.pathname);
        if (!route.handler) {
          throw route.allowed.length ? new ApiError(405, `${url.pathname} takes ${route.allowed.join(', ')}`) : new ApiError(404, `no API route ${url.pathname}`);
        }
        let body: unknown;
        if (req.method === 'POST' || req.method === 'PUT') {
          const origin = req.headers.origin;
          if (origin && !origins().some((o) => origin === `http://${o}`)) throw new ApiError(403, 'cross-origin writes are refused');
          if (!String(req.headers['content-type']).startsWith('application/json')) throw new ApiError(415, 'the body must be JSON (content-type: application/json)');
          const chunks: Buffer[] = [];
          let size = 0;
          for await (const chunk of req) {
            size += (chunk as Buffer).length;
            if (size > 65_536) throw new ApiError(413, 'the body is larger than 64 KiB');
            chunks.push(chunk as Buffer);
          }
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            throw new ApiError(400, 'the body is not valid JSON');
          }
        }
        const query: Record<string, string> = {};
        for (const [k, v] of url.searchParams) {
          if (k in query) throw new ApiError(400, `query parameter ${k} is given twice`);
          query[k] = v;
        }
        json(200, await route.handler(query, body, route.params));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'pages take GET');
      const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      if (!files.has(file)) throw new ApiError(404, `no page ${url.pathname}`);
      const type = CONTENT_TYPES[file.split('.').at(-1) as string] as string;
      send(200, type, await readFile(`${STATIC_DIR}${file}`), {
        'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
      });
    } catch (error) {
      const e = error as Error & { name?: string };
      if (res.headersSent) return void res.end();
      if (error instanceof ApiError) json(error.status, { error: error.message });
      else if (e.name === 'ExecutionDoesNotExist') json(404, { error: e.message });
      else if (e.name === 'InvalidArn' || e.name === 'ValidationException') json(400, { error: e.message });
      else json(500, { error: `${e.name ?? 'Error'}: ${e.message ?? String(error)}` });
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortInUseError('console', port) : error));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  sampler.start();

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sampler.stop();
      source.close();
    },
  };
}
