/**
 * Intake: the master queue's event source handler. Validates every record; sends invalid ones to the
 * dispatch DLQ at once with the reason; starts one synchronous Express execution per batch (split to
 * fit the payload limit); maps each message's outcome back to SQS partial batch failures.
 */
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import { StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sfnClient, sqsClient } from '../aws/clients.js';
import { sendBatch } from '../aws/send-batch.js';
import { batchIdFor, fitsAlone, MAX_PAYLOAD_BYTES, planExecutions, splitRepeats } from '../core/batching.js';
import { config, required, type DispatchConfig } from '../core/config.js';
import {
  countOutcomes,
  executionOutputSchema,
  failedExecutionOutcomes,
  flattenOutcomes,
  isDone,
  type Outcome,
} from '../core/outcomes.js';
import type { Envelope, ExecutionInput } from '../core/placement.js';
import { parseRequest } from '../core/request.js';
import { logger } from './logger.js';

const log = logger('intake');

interface Invalid {
  readonly record: SQSRecord;
  readonly reason: string;
}

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
    const envelope: Envelope = {
      messageId: record.messageId,
      requestId: parsed.request.request_id,
      body: record.body,
      priority: parsed.request.priority,
    };
    if (!fitsAlone(envelope)) {
      invalid.push({ record, reason: `too large: the request does not fit the workflow payload limit of ${MAX_PAYLOAD_BYTES / 1024} KiB` });
    } else {
      valid.push(envelope);
    }
  }
  return { valid, invalid };
}

/** Invalid records go to the dispatch DLQ with the reason; one the DLQ does not take is retried, never dropped. */
async function deadLetterInvalid(cfg: DispatchConfig, invalid: readonly Invalid[], batchId: string): Promise<Outcome[]> {
  if (!invalid.length) return [];
  const dlqUrl = required(cfg.dispatchDeadLetterQueueUrl, 'DISPATCH_DLQ_URL');
  const results = await sendBatch(
    sqsClient(cfg, cfg.homeRegion),
    dlqUrl,
    invalid.map(({ record, reason }) => ({
      id: record.messageId,
      body: record.body,
      attributes: {
        // SQS attribute values are limited to 256 KiB together; a reason is short but is cut to be safe.
        reason: reason.slice(0, 1024),
        source_message_id: record.messageId,
        receive_count: record.attributes.ApproximateReceiveCount ?? '1',
        batch_id: batchId,
      },
    })),
  );
  return invalid.map(({ record, reason }, i) => {
    const result = results[i];
    return result?.ok
      ? { messageId: record.messageId, outcome: 'dead-lettered', reason }
      : { messageId: record.messageId, outcome: 'retry', reason: `${reason}; dead-letter queue unavailable: ${result?.error}` };
  });
}

async function runExecution(cfg: DispatchConfig, input: ExecutionInput): Promise<Outcome[]> {
  const ids = input.messages.map((m) => m.messageId);
  try {
    const response = await sfnClient(cfg).send(
      new StartSyncExecutionCommand({
        stateMachineArn: required(cfg.stateMachineArn, 'STATE_MACHINE_ARN'),
        name: input.executionName,
        input: JSON.stringify(input),
      }),
    );
    // A sync execution that fails is still HTTP 200: the status says so.
    if (response.status !== 'SUCCEEDED') {
      const reason = `execution ${input.executionName} ${response.status}: ${response.error ?? ''} ${response.cause ?? ''}`.trim();
      log.error('execution did not succeed', { executionName: input.executionName, status: response.status, error: response.error, cause: response.cause });
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
    log.error('execution not started', { executionName: input.executionName, error: `${err.name}: ${err.message}` });
    return failedExecutionOutcomes(ids, `execution ${input.executionName} not run: ${err.name}: ${err.message}`);
  }
}

/** One outcome per record, in record order. */
export async function processBatch(records: readonly SQSRecord[], cfg: DispatchConfig, now = new Date()): Promise<Outcome[]> {
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
    deadLetterInvalid(cfg, invalid, batchId),
    ...executions.map((input) => runExecution(cfg, input)),
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
  log.info('batch done', { batchId, executions: executions.map((e) => e.executionName), ...countOutcomes(outcomes) });
  for (const outcome of outcomes.filter((o) => o.outcome !== 'dispatched')) log.info('not dispatched', { batchId, ...outcome });
  return outcomes;
}

/** The middleware wants one settled promise per record: rejected ones become batchItemFailures. */
export const toSettled = (outcomes: readonly Outcome[]): PromiseSettledResult<Outcome>[] =>
  outcomes.map((outcome) =>
    isDone(outcome) ? { status: 'fulfilled', value: outcome } : { status: 'rejected', reason: new Error(outcome.reason) },
  );

/** What Lambda calls: the middleware turns the settled results into { batchItemFailures }. */
export const handler = middy(async (event: SQSEvent) => toSettled(await processBatch(event.Records, config()))).use(
  // Failures are already logged above with their reasons; the middleware's own log would repeat them.
  sqsPartialBatchFailure({ logger: false as never }),
) as unknown as (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
