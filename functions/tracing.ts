/**
 * X-Ray through Powertools Tracer, on Lambda only. Powertools itself turns tracing off away from Lambda
 * (no AWS_EXECUTION_ENV) or with POWERTOOLS_TRACE_ENABLED=false, but importing it loads the X-Ray SDK,
 * which installs an async hook on the whole process at import (cls-hooked) and, without a segment,
 * logs "context missing" errors: so the tracer is loaded only where it can trace. The local stack, the
 * CLI, the benches and the tests never load it, and no X-Ray daemon is needed anywhere but on Lambda.
 *
 * Where it traces, the SQS and DynamoDB clients are captured (aws/clients.ts): a trace shows each
 * region's SendMessageBatch (and each depth read, each claim-table call) with its latency. Which
 * executions are traced is decided by sampling (stacks/tracing.ts).
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import { captureClients } from '../aws/clients.js';

/** The Service annotation of every segment of the dispatch. */
export const TRACE_SERVICE = 'inference-dispatch';

/** Whether Powertools could trace here at all (its own conditions): on Lambda, not SAM local, not turned off. */
export function canTrace(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env.AWS_EXECUTION_ENV) && !env.AWS_SAM_LOCAL && env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== 'false';
}

export const tracer: Tracer | undefined = canTrace(process.env)
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({
      serviceName: TRACE_SERVICE,
      // The SDK calls are captured as AWS subsegments; a second, HTTP-level capture of the same calls
      // (and a patch of node:http for the whole container) adds nothing.
      captureHTTPsRequests: false,
    })
  : undefined;

if (tracer?.isTracingEnabled()) {
  const active = tracer;
  captureClients((client) => active.captureAWSv3Client(client));
}

/**
 * The handler's own subsegment, annotated with cold start and service, and the error when it throws;
 * never the response (a task's output carries message bodies). Nothing where there is no tracer.
 */
export function traced(): MiddlewareObj {
  // middy refuses an empty middleware: a no-op one where there is nothing to trace.
  return tracer ? (captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj) : { before: () => undefined };
}
