/**
 * The forward marks every regional copy with its request's model_name (MESSAGE_ATTRIBUTE.model), in both
 * lanes, through the dispatch definition on the local stack: what a stealing worker reads before it keeps
 * a copy from another region (worker/stealing.ts).
 */
import { describe, expect, it } from 'vitest';
import { MESSAGE_ATTRIBUTE } from '../../core/record.js';
import { modelOf } from '../../functions/forward.js';
import { drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';

const local = useLocalDispatch();

describe('the model attribute', () => {
  it('every regional copy carries model_name, normal and high lanes alike', async () => {
    const messages = ['llama-70b', 'gpt-l-7b', 'whisper-v3', 'sdxl'].map((model, i) => {
      const e = envelope(`req-model-${i}`, undefined, i % 2 ? 'high' : 'normal');
      return { ...e, body: JSON.stringify({ ...JSON.parse(e.body), model_name: model }) };
    });
    const record = await local.runner.run(executionInput(messages));
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const copies = Object.values(await drainRegions(local.aws)).flat();
    expect(copies).toHaveLength(messages.length);
    for (const copy of copies) {
      const requestId = copy.MessageAttributes?.[MESSAGE_ATTRIBUTE.requestId]?.StringValue;
      const sent = messages.find((m) => m.requestId === requestId);
      expect(copy.MessageAttributes?.[MESSAGE_ATTRIBUTE.model]?.StringValue).toBe(JSON.parse(sent?.body ?? '{}').model_name);
      // Within SQS's 10 attributes a message may carry (8 here; 9 with a smoke mark).
      expect(Object.keys(copy.MessageAttributes ?? {}).length).toBeLessThanOrEqual(9);
    }
  });

  it('reads the model from the body; none when it has none; SQS-safe and cut to 256 characters', () => {
    expect(modelOf('{"model_name":"m1"}')).toBe('m1');
    expect(modelOf('{"model_name":""}')).toBeUndefined();
    expect(modelOf('not json')).toBeUndefined();
    expect(modelOf('{"model_name":"a\\u0001b"}')).toBe('a\uFFFDb');
    expect(modelOf(JSON.stringify({ model_name: 'x'.repeat(300) }))?.length).toBe(256);
  });
});
