/**
 * `invoke FILE`: call the intake handler once with an SQS event from a file (tools/cli/sqs-event.json is
 * a sample), against the running local stack, and print its partial batch response. The way to try a
 * hand-made batch without going through the master queue.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent } from 'aws-lambda';
import { Command } from 'commander';
import { z } from 'zod';
import { createLocalIntake } from '../../local/dispatch.js';
import type { LocalResources } from '../../local/resources.js';
import { readStackFile } from '../stack-file.js';

const recordSchema = z.looseObject({
  messageId: z.string().min(1),
  body: z.string(),
  attributes: z.looseObject({ ApproximateReceiveCount: z.string().optional() }).default({}),
});
const eventSchema = z.looseObject({ Records: z.array(recordSchema).min(1, 'Records must hold at least one record').max(10_000) });

export function readEvent(path: string): SQSEvent {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read an SQS event from ${path}: ${(error as Error).message}`);
  }
  const parsed = eventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path} is not an SQS event: ${issue?.path.join('.') || 'event'}: ${issue?.message}`);
  }
  return parsed.data as unknown as SQSEvent;
}

export function invokeCommand(): Command {
  return new Command('invoke')
    .description('call the intake once with an SQS event from a file (sample: tools/cli/sqs-event.json), on the local stack')
    .argument('<file>', 'SQS event JSON: { "Records": [ ... ] }')
    .option('--log-level <level>', "the functions' log level", 'INFO')
    .action(async (file: string, options: { logLevel: string }) => {
      const event = readEvent(file);
      const stack = readStackFile();
      // The stack file holds what the intake's config is built from (the master queue ARN is not needed).
      const resources: LocalResources = { ...stack, masterQueueArn: '' };
      const intake = createLocalIntake(resources, stack.endpoints, stack.endpoints.stepFunctions, { settings: { logLevel: options.logLevel } });
      const context = { functionName: 'intake (local invoke)', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 100_000 };
      let response;
      try {
        response = await intake.handler(event, context as unknown as Context);
      } finally {
        intake.close();
      }
      console.log(JSON.stringify(response, null, 2));
      const failed = response.batchItemFailures.length;
      console.error(`${event.Records.length} record(s): ${event.Records.length - failed} done, ${failed} to be retried by SQS`);
    });
}
