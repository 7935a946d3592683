/**
 * Intake: the master queue's event source handler. Validates every record; sends invalid ones to the
 * dispatch DLQ at once with the reason (once, even when the batch is delivered again); starts one
 * synchronous Express execution per batch (split to fit the payload limit), cut before the intake's
 * own timeout; maps each message's outcome back to SQS partial batch failures.
 */
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import { StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { deadLetterInvalid } from '../aws/intake-dead-letters.js';
import { batchIdFor, planExecutions, splitRepeats, tooLargeReason } from '../core/batching.js';
import { required } from '../core/config.js';
import {
  BATCH_DONE_MESSAGE,
  countOutcomes,
  executionOutputSchema,
  failedExecutionOutcomes,
  flattenOutcomes,
  isDone,
  type Outcome,
} from '../core/outcomes.js';
import type { Envelope, ExecutionInput } from '../core/placement.js';
import { parseRequest } from '../core/request.js';
import { SMOKE_ATTRIBUTE, smokeRunOf } from '../core/smoke.js';
import { TIMEOUTS } from '../core/topology.js';
import { builtOnFirstCall, dependenciesFromEnvironment, resolve, type HandlerDependencies, type Resolved } from './dependencies.js';
import { withLambdaContext } from './logger.js';
import { deadLetterClass, withMetrics, type MetricsRecorder } from './metrics.js';
import { traced } from './tracing.js';

/**
 * What a log line keeps of a free-text reason, error or cause (docs/deploy.md, Security). A failed
 * execution's cause can quote the state's whole input, message bodies included (AWS's States.Runtime
 * causes do, after their own explanation), and every message of that execution repeats it in its
 * reason. The input starts with the batch's identifiers, so the first 300 characters hold no body.
 * The full text stays in the execution's own log, under its name.
 */
export const LOGGED_TEXT_CHARS = 300;
const forLog = (text: string | undefined) =>
  text === undefined || text.length <= LOGGED_TEXT_CHARS ? text : `${text.slice(0, LOGGED_TEXT_CHARS)}... (${text.length} characters)`;

interface Invalid {
  readonly record: SQSRecord;
  readonly reason: string;
}

/** The smoke run a record is marked with (core/smoke.ts), or undefined. */
export const smokeOf = (record: SQSRecord): string | undefined => smokeRunOf(record.messageAttributes?.[SMOKE_ATTRIBUTE]?.stringValue);

/** Splits records into valid envelopes and invalid records with their reasons. */
export function triage(records: readonly SQSRecord[]): { valid: Envelope[]; invalid: Invalid[] } {
  const valid: Envelope[] = [];
  const invalid: Invalid[] = [];
  for (const record of records) {
    const parsed = parseRequest(record.body);
    if (!parsed.ok) {
      invalid.push({ record, reason: `invalid request: ${parsed.reason}` });
      continue;
    }
    const smoke = smokeOf(record);
    const envelope: Envelope = {
      messageId: record.messageId,
      requestId: parsed.request.request_id,
      body: record.body,
      priority: parsed.request.priority,
      ...(smoke ? { smoke } : {}),
    };
    const tooLarge = tooLargeReason(envelope);
    if (tooLarge) {
      invalid.push({ record, reason: tooLarge });
    } else {
      valid.push(envelope);
    }
  }
  return { valid, invalid };
}

/** Invalid records go to the dispatch DLQ with the reason, once; one the DLQ does not take is retried, never dropped. */
async function deadLetter({ config: cfg, clients, log }: Resolved, invalid: readonly Invalid[], batchId: string, now: Date): Promise<Outcome[]> {
  if (!invalid.length) return [];
  const results = await deadLetterInvalid(
    {
      sqs: clients.sqs(cfg.homeRegion),
      dynamo: clients.dynamo({ requestTimeoutMs: 2000, maxAttempts: 2 }),
      tableName: cfg.idempotencyTableName,
      queueUrl: required(cfg.dispatchDeadLetterQueueUrl, 'DISPATCH_DLQ_URL'),
      batchId,
      nowSeconds: Math.floor(now.getTime() / 1000),
      log,
    },
    invalid.map(({ record, reason }) => ({
      messageId: record.messageId,
      body: record.body,
      reason,
      receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
    })),
  );
  return results.map((r) => ({ messageId: r.messageId, outcome: r.done ? 'dead-lettered' : 'retry', reason: r.reason }));
}

async function runExecution(
  { config: cfg, clients, log }: Resolved,
  input: ExecutionInput,
  deadlineMs: number,
  metrics?: MetricsRecorder,
): Promise<Outcome[]> {
  const ids = input.messages.map((m) => m.messageId);
  try {
    const started = performance.now();
    const response = await clients.sfn().send(
      new StartSyncExecutionCommand({
        stateMachineArn: required(cfg.stateMachineArn, 'STATE_MACHINE_ARN'),
        name: input.executionName,
        input: JSON.stringify(input),
      }),
      // The SDK may retry a call whose answer was lost; it must still end before the intake's own
      // timeout, so that the batch gets its answer (retry) instead of failing whole.
      { abortSignal: AbortSignal.timeout(Math.max(1000, deadlineMs - Date.now())) },
    );
    // How long the intake waited for the execution (it ran, whatever its status).
    metrics?.add('executionDuration', Math.round(performance.now() - started));
    // A sync execution that fails is still HTTP 200: the status says so.
    if (response.status !== 'SUCCEEDED') {
      const reason = `execution ${input.executionName} ${response.status}: ${response.error ?? ''} ${response.cause ?? ''}`.trim();
      log.error('execution did not succeed', { executionName: input.executionName, status: response.status, error: response.error, cause: forLog(response.cause) });
      return failedExecutionOutcomes(ids, reason);
    }
    const output = executionOutputSchema.safeParse(JSON.parse(response.output ?? 'null'));
    if (!output.success) {
      log.error('execution output unreadable', { executionName: input.executionName, issues: output.error.issues });
      return failedExecutionOutcomes(ids, `execution ${input.executionName} returned an unreadable output`);
    }
    return flattenOutcomes(ids, output.data);
  } catch (error) {
    // Throttled past the SDK's retries, or the service unreachable: these messages come back later.
    const err = error as Error;
    log.error('execution not started', { executionName: input.executionName, error: forLog(`${err.name}: ${err.message}`) });
    return failedExecutionOutcomes(ids, `execution ${input.executionName} not run: ${err.name}: ${err.message}`);
  }
}

/** Room kept before the intake's timeout to answer the event source mapping. */
export const INTAKE_ANSWER_MARGIN_MS = 3000;

/**
 * The batch's metrics (core/metrics.ts), from its outcomes. Smoke requests (`smokeIds`, master message
 * ids: core/smoke.ts) are left out of the outcome counts, whatever their outcome, so that a deploy's
 * check does not show as traffic; the batch's log line counts them (`smoke`).
 */
export function recordOutcomes(metrics: MetricsRecorder, recordCount: number, all: readonly Outcome[], smokeIds: ReadonlySet<string> = new Set()): void {
  const outcomes = all.filter((o) => !smokeIds.has(o.messageId));
  const counts = countOutcomes(outcomes);
  metrics.add('batchSize', recordCount);
  metrics.add('dispatched', counts.dispatched);
  metrics.add('duplicates', counts.duplicate);
  metrics.add('retried', counts.retry);
  for (const outcome of outcomes) {
    if (outcome.outcome === 'dead-lettered') metrics.add('deadLettered', 1, { ReasonClass: deadLetterClass(outcome.reason) });
  }
}

/** One outcome per record, in record order. */
async function processBatch(
  deps: Resolved,
  records: readonly SQSRecord[],
  now = new Date(),
  deadlineMs = now.getTime() + TIMEOUTS.intakeTimeoutSeconds * 1000 - INTAKE_ANSWER_MARGIN_MS,
  metrics?: MetricsRecorder,
): Promise<Outcome[]> {
  const { config: cfg, log } = deps;
  const batchId = batchIdFor(records.map((r) => r.messageId), now);
  const { valid, invalid } = triage(records);
  const { first, repeats } = splitRepeats(valid);
  const executions = planExecutions(first, {
    batchId,
    now,
    claimLeaseSeconds: cfg.claimLeaseSeconds,
    idempotencyTtlSeconds: cfg.idempotencyTtlSeconds,
  });
  const results = await Promise.all([
    deadLetter(deps, invalid, batchId, now),
    ...executions.map((input) => runExecution(deps, input, deadlineMs, metrics)),
  ]);
  const repeated: Outcome[] = repeats.map((m) => ({
    messageId: m.messageId,
    requestId: m.requestId,
    outcome: 'duplicate',
    reason: 'request_id repeated within this batch',
  }));
  const byId = new Map([...results.flat(), ...repeated].map((o) => [o.messageId, o]));
  const outcomes = records.map(
    (r): Outcome => byId.get(r.messageId) ?? { messageId: r.messageId, outcome: 'retry', reason: 'no outcome recorded' },
  );
  const smokeIds = new Set(records.filter((r) => smokeOf(r)).map((r) => r.messageId));
  if (metrics) recordOutcomes(metrics, records.length, outcomes, smokeIds);
  log.info(BATCH_DONE_MESSAGE, {
    batchId,
    executions: executions.map((e) => e.executionName),
    ...countOutcomes(outcomes),
    ...(smokeIds.size ? { smoke: smokeIds.size } : {}),
  });
  for (const outcome of outcomes.filter((o) => o.outcome !== 'dispatched')) log.info('not dispatched', { batchId, ...outcome, reason: forLog(outcome.reason) });
  return outcomes;
}

/** The middleware wants one settled promise per record: rejected ones become batchItemFailures. */
export const toSettled = (outcomes: readonly Outcome[]): PromiseSettledResult<Outcome>[] =>
  outcomes.map((outcome) =>
    isDone(outcome) ? { status: 'fulfilled', value: outcome } : { status: 'rejected', reason: new Error(outcome.reason) },
  );

export type IntakeHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * The intake over its config (STATE_MACHINE_ARN and DISPATCH_DLQ_URL required) and clients: the Lambda
 * context in every log record, the invocation traced where a tracer is configured, the batch's metrics
 * written when it ends, and the middleware turning the settled results into { batchItemFailures }.
 */
export function createIntakeHandler(dependencies: HandlerDependencies): IntakeHandler {
  const deps = resolve('intake', dependencies);
  return middy(async (event: SQSEvent, context: Context) =>
    withMetrics('intake', deps.log, deps.metrics, async (metrics) => {
      const now = new Date();
      const remaining = context?.getRemainingTimeInMillis?.() ?? TIMEOUTS.intakeTimeoutSeconds * 1000;
      return toSettled(await processBatch(deps, event.Records, now, now.getTime() + remaining - INTAKE_ANSWER_MARGIN_MS, metrics));
    }),
  )
    .use(withLambdaContext(deps.log))
    .use(traced())
    .use(
      // Failures are already logged above with their reasons; the middleware's own log would repeat them.
      sqsPartialBatchFailure({ logger: false as never }),
    ) as unknown as IntakeHandler;
}

/** What Lambda calls: the intake over the function's environment. */
export const handler: IntakeHandler = builtOnFirstCall(() => createIntakeHandler(dependenciesFromEnvironment()));
