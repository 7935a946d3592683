/**
 * A local Step Functions endpoint: node:http on 127.0.0.1 speaking the AWS JSON 1.0 protocol, so the
 * project's code and tools use the real SFNClient against it (with `disableHostPrefix: true`, since
 * StartSyncExecution carries a `sync-` host prefix). Each state machine runs on a DefinitionRunner.
 *
 * Unlike AWS, Express executions are kept here and served by DescribeExecution, ListExecutions and
 * GetExecutionHistory (on AWS they live only in the CloudWatch log group).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { DefinitionRunner, ExecutionRecord, ExecutionStatus } from './asl-runner.js';
import { toHistoryEvents } from './history.js';
import { serveJsonProtocol } from './json-protocol.js';

export type StateMachineType = 'EXPRESS' | 'STANDARD';

export interface LocalStateMachine {
  readonly name: string;
  readonly runner: DefinitionRunner;
  readonly definition: object;
  readonly type?: StateMachineType;
}

export interface StepFunctionsEndpointOptions {
  /** 0 (the default) takes any free port. */
  readonly port?: number;
  readonly region?: string;
  readonly accountId?: string;
  readonly stateMachines: readonly LocalStateMachine[];
  /** Executions kept for Describe/List/History; the oldest finished ones go first. Default 1000. */
  readonly maxExecutions?: number;
}

/** One execution as the endpoint keeps it: the runner's record plus its ARNs. */
export interface LocalExecution extends Omit<ExecutionRecord, 'events'> {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly stateMachineName: string;
  readonly events: ExecutionRecord['events'];
}

export interface StepFunctionsEndpoint {
  /** http://127.0.0.1:<port>, for SFNClient's `endpoint`. */
  readonly endpoint: string;
  stateMachineArn(name: string): string;
  /** Every kept execution, oldest first, as a snapshot. */
  executions(): LocalExecution[];
  /** Closes the server, then waits for executions still running in the background. */
  stop(): Promise<void>;
}

/** An API error: HTTP 400 with `{ __type, message }`, which the SDK turns into its named exception. */
export class SfnApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

const MAX_INPUT_BYTES = 262_144;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
// AWS forbids these in execution names: whitespace, brackets, wildcards, some punctuation, controls.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

interface Stored {
  readonly seq: number;
  readonly executionArn: string;
  readonly machine: LocalStateMachine & { readonly arn: string };
  readonly inputText: string;
  record: ExecutionRecord;
  readonly done: Promise<void>;
}

// ---- request bodies ----------------------------------------------------------------------------

const pageFields = {
  maxResults: z.number().int().min(0).max(MAX_PAGE).optional(),
  nextToken: z.string().min(1).max(3096).optional(),
};
const startSchema = z.object({
  stateMachineArn: z.string().min(1),
  name: z.string().optional(),
  input: z.string().optional(),
  traceHeader: z.string().optional(),
  includedData: z.enum(['ALL_DATA', 'METADATA_ONLY']).optional(),
});
const describeExecutionSchema = z.object({ executionArn: z.string().min(1), includedData: z.string().optional() });
const listExecutionsSchema = z.object({
  stateMachineArn: z.string().min(1).optional(),
  mapRunArn: z.string().optional(),
  statusFilter: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']).optional(),
  ...pageFields,
});
const historySchema = z.object({
  executionArn: z.string().min(1),
  reverseOrder: z.boolean().optional(),
  includeExecutionData: z.boolean().optional(),
  ...pageFields,
});
const describeStateMachineSchema = z.object({ stateMachineArn: z.string().min(1) });
const listStateMachinesSchema = z.object(pageFields);

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new SfnApiError(
    'ValidationException',
    `1 validation error detected: Value at '${issue?.path.join('.') ?? ''}' failed to satisfy constraint: ${issue?.message ?? 'invalid'}`,
  );
}

// ---- pagination tokens: opaque, bound to the request they came from -------------------------------

const encodeToken = (scope: string, after: number) => Buffer.from(JSON.stringify({ scope, after })).toString('base64url');

function decodeToken(token: string | undefined, scope: string): number | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = z.object({ scope: z.literal(scope), after: z.number().int() }).parse(JSON.parse(Buffer.from(token, 'base64url').toString()));
    return parsed.after;
  } catch {
    throw new SfnApiError('InvalidToken', `Invalid Token: '${token}'`);
  }
}

const pageSize = (maxResults: number | undefined) => (maxResults ? maxResults : DEFAULT_PAGE);
const seconds = (date: Date) => date.getTime() / 1000;

// ---- the server ------------------------------------------------------------------------------------

export async function startStepFunctionsEndpoint(options: StepFunctionsEndpointOptions): Promise<StepFunctionsEndpoint> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const maxExecutions = options.maxExecutions ?? 1000;
  const createdAt = new Date();
  const machineArn = (name: string) => `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
  const roleArn = (name: string) => `arn:aws:iam::${accountId}:role/${name}-local`;

  const machines = new Map<string, LocalStateMachine & { arn: string }>();
  for (const machine of options.stateMachines) {
    if (machines.has(machineArn(machine.name))) throw new Error(`state machine "${machine.name}" is configured twice`);
    machines.set(machineArn(machine.name), { ...machine, arn: machineArn(machine.name) });
  }
  const store = new Map<string, Stored>();
  // Executions still running, evicted or not: stop() waits for them.
  const pending = new Set<Promise<void>>();
  let seq = 0;

  const machineFor = (arn: string) => {
    if (!/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[^:]+$/.test(arn)) throw new SfnApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    const machine = machines.get(arn);
    if (!machine) throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  };
  const executionFor = (arn: string) => {
    if (!/^arn:aws[\w-]*:states:[\w-]+:\d{12}:(execution|express):[^:]+:[^:]+(:[^:]+)?$/.test(arn)) {
      throw new SfnApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    }
    const stored = store.get(arn);
    if (!stored) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return stored;
  };

  /** Keeps the newest maxExecutions; finished executions are dropped before running ones. */
  const evict = () => {
    while (store.size > maxExecutions) {
      const victim = [...store.values()].find((s) => s.record.status !== 'RUNNING') ?? store.values().next().value;
      if (!victim) return;
      store.delete(victim.executionArn);
    }
  };

  const start = (body: z.infer<typeof startSchema>, sync: boolean) => {
    const machine = machineFor(body.stateMachineArn);
    const type = machine.type ?? 'EXPRESS';
    if (sync && type !== 'EXPRESS') {
      throw new SfnApiError('StateMachineTypeNotSupported', 'This operation is not supported by this type of state machine');
    }
    const name = body.name ?? randomUUID();
    if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = body.input ?? '{}';
    if (Buffer.byteLength(inputText) > MAX_INPUT_BYTES) {
      throw new SfnApiError(
        'ValidationException',
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INPUT_BYTES}`,
      );
    }
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch (error) {
      throw new SfnApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
    }
    // Express executions are not idempotent on AWS: the same name starts another one (the ARN ends
    // in a UUID). Standard ones are: same name and input while running returns the running one.
    const executionArn =
      type === 'EXPRESS'
        ? `arn:aws:states:${region}:${accountId}:express:${machine.name}:${name}:${randomUUID()}`
        : `arn:aws:states:${region}:${accountId}:execution:${machine.name}:${name}`;
    const existing = store.get(executionArn);
    if (existing) {
      if (existing.record.status === 'RUNNING' && existing.inputText === inputText) return existing;
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const live: ExecutionRecord = { name, executionArn, status: 'RUNNING', input, startDate: new Date(), events: [] };
    const stored: Stored = {
      seq: ++seq,
      executionArn,
      machine,
      inputText,
      record: live,
      done: machine.runner
        .run(input, { name, executionArn, onEvent: (event) => live.events.push(event) })
        .then(
          (final) => {
            stored.record = { ...final, startDate: live.startDate, stopDate: final.stopDate ?? new Date() };
          },
          // run() does not throw for a failed execution; anything else is the runner's own fault.
          (error: unknown) => {
            stored.record = {
              ...live,
              status: 'FAILED',
              error: 'States.Runtime',
              cause: `local runner error: ${(error as Error)?.message ?? String(error)}`,
              stopDate: new Date(),
            };
          },
        ),
    };
    store.set(executionArn, stored);
    pending.add(stored.done);
    void stored.done.then(() => pending.delete(stored.done));
    evict();
    return stored;
  };

  const describe = (stored: Stored, includeData = true) => {
    const r = stored.record;
    return {
      executionArn: stored.executionArn,
      stateMachineArn: stored.machine.arn,
      name: r.name,
      status: r.status,
      startDate: seconds(r.startDate),
      ...(r.stopDate ? { stopDate: seconds(r.stopDate) } : {}),
      ...(includeData ? { input: stored.inputText, inputDetails: { included: true } } : { inputDetails: { included: false } }),
      ...(r.status === 'SUCCEEDED'
        ? includeData
          ? { output: JSON.stringify(r.output ?? null), outputDetails: { included: true } }
          : { outputDetails: { included: false } }
        : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.cause !== undefined ? { cause: r.cause } : {}),
    };
  };

  const operations: Record<string, (body: unknown) => Promise<object> | object> = {
    async StartSyncExecution(body) {
      const request = parse(startSchema, body);
      const stored = start(request, true);
      await stored.done;
      const r = stored.record;
      const described = describe(stored, request.includedData !== 'METADATA_ONLY');
      const durationMs = (r.stopDate ?? new Date()).getTime() - r.startDate.getTime();
      return {
        ...described,
        // Sync express executions end SUCCEEDED, FAILED or TIMED_OUT; still HTTP 200 when failed.
        status: r.status === 'ABORTED' ? 'FAILED' : r.status,
        billingDetails: { billedMemoryUsedInMB: 64, billedDurationInMilliseconds: Math.max(100, Math.ceil(durationMs / 100) * 100) },
      };
    },
    StartExecution(body) {
      const stored = start(parse(startSchema, body), false);
      return { executionArn: stored.executionArn, startDate: seconds(stored.record.startDate) };
    },
    DescribeExecution(body) {
      const request = parse(describeExecutionSchema, body);
      return describe(executionFor(request.executionArn), request.includedData !== 'METADATA_ONLY');
    },
    ListExecutions(body) {
      const request = parse(listExecutionsSchema, body);
      if (!request.stateMachineArn) {
        throw new SfnApiError('ValidationException', 'Must provide a StateMachine ARN or MapRun ARN');
      }
      const machine = machineFor(request.stateMachineArn);
      const after = decodeToken(request.nextToken, `list:${machine.arn}:${request.statusFilter ?? ''}`);
      // Newest first, as AWS lists them; the token is a position (seq), so new starts do not shift pages.
      const matching = [...store.values()]
        .filter((s) => s.machine.arn === machine.arn && (!request.statusFilter || s.record.status === request.statusFilter))
        .filter((s) => after === undefined || s.seq < after)
        .sort((a, b) => b.seq - a.seq);
      const page = matching.slice(0, pageSize(request.maxResults));
      const last = page.at(-1);
      return {
        executions: page.map((s) => ({
          executionArn: s.executionArn,
          stateMachineArn: s.machine.arn,
          name: s.record.name,
          status: s.record.status,
          startDate: seconds(s.record.startDate),
          ...(s.record.stopDate ? { stopDate: seconds(s.record.stopDate) } : {}),
        })),
        ...(last && matching.length > page.length
          ? { nextToken: encodeToken(`list:${machine.arn}:${request.statusFilter ?? ''}`, last.seq) }
          : {}),
      };
    },
    GetExecutionHistory(body) {
      const request = parse(historySchema, body);
      const stored = executionFor(request.executionArn);
      const reverse = request.reverseOrder ?? false;
      const scope = `history:${stored.executionArn}:${reverse}`;
      const after = decodeToken(request.nextToken, scope);
      let events = toHistoryEvents(
        { status: stored.record.status, events: stored.record.events, error: stored.record.error, cause: stored.record.cause },
        {
          definition: stored.machine.definition,
          region,
          roleArn: roleArn(stored.machine.name),
          includeExecutionData: request.includeExecutionData ?? true,
        },
      );
      if (reverse) events = events.reverse();
      // The token is the last event id returned, so a running execution's new events do not shift pages.
      const rest = after === undefined ? events : events.filter((e) => (reverse ? e.id < after : e.id > after));
      const page = rest.slice(0, pageSize(request.maxResults));
      const last = page.at(-1);
      return { events: page, ...(last && rest.length > page.length ? { nextToken: encodeToken(scope, last.id) } : {}) };
    },
    DescribeStateMachine(body) {
      const machine = machineFor(parse(describeStateMachineSchema, body).stateMachineArn);
      return {
        stateMachineArn: machine.arn,
        name: machine.name,
        status: 'ACTIVE',
        definition: JSON.stringify(machine.definition),
        roleArn: roleArn(machine.name),
        type: machine.type ?? 'EXPRESS',
        creationDate: seconds(createdAt),
        loggingConfiguration: { level: 'OFF', includeExecutionData: false },
        tracingConfiguration: { enabled: false },
      };
    },
    ListStateMachines(body) {
      const request = parse(listStateMachinesSchema, body);
      const all = [...machines.values()].sort((a, b) => a.name.localeCompare(b.name));
      const offset = decodeToken(request.nextToken, 'machines') ?? 0;
      const page = all.slice(offset, offset + pageSize(request.maxResults));
      const next = offset + page.length;
      return {
        stateMachines: page.map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.type ?? 'EXPRESS', creationDate: seconds(createdAt) })),
        ...(next < all.length ? { nextToken: encodeToken('machines', next) } : {}),
      };
    },
  };

  const server = await serveJsonProtocol({
    service: 'Step Functions endpoint',
    targetPrefix: 'AWSStepFunctions.',
    contentType: 'application/x-amz-json-1.0',
    operations,
    apiError: (error) => (error instanceof SfnApiError ? { __type: error.type, message: error.message } : undefined),
    unknownOperation: (target) => new SfnApiError('UnknownOperationException', `Unknown operation: '${target}'`),
    notJson: () => new SfnApiError('SerializationException', 'The request body is not valid JSON'),
    internalType: 'InternalFailure',
    ...(options.port !== undefined ? { port: options.port } : {}),
  });

  return {
    endpoint: server.endpoint,
    stateMachineArn: machineArn,
    executions: () =>
      [...store.values()].map((s) => ({
        ...s.record,
        events: [...s.record.events],
        executionArn: s.executionArn,
        stateMachineArn: s.machine.arn,
        stateMachineName: s.machine.name,
      })),
    async stop() {
      await server.close();
      await Promise.allSettled([...pending]);
    },
  };
}

export type { ExecutionStatus };
