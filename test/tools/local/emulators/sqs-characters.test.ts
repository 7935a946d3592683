/**
 * The local SQS server takes and refuses the same characters as SQS (its SendMessage documentation):
 * bodies and String attribute values of #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD |
 * #x10000 to #x10FFFF. Anything else (a lone surrogate, a control character, U+FFFE) is refused with
 * InvalidMessageContents (400, a sender fault); emoji and other characters above U+FFFF are taken and
 * come back intact. Driven through the real SQSClient.
 */
import {
  CreateQueueCommand,
  InvalidMessageContents,
  SendMessageBatchCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqsAt } from '../../../../tools/local/resources.js';
import { startSqs, type SqsServer } from '../../../../tools/local/emulators/servers.js';
import { drain } from '../../../support/local-aws.js';

let server: SqsServer;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  server = await startSqs('us-east-1');
  sqs = sqsAt('us-east-1', server.endpoint);
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'characters' }))).QueueUrl as string;
});
afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
});
beforeEach(async () => {
  await drain(sqs, queueUrl);
});

const text = (value: string): Record<string, MessageAttributeValue> => ({ note: { DataType: 'String', StringValue: value } });

const VALID = ['emoji 😀 and 𝄞 (U+1D11E)', 'tab\tLF\nCR\r', '\uD7FF\uE000\uFFFD', '\u{10FFFF}'];
const REFUSED: ReadonlyArray<[string, string]> = [
  ['a lone high surrogate', "Unexpected token '\uD83D'"],
  ['a lone low surrogate', 'x\uDE00'],
  ['U+0001', 'a\u0001b'],
  ['U+0000', '\u0000'],
  ['U+FFFE', '\uFFFE'],
  ['U+FFFF', '\uFFFF'],
];

/** The error a send ended with, or undefined when it was taken. */
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (error: unknown) => error);

describe('SendMessage', () => {
  it('takes every allowed character, emoji included, in the body and in String attributes, and returns them intact', async () => {
    for (const value of VALID) await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: value, MessageAttributes: text(value) }));
    const got = await drain(sqs, queueUrl);
    expect(got.map((m) => m.Body).sort()).toEqual([...VALID].sort());
    for (const m of got) expect(m.MessageAttributes?.note?.StringValue).toBe(m.Body);
  });

  for (const [what, value] of REFUSED) {
    it(`refuses ${what} in the body or in a String attribute with InvalidMessageContents (400, sender fault)`, async () => {
      for (const input of [
        { QueueUrl: queueUrl, MessageBody: value },
        { QueueUrl: queueUrl, MessageBody: 'fine', MessageAttributes: text(value) },
      ]) {
        const error = await refusal(sqs.send(new SendMessageCommand(input)));
        expect(error).toBeInstanceOf(InvalidMessageContents);
        expect(error).toMatchObject({ name: 'InvalidMessageContents', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      expect(await drain(sqs, queueUrl)).toEqual([]);
    });
  }
});

describe('SendMessageBatch', () => {
  it('fails only the entries that hold a refused character, each as a sender fault; the others are sent intact', async () => {
    const response = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'emoji', MessageBody: 'ok 😀', MessageAttributes: text('😀') },
          { Id: 'body', MessageBody: 'half \uD83D' },
          { Id: 'attribute', MessageBody: 'fine', MessageAttributes: text('a\u0001') },
          { Id: 'plain', MessageBody: 'plain' },
        ],
      }),
    );
    expect(response.Successful?.map((s) => s.Id).sort()).toEqual(['emoji', 'plain']);
    expect(response.Failed?.map((f) => ({ Id: f.Id, Code: f.Code, SenderFault: f.SenderFault })).sort((a, b) => String(a.Id).localeCompare(String(b.Id)))).toEqual([
      { Id: 'attribute', Code: 'InvalidMessageContents', SenderFault: true },
      { Id: 'body', Code: 'InvalidMessageContents', SenderFault: true },
    ]);
    const got = await drain(sqs, queueUrl);
    expect(got.map((m) => m.Body).sort()).toEqual(['ok 😀', 'plain']);
    expect(got.find((m) => m.Body === 'ok 😀')?.MessageAttributes?.note?.StringValue).toBe('😀');
  });

  it('answers a batch whose every entry is refused with every entry failed, not an error', async () => {
    const response = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a', MessageBody: '\uDE00' }, { Id: 'b', MessageBody: 'x', MessageAttributes: text('\uFFFF') }] }),
    );
    expect(response.Successful ?? []).toEqual([]);
    expect(response.Failed?.map((f) => f.Code)).toEqual(['InvalidMessageContents', 'InvalidMessageContents']);
    expect(await drain(sqs, queueUrl)).toEqual([]);
  });

  it('still refuses a batch that is wrong as a whole before looking at entries (11 entries)', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: i === 0 ? '\uD83D' : 'ok' }));
    const error = await refusal(sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect((error as Error).name).toMatch(/TooManyEntriesInBatchRequest/);
  });
});
