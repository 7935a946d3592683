/** Where a worker with empty lanes steals from (core/stealing.ts). */
import { describe, expect, it } from 'vitest';
import { chooseSteal, servesModel, stealingSettingsSchema, type StealCandidate } from '../../core/stealing.js';

const settings = (over: Partial<Parameters<typeof stealingSettingsSchema.parse>[0]> = {}) =>
  stealingSettingsSchema.parse({ allowRegions: ['us-east-1', 'us-west-1', 'us-west-2'], ...over });

describe('chooseSteal', () => {
  const candidates: StealCandidate[] = [
    { region: 'us-east-1', waiting: { normal: 30 }, workers: 10 },
    { region: 'us-west-1', waiting: { normal: 12 }, workers: 2 },
    { region: 'us-west-2', waiting: { normal: 100 }, workers: 1 },
  ];

  it('takes the longest backlog per worker, never from its own region', () => {
    expect(chooseSteal('us-west-2', candidates, settings())).toEqual({ region: 'us-west-1', lane: 'normal', backlogPerWorker: 6 });
  });

  it('takes a high message anywhere before a normal one anywhere', () => {
    const withHigh = [...candidates, { region: 'us-east-1', waiting: { high: 1 }, workers: 10 }];
    expect(chooseSteal('us-west-2', withHigh, settings({ minBacklogPerWorker: 0.05 }))?.lane).toBe('high');
  });

  it('keeps to the allow-list and the latency limit, and leaves backlogs under the minimum alone', () => {
    expect(chooseSteal('us-east-1', candidates, settings({ allowRegions: ['us-west-1'] }))?.region).toBe('us-west-1');
    const far = candidates.map((c) => ({ ...c, latencyMs: c.region === 'us-west-2' ? 300 : 20 }));
    expect(chooseSteal('us-east-1', far, settings({ maxLatencyMs: 100 }))?.region).toBe('us-west-1');
    expect(chooseSteal('us-east-1', candidates, settings({ minBacklogPerWorker: 200 }))).toBeUndefined();
    expect(chooseSteal('us-east-1', candidates, settings({ allowRegions: [] }))).toBeUndefined();
  });

  it('counts a region without presence as one worker, and skips an unread lane', () => {
    const unread: StealCandidate[] = [
      { region: 'us-west-1', waiting: {} },
      { region: 'us-west-2', waiting: { normal: 3 } },
    ];
    expect(chooseSteal('us-east-1', unread, settings())).toEqual({ region: 'us-west-2', lane: 'normal', backlogPerWorker: 3 });
  });
});

describe('servesModel', () => {
  it('serves every model without a list, else only those listed', () => {
    expect(servesModel(undefined, 'llama-3-8b')).toBe(true);
    expect(servesModel([], undefined)).toBe(true);
    expect(servesModel(['llama-3-8b'], 'llama-3-8b')).toBe(true);
    expect(servesModel(['llama-3-8b'], 'mixtral')).toBe(false);
    expect(servesModel(['llama-3-8b'], undefined)).toBe(false);
  });
});
