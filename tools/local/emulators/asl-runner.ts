/**
 * Runs an ASL definition here with aws-local-stepfunctions, binding every Task to something real:
 * Lambda ARNs to the project's handlers, DynamoDB and SQS service integrations to real SDK calls
 * against the local servers. Binding is fail-closed: a Task with nothing bound refuses to run,
 * since the library would otherwise call the real AWS Lambda at that ARN.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { StateMachine } from 'aws-local-stepfunctions';

/** One entry of aws-local-stepfunctions' event log (the type is not exported by name). */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

type Json = unknown;

/**
 * The region of the "Forward to regions" iteration a state event happened in: the `region` field of the
 * state's input, which every state of the iteration carries, the Settle map's included (workflows/forward-branch.ts).
 * Undefined for events outside it (and for events that hold no state).
 */
export function eventRegion(event: EventLog): string | null | undefined {
  if (!('state' in event)) return undefined;
  const input = event.state.input;
  if (!input || typeof input !== 'object' || Array.isArray(input) || !('region' in input)) return undefined;
  const region = (input as { region?: unknown }).region;
  return typeof region === 'string' || region === null ? region : undefined;
}

/** A state event of `type` in state `name`, in the iteration of `region` when one is given. */
export function isStateEvent(event: EventLog, type: EventLog['type'], name: string, region?: string | null): boolean {
  if (event.type !== type || !('state' in event) || event.state.name !== name) return false;
  return region === undefined || eventRegion(event) === region;
}
/** A Lambda handler as the runtime calls it. */
export type LambdaHandler = (event: never, context: never) => Promise<unknown> | unknown;

export interface Bindings {
  /** Lambda function ARN -> handler. */
  readonly lambdas: Readonly<Record<string, LambdaHandler>>;
  /** For arn:aws:states:::dynamodb:* tasks. */
  readonly dynamodb?: DynamoDBClient;
  /** For arn:aws:states:::sqs:* tasks (the state machine's own region). */
  readonly sqs?: SQSClient;
}

/** A bound Task as the engine calls it: one call per attempt, with the state's resolved Parameters. */
export type TaskHandler = (input: Json) => Promise<Json>;

export interface RunnerOptions {
  /** Replace every Retry interval and every Wait by this many milliseconds (tests); AWS timing when absent. */
  readonly retryIntervalMs?: number;
  /**
   * Scale every Retry's IntervalSeconds and MaxDelaySeconds, and every Wait's Seconds, by this factor
   * (chaos runs at 1/10 of deployed time), keeping BackoffRate, the caps and the jitter as Step Functions
   * computes them, so a retry's reach in time stays faithful. Ignored when retryIntervalMs is given.
   */
  readonly retryScale?: number;
  /**
   * Wraps each bound Task by state name (fault injection, observation): called once per Task when the
   * runner is built; the handler it returns runs for every attempt of that state. Absent: as bound.
   */
  readonly wrapTask?: (stateName: string, handler: TaskHandler) => TaskHandler;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  readonly name: string;
  /** $$.Execution.Id as the states saw it. */
  readonly executionArn: string;
  status: ExecutionStatus;
  readonly input: Json;
  output?: Json;
  error?: string;
  cause?: string;
  readonly startDate: Date;
  stopDate?: Date;
  /** aws-local-stepfunctions' event log, in order. */
  readonly events: EventLog[];
}

export class UnboundTaskError extends Error {
  override name = 'UnboundTaskError';
}

/** A task error as Step Functions names it, so Retry and Catch match as they do on AWS. */
class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

interface TaskState {
  readonly name: string;
  readonly resource: string;
}

interface StateNode {
  Type?: string;
  Resource?: string;
  Retry?: unknown[];
  States?: Record<string, StateNode>;
  Branches?: StateNode[];
  Iterator?: StateNode;
  ItemProcessor?: StateNode;
}

/** Every state of the definition at every depth, checking that names are unique (AWS requires it). */
function walk(definition: StateNode): Array<[string, StateNode]> {
  const found: Array<[string, StateNode]> = [];
  const seen = new Set<string>();
  const visit = (machine: StateNode) => {
    for (const [name, state] of Object.entries(machine.States ?? {})) {
      if (seen.has(name)) throw new Error(`state name "${name}" is used twice; names must be unique in the whole definition`);
      seen.add(name);
      found.push([name, state]);
      for (const branch of state.Branches ?? []) visit(branch);
      if (state.Iterator) visit(state.Iterator);
      if (state.ItemProcessor) visit(state.ItemProcessor);
    }
  };
  visit(definition);
  return found;
}

const serviceErrorName = (service: string, error: unknown) => {
  const name = (error as Error)?.name;
  // Network failures have no AWS error code; AWS would report the SDK's client exception.
  const code = !name || name === 'Error' || name === 'TimeoutError' ? 'SdkClientException' : name;
  return `${service}.${code}`;
};

function dynamoTask(client: DynamoDBClient | undefined, action: string, stateName: string) {
  if (!client) throw new UnboundTaskError(`task "${stateName}" calls DynamoDB but no DynamoDB client is bound`);
  const commands: Record<string, new (input: never) => unknown> = {
    putItem: PutItemCommand,
    getItem: GetItemCommand,
    updateItem: UpdateItemCommand,
    deleteItem: DeleteItemCommand,
  };
  const Command = commands[action];
  if (!Command) throw new UnboundTaskError(`task "${stateName}": DynamoDB action ${action} is not supported locally`);
  return async (input: Json) => {
    try {
      const { $metadata: _, ...output } = (await client.send(new Command(input as never) as never)) as unknown as Record<string, unknown>;
      return output as Json;
    } catch (error) {
      const name = serviceErrorName('DynamoDB', error);
      throw new TaskError(name, `${(error as Error).message} (Service: DynamoDB, Error Code: ${name.slice(9)})`);
    }
  };
}

function sqsTask(client: SQSClient | undefined, action: string, stateName: string) {
  if (!client) throw new UnboundTaskError(`task "${stateName}" calls SQS but no SQS client is bound`);
  if (action !== 'sendMessage') throw new UnboundTaskError(`task "${stateName}": SQS action ${action} is not supported locally`);
  return async (input: Json) => {
    try {
      const { $metadata: _, ...output } = await client.send(new SendMessageCommand(input as never));
      return output as Json;
    } catch (error) {
      const name = serviceErrorName('SQS', error);
      throw new TaskError(name, `${(error as Error).message} (Service: SQS, Error Code: ${name.slice(4)})`);
    }
  };
}

function lambdaTask(handler: LambdaHandler, arn: string) {
  const functionName = arn.split(':').at(-1) ?? arn;
  return async (input: Json) => {
    const context = {
      functionName,
      invokedFunctionArn: arn,
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => 60_000,
    };
    try {
      // A JSON round trip, as the Lambda service does: no shared references, no undefined.
      const result = await handler(JSON.parse(JSON.stringify(input ?? null)) as never, context as never);
      return (result === undefined ? null : JSON.parse(JSON.stringify(result))) as Json;
    } catch (error) {
      const err = error as Error;
      // On AWS a Lambda error's Cause is this JSON string; Error is the error's name.
      throw new TaskError(err.name || 'Error', JSON.stringify({ errorType: err.name, errorMessage: err.message, trace: [] }));
    }
  };
}

/** The local handler for each Task state, by state name; throws UnboundTaskError for any Task left unbound. */
type LocalHandlers = NonNullable<NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']>;
type LocalHandler = LocalHandlers[string];

export function bindTasks(definition: object, bindings: Bindings): Record<string, LocalHandler> {
  const tasks: TaskState[] = walk(definition as StateNode)
    .filter(([, state]) => state.Type === 'Task')
    .map(([name, state]) => ({ name, resource: String(state.Resource) }));
  const handlers: Record<string, LocalHandler> = {};
  for (const task of tasks) {
    const integration = /^arn:aws:states:::(\w+):(\w+)$/.exec(task.resource);
    if (integration) {
      const [, service, action] = integration as unknown as [string, string, string];
      if (service === 'dynamodb') handlers[task.name] = dynamoTask(bindings.dynamodb, action, task.name) as unknown as LocalHandler;
      else if (service === 'sqs') handlers[task.name] = sqsTask(bindings.sqs, action, task.name) as unknown as LocalHandler;
      else throw new UnboundTaskError(`task "${task.name}": service integration ${task.resource} is not supported locally`);
      continue;
    }
    const handler = bindings.lambdas[task.resource];
    if (!handler) throw new UnboundTaskError(`task "${task.name}": no local handler is bound to ${task.resource}`);
    handlers[task.name] = lambdaTask(handler, task.resource) as unknown as LocalHandler;
  }
  return handlers;
}

/** A deep copy of the definition with every Retry's interval and cap, and every Wait's Seconds, times `scale`. */
export function scaledTimes(definition: object, scale: number): object {
  if (!(scale > 0)) throw new RangeError(`retryScale must be a positive number, not ${scale}`);
  const copy = structuredClone(definition) as StateNode;
  for (const [, state] of walk(copy)) {
    for (const retrier of (state.Retry ?? []) as Array<{ IntervalSeconds?: number; MaxDelaySeconds?: number }>) {
      retrier.IntervalSeconds = (retrier.IntervalSeconds ?? 1) * scale;
      if (retrier.MaxDelaySeconds !== undefined) retrier.MaxDelaySeconds *= scale;
    }
    const wait = state as { Type?: string; Seconds?: number };
    if (wait.Type === 'Wait' && typeof wait.Seconds === 'number') wait.Seconds *= scale;
  }
  return copy;
}

/** Step Functions' limit on an execution's input and output and on every state's input and output. */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;

function payloadOverLimit(what: string, payload: unknown): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(payload ?? null), 'utf8');
  return bytes > PAYLOAD_LIMIT_BYTES ? `${what} is ${bytes} bytes, over the ${PAYLOAD_LIMIT_BYTES}-byte limit` : undefined;
}

export interface RunOptions {
  readonly name?: string;
  /**
   * The execution's unique id ($$.Execution.Id): its ARN, which on AWS ends in a UUID for Express
   * executions, so two runs under one name differ. Made up when absent.
   */
  readonly executionArn?: string;
  readonly onEvent?: (event: EventLog) => void;
}

export interface DefinitionRunner {
  /** Runs one execution to its end; never throws for a failed execution (see status). */
  run(input: Json, options?: RunOptions): Promise<ExecutionRecord>;
}

/** Validates and binds once (StateMachine construction costs hundreds of ms), runs many times. */
export function createRunner(definition: object, bindings: Bindings, options: RunnerOptions = {}): DefinitionRunner {
  const bound = bindTasks(definition, bindings);
  const wrapTask = options.wrapTask;
  const taskResourceLocalHandlers = wrapTask
    ? Object.fromEntries(
        Object.entries(bound).map(([name, handler]) => [name, wrapTask(name, handler as unknown as TaskHandler) as unknown as LocalHandler]),
      )
    : bound;
  const validated = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  // The scaled copy has fractional seconds, which ASL's schema refuses: the definition as written was
  // validated just above, and its scaled twin differs only in those numbers.
  const scale = options.retryIntervalMs === undefined ? options.retryScale : undefined;
  const machine = scale === undefined ? validated : new StateMachine(scaledTimes(definition, scale) as never, { validationOptions: { noValidate: true } });
  const retryIntervalOverrides =
    options.retryIntervalMs === undefined
      ? undefined
      : Object.fromEntries(
          walk(definition as StateNode)
            .filter(([, state]) => state.Retry?.length)
            .map(([name]) => [name, options.retryIntervalMs as number]),
        );

  // Wait states back off like retries do: shortened by the same option.
  const waitTimeOverrides =
    options.retryIntervalMs === undefined
      ? undefined
      : Object.fromEntries(
          walk(definition as StateNode)
            .filter(([, state]) => state.Type === 'Wait')
            .map(([name]) => [name, options.retryIntervalMs as number]),
        );

  return {
    async run(input, runOptions = {}) {
      const name = runOptions.name ?? randomUUID();
      const executionArn = runOptions.executionArn ?? `arn:aws:states:local:000000000000:express:local:${name}:${randomUUID()}`;
      const record: ExecutionRecord = {
        name,
        executionArn,
        status: 'RUNNING',
        input,
        startDate: new Date(),
        events: [],
      };
      const execution = machine.run(input as never, {
        overrides: {
          taskResourceLocalHandlers,
          ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}),
          ...(waitTimeOverrides ? { waitTimeOverrides } : {}),
        },
        // The engine fills in Input and StartTime; the id and name are ours to give, as AWS gives them.
        context: { Execution: { Id: executionArn, Name: name } },
      });
      // Step Functions fails an execution whose input, or any state's input or output, passes 256 KiB;
      // the local engine has no such limit, so it is enforced here (as soon as the log shows it).
      let overLimit: string | undefined = payloadOverLimit('the execution input', input);
      if (overLimit) execution.abort();
      const drained = (async () => {
        for await (const event of execution.eventLogs) {
          record.events.push(event);
          runOptions.onEvent?.(event);
          if (!overLimit && (event.type === 'StateEntered' || event.type === 'StateExited')) {
            const payload = event.type === 'StateEntered' ? event.state.input : event.state.output;
            overLimit = payloadOverLimit(`state '${event.state.name}' ${event.type === 'StateEntered' ? 'input' : 'output'}`, payload);
            if (overLimit) execution.abort();
          }
        }
      })();
      try {
        record.output = await execution.result;
        record.status = 'SUCCEEDED';
        await drained.catch(() => undefined);
        overLimit ??= payloadOverLimit('the execution output', record.output);
        if (overLimit) throw new Error(overLimit);
      } catch (error) {
        const err = error as Error & { cause?: unknown };
        record.status = err.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : err.name === 'ExecutionAbortedError' ? 'ABORTED' : 'FAILED';
        const failed = record.events.findLast((event) => event.type === 'ExecutionFailed') as
          | { Error?: string; Cause?: string }
          | undefined;
        await drained.catch(() => undefined);
        const last = record.events.findLast((event) => event.type === 'ExecutionFailed') as
          | { Error?: string; Cause?: string }
          | undefined;
        record.error = (last ?? failed)?.Error ?? (record.status === 'TIMED_OUT' ? 'States.Timeout' : err.name);
        record.cause = (last ?? failed)?.Cause ?? err.message;
      }
      await drained.catch(() => undefined);
      if (overLimit) {
        record.status = 'FAILED';
        record.error = 'States.DataLimitExceeded';
        record.cause = overLimit;
        delete record.output;
      }
      record.stopDate = new Date();
      return record;
    },
  };
}
