/**
 * Error answers in each service's own wire shape (AWS JSON 1.0 protocol: `{ __type, message }` with
 * a status), so the real SDK clients turn them into the same named exceptions, and classify them for
 * retry the same way, as they would an answer from AWS.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export type FaultService = 'dynamodb' | 'sqs' | 'stepfunctions';

export const errorPresetSchema = z.enum(['internal', 'throttle', 'unavailable']);
export type ErrorPreset = z.infer<typeof errorPresetSchema>;

export const customErrorSchema = z
  .object({
    status: z.number().int().min(400).max(599),
    /** `__type`, e.g. `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException` or `ThrottlingException`. */
    type: z.string().min(1),
    message: z.string().optional(),
    /**
     * SQS only: the `x-amzn-query-error` header (`Code;Sender|Receiver`), which the SQS client reads
     * BEFORE `__type` (it is awsQueryCompatible). Derived from `type` and `status` when absent.
     */
    queryError: z.string().optional(),
  })
  .strict();
export type CustomError = z.infer<typeof customErrorSchema>;

export const errorSpecSchema = z.union([errorPresetSchema, customErrorSchema]);
export type ErrorSpec = z.infer<typeof errorSpecSchema>;

/**
 * Presets per service. The SDK error names they produce (checked in test/tools/local/faults/proxy.test.ts):
 * - dynamodb: internal -> InternalServerError (500); throttle -> ProvisionedThroughputExceededException (400)
 * - sqs: internal -> InternalFailure (500); throttle -> RequestThrottled (400, modeled in the SQS client
 *   and in the SDK's list of throttling codes)
 * - stepfunctions: internal -> InternalFailure (500); throttle -> ThrottlingException (400)
 * - all: unavailable -> ServiceUnavailable (503)
 */
const PRESETS: Record<FaultService, Record<ErrorPreset, CustomError>> = {
  dynamodb: {
    internal: { status: 500, type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' },
    throttle: {
      status: 400,
      type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message:
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    },
    unavailable: { status: 503, type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable', message: 'Service unavailable' },
  },
  sqs: {
    internal: { status: 500, type: 'com.amazonaws.sqs#InternalFailure', message: 'We encountered an internal error. Please try again.', queryError: 'InternalFailure;Receiver' },
    throttle: { status: 400, type: 'com.amazonaws.sqs#RequestThrottled', message: 'Rate exceeded', queryError: 'RequestThrottled;Sender' },
    unavailable: { status: 503, type: 'com.amazonaws.sqs#ServiceUnavailable', message: 'Service unavailable', queryError: 'ServiceUnavailable;Receiver' },
  },
  stepfunctions: {
    internal: { status: 500, type: 'InternalFailure', message: 'Internal failure' },
    throttle: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
    unavailable: { status: 503, type: 'ServiceUnavailable', message: 'Service unavailable' },
  },
};

export interface ErrorAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const shortName = (type: string) => type.slice(type.lastIndexOf('#') + 1);

export function errorAnswer(service: FaultService, spec: ErrorSpec = 'internal'): ErrorAnswer {
  const error = typeof spec === 'string' ? PRESETS[service][spec] : spec;
  const body = JSON.stringify({ __type: error.type, message: error.message ?? shortName(error.type) });
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-requestid': randomUUID(),
  };
  if (service === 'sqs') {
    headers['x-amzn-query-error'] = error.queryError ?? `${shortName(error.type)};${error.status < 500 ? 'Sender' : 'Receiver'}`;
  }
  return { status: error.status, headers, body };
}
