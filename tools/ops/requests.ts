/** The producer's requests (the original system's message format), and the malformed ones the demo mixes in. */
import { randomUUID } from 'node:crypto';
import type { Priority } from '../../core/request.js';

export interface RequestOptions {
  readonly requestId?: string;
  readonly priority?: Priority;
  readonly model?: string;
}

const MODELS = ['gpt-l-7b', 'llama-3-8b', 'mistral-7b'];

export function makeRequest(index: number, options: RequestOptions = {}): Record<string, unknown> {
  const requestId = options.requestId ?? `req-${randomUUID()}`;
  return {
    request_id: requestId,
    model_name: options.model ?? MODELS[index % MODELS.length],
    input_data_url: `s3://inference-inputs/inputs/${requestId}.json`,
    callback_sns_topic: 'arn:aws:sns:us-east-1:000000000000:inference-results',
    priority: options.priority ?? 'normal',
    timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    metadata: { user_id: `user${100 + (index % 7)}`, session_id: `session${400 + index}` },
  };
}

/** Bodies that must end in the DLQ, each for a different reason. */
export const MALFORMED_BODIES: readonly string[] = [
  'this is not JSON',
  JSON.stringify({ request_id: 'req-missing-fields' }),
  JSON.stringify({ ...makeRequest(0), priority: 'urgent' }),
  JSON.stringify({ ...makeRequest(0), input_data_url: 'ftp://nowhere/file' }),
  JSON.stringify(['an', 'array']),
];
