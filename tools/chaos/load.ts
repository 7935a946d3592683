/**
 * The load a scenario sends to the master queue, planned from a seed: unique requests, some of their
 * request_ids sent again on purpose (repeats), extra messages a scenario adds (a duplicate storm, the
 * bad-input corpus), each at a planned time. Sent straight to the home SQS server (not through its fault
 * proxy): the producer is not what is under test.
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Random } from '../../core/random.js';
import type { Expected, SentMessage } from './checker.js';

export interface PlannedMessage {
  readonly body: string;
  readonly kind: SentMessage['kind'];
  readonly requestId?: string;
  readonly caseName?: string;
  readonly expected?: Expected;
  /** ms after the start of the load. */
  readonly atMs: number;
  /** SQS is expected to refuse this body at send (a corpus case that cannot even be queued). */
  readonly sqsRefuses?: string;
  /** Sent alone with SendMessage (large bodies). */
  readonly alone?: boolean;
}

const PRIORITIES = ['high', 'normal', 'normal', 'low'] as const;
const MODELS = ['gpt-l-7b', 'llama-3-8b', 'mistral-7b'] as const;

/** A valid request body (the original system's format). */
export function requestBody(requestId: string, random: Random): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  return JSON.stringify({
    request_id: requestId,
    model_name: pick(MODELS),
    input_data_url: `s3://inference-inputs/chaos/${requestId}.json`,
    callback_sns_topic: 'arn:aws:sns:us-east-1:000000000000:inference-results',
    priority: pick(PRIORITIES),
    timestamp: '2026-01-01T00:00:00Z',
    metadata: { user_id: `user${Math.floor(random() * 100)}` },
  });
}

export interface LoadShape {
  /** request_id prefix, unique per run. */
  readonly prefix: string;
  readonly requests: number;
  /** Extra messages repeating a request_id already planned (at a later time). */
  readonly repeats: number;
  /** Spread of the sends. */
  readonly sendSeconds: number;
}

export function planLoad(shape: LoadShape, random: Random, extra: readonly PlannedMessage[] = []): PlannedMessage[] {
  const spread = shape.sendSeconds * 1000;
  const planned: PlannedMessage[] = [];
  for (let i = 0; i < shape.requests; i++) {
    const requestId = `${shape.prefix}-${String(i).padStart(5, '0')}`;
    planned.push({ body: requestBody(requestId, random), kind: 'request', requestId, atMs: Math.floor(random() * spread) });
  }
  const originals = [...planned];
  for (let i = 0; i < shape.repeats && originals.length; i++) {
    const original = originals[Math.floor(random() * originals.length)] as PlannedMessage;
    // Some land in the same batch as the original, most in later ones.
    const later = random() < 0.2 ? 0 : Math.floor(random() * Math.max(1, spread - original.atMs + 500));
    planned.push({ ...original, kind: 'repeat', atMs: original.atMs + later });
  }
  return [...planned, ...extra].sort((a, b) => a.atMs - b.atMs);
}

export interface SendResult {
  readonly sent: SentMessage[];
  /** Planned messages SQS refused: expected ones (sqsRefuses) and others, with the error. */
  readonly refused: Array<{ planned: PlannedMessage; error: string; expected: boolean }>;
  /** Planned sqsRefuses messages that SQS took after all (a corpus expectation that did not hold). */
  readonly unexpectedlyAccepted: PlannedMessage[];
}

const SLOT_MS = 100;

/** Sends the plan on time (relative to `startMs`), SendMessageBatch per 100 ms slot, large bodies alone. */
export async function sendLoad(client: SQSClient, queueUrl: string, plan: readonly PlannedMessage[], startMs: number): Promise<SendResult> {
  const result: SendResult = { sent: [], refused: [], unexpectedlyAccepted: [] };
  const record = (planned: PlannedMessage, masterMessageId: string) => {
    if (planned.sqsRefuses) result.unexpectedlyAccepted.push(planned);
    result.sent.push({
      masterMessageId,
      kind: planned.kind,
      ...(planned.requestId ? { requestId: planned.requestId } : {}),
      ...(planned.caseName ? { caseName: planned.caseName } : {}),
      ...(planned.expected ? { expected: planned.expected } : {}),
      body: planned.body,
    });
  };
  const refuse = (planned: PlannedMessage, error: unknown) =>
    result.refused.push({ planned, error: `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`, expected: planned.sqsRefuses !== undefined });

  const slots = new Map<number, PlannedMessage[]>();
  for (const p of plan) {
    const slot = Math.floor(p.atMs / SLOT_MS);
    slots.set(slot, [...(slots.get(slot) ?? []), p]);
  }
  const sends: Promise<void>[] = [];
  for (const [slot, messages] of [...slots].sort((a, b) => a[0] - b[0])) {
    const wait = startMs + slot * SLOT_MS - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const alone = messages.filter((m) => m.alone || m.sqsRefuses || Buffer.byteLength(m.body) > 100_000);
    const batched = messages.filter((m) => !alone.includes(m));
    for (const m of alone) {
      sends.push(
        client
          .send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: m.body }))
          .then((r) => record(m, r.MessageId ?? ''), (error: unknown) => void refuse(m, error)),
      );
    }
    for (let i = 0; i < batched.length; i += 10) {
      const chunk = batched.slice(i, i + 10);
      sends.push(
        client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((m, j) => ({ Id: String(j), MessageBody: m.body })) })).then(
          (r) => {
            for (const ok of r.Successful ?? []) record(chunk[Number(ok.Id)] as PlannedMessage, ok.MessageId ?? '');
            for (const failed of r.Failed ?? []) refuse(chunk[Number(failed.Id)] as PlannedMessage, new Error(`${failed.Code}: ${failed.Message}`));
          },
          (error: unknown) => chunk.forEach((m) => refuse(m, error)),
        ),
      );
    }
  }
  await Promise.all(sends);
  return result;
}
