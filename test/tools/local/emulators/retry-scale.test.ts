/**
 * Retry timing at a scale (tools/local/emulators/asl-runner.ts scaledTimes): every Retry's interval and cap and every
 * Wait shrink by the factor, backoff and jitter untouched, the definition as deployed unchanged.
 */
import { describe, expect, it } from 'vitest';
import { scaledTimes } from '../../../../tools/local/emulators/asl-runner.js';
import { STATE, type Definition } from '../../../../workflows/dispatch.js';
import { testDefinition } from '../../../support/definition-refs.js';

type Retrier = { IntervalSeconds?: number; MaxDelaySeconds?: number; BackoffRate?: number; JitterStrategy?: string; MaxAttempts?: number };
type Node = { Type?: string; Seconds?: number; Retry?: Retrier[]; States?: Record<string, Node>; Branches?: Node[]; ItemProcessor?: Node };

function find(machine: Node, name: string): Node | undefined {
  for (const [key, state] of Object.entries(machine.States ?? {})) {
    if (key === name) return state;
    for (const inner of [...(state.Branches ?? []), ...(state.ItemProcessor ? [state.ItemProcessor] : [])]) {
      const found = find(inner, name);
      if (found) return found;
    }
  }
  return undefined;
}

describe('retry timing at a scale', () => {
  const definition = testDefinition() as unknown as Definition & Node;
  const before = JSON.stringify(definition);
  const scaled = scaledTimes(definition, 0.1) as Node;

  it('scales intervals, caps and waits, and keeps backoff, attempts and jitter', () => {
    const mark = (state: Node | undefined) => state?.Retry?.find((r) => (r.MaxAttempts ?? 3) > 0);
    const original = mark(find(definition, STATE.markDispatched));
    const small = mark(find(scaled, STATE.markDispatched));
    expect(small?.IntervalSeconds).toBeCloseTo((original?.IntervalSeconds ?? 1) * 0.1);
    expect(small?.MaxDelaySeconds).toBeCloseTo((original?.MaxDelaySeconds ?? 0) * 0.1);
    expect(small?.BackoffRate).toBe(original?.BackoffRate);
    expect(small?.MaxAttempts).toBe(original?.MaxAttempts);
    expect(small?.JitterStrategy).toBe(original?.JitterStrategy);
    const wait = find(scaled, 'Back off');
    expect(wait?.Type).toBe('Wait');
    expect(wait?.Seconds).toBeCloseTo((find(definition, 'Back off')?.Seconds ?? 0) * 0.1);
  });

  it('leaves the definition as deployed untouched, and refuses a scale that is not positive', () => {
    expect(JSON.stringify(definition)).toBe(before);
    expect(() => scaledTimes(definition, 0)).toThrow(RangeError);
  });
});
