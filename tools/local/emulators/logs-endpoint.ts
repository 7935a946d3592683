/**
 * A local CloudWatch Logs endpoint: node:http on 127.0.0.1 speaking the AWS JSON 1.1 protocol
 * (x-amz-target: Logs_20140328.<Action>), log groups and their events in memory. It serves what reading
 * Express executions on a deployed stage needs (tools/ops/express-logs.ts), so that path runs over the
 * wire with the real CloudWatchLogsClient:
 * - CreateLogGroup, CreateLogStream, PutLogEvents (the service's batch rules), DescribeLogGroups;
 * - FilterLogEvents: time range, streams, filter patterns (logs-filter-pattern.ts), pages cut at `limit`
 *   events or 1 MB as the service cuts them, nextToken (logs-page-token.ts);
 * - StartQuery / GetQueryResults / StopQuery: Logs Insights queries (logs-insights.ts).
 * Bodies are checked as the service checks them (logs-requests.ts). Errors are HTTP 400 with
 * `{ __type, message }` (logs-api-error.ts), which the SDK raises as its named exceptions.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { serveJsonProtocol } from './json-protocol.js';
import { LogsApiError } from './logs-api-error.js';
import { byTime, type StoredEvent } from './logs-events.js';
import { filterPatternMatcher } from './logs-filter-pattern.js';
import { MAX_QUERY_ROWS, parseInsightsQuery, runQuery, type QueryRun } from './logs-insights.js';
import { decodeToken, encodeToken, scopeOf } from './logs-page-token.js';
import {
  createGroupSchema,
  createStreamSchema,
  describeGroupsSchema,
  filterSchema,
  MAX_BATCH_EVENTS,
  parse,
  putSchema,
  queryIdSchema,
  startQuerySchema,
} from './logs-requests.js';

export interface LogsEndpointOptions {
  /** 0 (the default) takes any free port. */
  readonly port?: number;
  readonly region?: string;
  readonly accountId?: string;
  /** GetQueryResults answers Running this many times before Complete (default 0), as a real query takes a while. */
  readonly runningPolls?: number;
  /** A FilterLogEvents page holds at most this many bytes of events (default 1 MB, the service's cut). */
  readonly maxPageBytes?: number;
  /** The clock PutLogEvents judges too old / too new events by (default Date.now). */
  readonly now?: () => number;
}

export interface LogsEndpoint {
  /** http://127.0.0.1:<port>, for CloudWatchLogsClient's `endpoint`. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

// The service's limits.
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD_BYTES = 26;
const MAX_BATCH_SPAN_MS = 24 * 3600_000;
const TOO_NEW_MS = 2 * 3600_000;
const TOO_OLD_MS = 14 * 24 * 3600_000;

/** A log group, its streams and their events, in memory. */
interface Group {
  readonly name: string;
  readonly creationTime: number;
  readonly streams: Map<string, { readonly creationTime: number; readonly events: StoredEvent[] }>;
  storedBytes: number;
}

/** A started query: run at once, answered Running for `runningPolls` polls, as a real one takes a while. */
interface Query {
  status: 'Running' | 'Complete' | 'Cancelled';
  pollsLeft: number;
  readonly run: QueryRun;
  readonly recordsScanned: number;
  readonly bytesScanned: number;
  readonly groups: number;
}

export async function startLogsEndpoint(options: LogsEndpointOptions = {}): Promise<LogsEndpoint> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const now = options.now ?? Date.now;
  const maxPageBytes = options.maxPageBytes ?? MAX_BATCH_BYTES;
  const groups = new Map<string, Group>();
  const queries = new Map<string, Query>();
  let seq = 0;

  const groupArn = (name: string) => `arn:aws:logs:${region}:${accountId}:log-group:${name}`;
  const groupFor = (name: string) => {
    const group = groups.get(name);
    if (!group) throw new LogsApiError('ResourceNotFoundException', `The specified log group does not exist: ${name}`);
    return group;
  };
  /** logGroupIdentifier: a name or an ARN (with or without the trailing :*). */
  const groupByIdentifier = (identifier: string) => groupFor(identifier.startsWith('arn:') ? identifier.replace(/:\*$/, '').replace(/^.*:log-group:/, '') : identifier);

  const operations: Record<string, (body: unknown) => object> = {
    CreateLogGroup(body) {
      const { logGroupName } = parse(createGroupSchema, body);
      if (groups.has(logGroupName)) throw new LogsApiError('ResourceAlreadyExistsException', `The specified log group already exists: ${logGroupName}`);
      groups.set(logGroupName, { name: logGroupName, creationTime: now(), streams: new Map(), storedBytes: 0 });
      return {};
    },
    CreateLogStream(body) {
      const { logGroupName, logStreamName } = parse(createStreamSchema, body);
      const group = groupFor(logGroupName);
      if (group.streams.has(logStreamName)) throw new LogsApiError('ResourceAlreadyExistsException', `The specified log stream already exists: ${logStreamName}`);
      group.streams.set(logStreamName, { creationTime: now(), events: [] });
      return {};
    },
    PutLogEvents(body) {
      const request = parse(putSchema, body);
      const group = groupFor(request.logGroupName);
      const stream = group.streams.get(request.logStreamName);
      if (!stream) throw new LogsApiError('ResourceNotFoundException', `The specified log stream does not exist: ${request.logStreamName}`);
      const events = request.logEvents;
      if (events.some((e, i) => i > 0 && e.timestamp < (events[i - 1]?.timestamp ?? 0))) {
        throw new LogsApiError('InvalidParameterException', 'Log events in a single PutLogEvents request must be in chronological order.');
      }
      if ((events.at(-1)?.timestamp ?? 0) - (events[0]?.timestamp ?? 0) > MAX_BATCH_SPAN_MS) {
        throw new LogsApiError('InvalidParameterException', 'A batch of log events in a single request cannot span more than 24 hours.');
      }
      const bytes = events.reduce((sum, e) => sum + Buffer.byteLength(e.message) + EVENT_OVERHEAD_BYTES, 0);
      if (bytes > MAX_BATCH_BYTES) {
        throw new LogsApiError(
          'InvalidParameterException',
          `The batch of log events is ${bytes} bytes; at most ${MAX_BATCH_BYTES} are accepted (each message's UTF-8 bytes plus 26)`,
        );
      }
      // As the service does: events older than 14 days or more than 2 hours ahead are not stored, and said so.
      const at = now();
      const tooOldEnd = events.findLastIndex((e) => e.timestamp < at - TOO_OLD_MS) + 1;
      const tooNewStart = events.findIndex((e) => e.timestamp > at + TOO_NEW_MS);
      const kept = events.slice(tooOldEnd, tooNewStart === -1 ? undefined : tooNewStart);
      for (const e of kept) {
        stream.events.push({ timestamp: e.timestamp, message: e.message, ingestionTime: at, seq: ++seq, stream: request.logStreamName, group: group.name });
        group.storedBytes += Buffer.byteLength(e.message);
      }
      const rejected = { ...(tooOldEnd > 0 ? { tooOldLogEventEndIndex: tooOldEnd } : {}), ...(tooNewStart !== -1 ? { tooNewLogEventStartIndex: tooNewStart } : {}) };
      return Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {};
    },
    DescribeLogGroups(body) {
      const request = parse(describeGroupsSchema, body);
      if (request.logGroupNamePrefix && request.logGroupNamePattern) {
        throw new LogsApiError('InvalidParameterException', 'logGroupNamePrefix and logGroupNamePattern are mutually exclusive');
      }
      const scope = scopeOf(['groups', request.logGroupNamePrefix, request.logGroupNamePattern]);
      const after = decodeToken(request.nextToken, scope, z.object({ after: z.string() }))?.after;
      const matching = [...groups.values()]
        .filter((g) => !request.logGroupNamePrefix || g.name.startsWith(request.logGroupNamePrefix))
        .filter((g) => !request.logGroupNamePattern || g.name.toLowerCase().includes(request.logGroupNamePattern.toLowerCase()))
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .filter((g) => after === undefined || g.name > after);
      const page = matching.slice(0, request.limit ?? 50);
      const last = page.at(-1);
      return {
        logGroups: page.map((g) => ({
          logGroupName: g.name,
          creationTime: g.creationTime,
          metricFilterCount: 0,
          arn: `${groupArn(g.name)}:*`,
          logGroupArn: groupArn(g.name),
          storedBytes: g.storedBytes,
          logGroupClass: 'STANDARD',
        })),
        ...(last && matching.length > page.length ? { nextToken: encodeToken(scope, { after: last.name }) } : {}),
      };
    },
    FilterLogEvents(body) {
      const request = parse(filterSchema, body);
      if (!request.logGroupName === !request.logGroupIdentifier) {
        throw new LogsApiError('InvalidParameterException', 'Exactly one of logGroupName and logGroupIdentifier must be given');
      }
      if (request.logStreamNames && request.logStreamNamePrefix) {
        throw new LogsApiError('InvalidParameterException', 'logStreamNames and logStreamNamePrefix cannot both be given');
      }
      const group = request.logGroupName ? groupFor(request.logGroupName) : groupByIdentifier(request.logGroupIdentifier as string);
      const matches = filterPatternMatcher(request.filterPattern);
      for (const name of request.logStreamNames ?? []) {
        if (!group.streams.has(name)) throw new LogsApiError('ResourceNotFoundException', `The specified log stream does not exist: ${name}`);
      }
      const streams = [...group.streams.entries()].filter(
        ([name]) => (!request.logStreamNames || request.logStreamNames.includes(name)) && (!request.logStreamNamePrefix || name.startsWith(request.logStreamNamePrefix)),
      );
      // A token keeps to the group, streams and pattern it was issued for; the time range is the continuing
      // request's own (a caller that recomputes "the last N hours" for each page moves it a little).
      const scope = scopeOf(['filter', group.name, request.logStreamNames, request.logStreamNamePrefix, request.filterPattern]);
      // The token is the last event returned (time, arrival): events that arrive meanwhile do not shift pages.
      const after = decodeToken(request.nextToken, scope, z.object({ t: z.number(), s: z.number() }));
      const matching = streams
        .flatMap(([, s]) => s.events)
        .filter((e) => (request.startTime === undefined || e.timestamp >= request.startTime) && (request.endTime === undefined || e.timestamp <= request.endTime))
        .filter((e) => !after || e.timestamp > after.t || (e.timestamp === after.t && e.seq > after.s))
        .sort(byTime)
        .filter((e) => matches(e.message));
      const page: StoredEvent[] = [];
      let bytes = 0;
      for (const event of matching) {
        const size = Buffer.byteLength(event.message) + EVENT_OVERHEAD_BYTES;
        if (page.length === (request.limit ?? MAX_BATCH_EVENTS) || (page.length && bytes + size > maxPageBytes)) break;
        page.push(event);
        bytes += size;
      }
      const last = page.at(-1);
      return {
        events: page.map((e) => ({
          logStreamName: e.stream,
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: e.ingestionTime,
          eventId: `${e.timestamp}-${e.seq}`,
        })),
        searchedLogStreams: streams.map(([logStreamName]) => ({ logStreamName, searchedCompletely: true })),
        ...(last && matching.length > page.length ? { nextToken: encodeToken(scope, { t: last.timestamp, s: last.seq }) } : {}),
      };
    },
    StartQuery(body) {
      const request = parse(startQuerySchema, body);
      if (request.queryLanguage !== undefined && request.queryLanguage !== 'CWLI') {
        throw new LogsApiError('MalformedQueryException', `this local endpoint runs Logs Insights queries (queryLanguage CWLI), not ${request.queryLanguage}`);
      }
      const named = [request.logGroupName ? [request.logGroupName] : undefined, request.logGroupNames, request.logGroupIdentifiers].filter((g) => g !== undefined);
      if (named.length !== 1) {
        throw new LogsApiError('InvalidParameterException', 'Exactly one of logGroupName, logGroupNames and logGroupIdentifiers must be given');
      }
      if (request.endTime < request.startTime) throw new LogsApiError('InvalidParameterException', 'endTime cannot be before startTime');
      const targets = (named[0] as string[]).map((name) => {
        const group = request.logGroupIdentifiers ? groups.get(name.replace(/:\*$/, '').replace(/^.*:log-group:/, '')) : groups.get(name);
        if (!group) throw new LogsApiError('ResourceNotFoundException', `Log group '${name}' does not exist for account ID '${accountId}'`);
        return group;
      });
      const commands = parseInsightsQuery(request.queryString);
      // Both ends in whole seconds, the end second included.
      const [from, to] = [request.startTime * 1000, request.endTime * 1000 + 999];
      const events = targets
        .flatMap((g) => [...g.streams.values()].flatMap((s) => s.events))
        .filter((e) => e.timestamp >= from && e.timestamp <= to)
        .sort(byTime);
      const queryId = randomUUID();
      const runningPolls = options.runningPolls ?? 0;
      queries.set(queryId, {
        status: runningPolls > 0 ? 'Running' : 'Complete',
        pollsLeft: runningPolls,
        run: runQuery(commands, events, request.limit ?? MAX_QUERY_ROWS),
        recordsScanned: events.length,
        bytesScanned: events.reduce((sum, e) => sum + Buffer.byteLength(e.message), 0),
        groups: targets.length,
      });
      return { queryId };
    },
    GetQueryResults(body) {
      const { queryId } = parse(queryIdSchema, body);
      const query = queries.get(queryId);
      if (!query) throw new LogsApiError('ResourceNotFoundException', `No query with ID ${queryId} is known`);
      const running = query.status === 'Running';
      if (running && --query.pollsLeft <= 0) query.status = 'Complete';
      const done = !running && query.status === 'Complete';
      return {
        queryLanguage: 'CWLI',
        results: done ? query.run.rows : [],
        statistics: {
          recordsMatched: done ? query.run.recordsMatched : 0,
          recordsScanned: done ? query.recordsScanned : 0,
          bytesScanned: done ? query.bytesScanned : 0,
          estimatedRecordsSkipped: 0,
          estimatedBytesSkipped: 0,
          logGroupsScanned: query.groups,
        },
        status: running ? 'Running' : query.status,
      };
    },
    StopQuery(body) {
      const { queryId } = parse(queryIdSchema, body);
      const query = queries.get(queryId);
      if (!query) throw new LogsApiError('ResourceNotFoundException', `No query with ID ${queryId} is known`);
      if (query.status !== 'Running') throw new LogsApiError('InvalidParameterException', `Query ${queryId} is not running (it is ${query.status})`);
      query.status = 'Cancelled';
      return { success: true };
    },
  };

  const server = await serveJsonProtocol({
    service: 'CloudWatch Logs endpoint',
    targetPrefix: 'Logs_20140328.',
    contentType: 'application/x-amz-json-1.1',
    operations,
    apiError: (error) => (error instanceof LogsApiError ? { __type: error.type, message: error.message, ...error.extra } : undefined),
    unknownOperation: (target) =>
      new LogsApiError('UnknownOperationException', `This local CloudWatch Logs endpoint does not serve '${target}'; it serves ${Object.keys(operations).join(', ')}`),
    notJson: () => new LogsApiError('SerializationException', 'The request body is not valid JSON'),
    internalType: 'ServiceUnavailableException',
    ...(options.port !== undefined ? { port: options.port } : {}),
  });

  return {
    endpoint: server.endpoint,
    stop: () => server.close(),
  };
}
