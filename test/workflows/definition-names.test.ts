/**
 * The names the definition shares with the functions come from core/: the forward's error names that its
 * retriers match (core/errors.ts), and the placement fields its Settle choices read (core/placement.ts).
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../../core/errors.js';
import { PLACEMENT_STATUS, UNANSWERED } from '../../core/placement.js';
import { REGION_UNAVAILABLE, REGION_UNCONFIRMED, STATE } from '../../workflows/dispatch.js';
import { testDefinition } from '../support/definition-refs.js';

type Node = Record<string, unknown>;

/** Every object in the definition, at any depth. */
function nodes(value: unknown): Node[] {
  if (!value || typeof value !== 'object') return [];
  const children = Object.values(value).flatMap(nodes);
  return Array.isArray(value) ? children : [value as Node, ...children];
}

const definition = testDefinition();
const all = nodes(definition);

describe('names the definition shares with the functions', () => {
  it('re-exports the forward error names of core/errors.ts, and its Forward retriers match them', () => {
    expect(REGION_UNAVAILABLE).toBe(errors.REGION_UNAVAILABLE);
    expect(REGION_UNCONFIRMED).toBe(errors.REGION_UNCONFIRMED);
    const forward = all.find((n) => n[STATE.forward])?.[STATE.forward] as { Retry: Node[]; Catch: Node[] };
    const matched = [...forward.Retry, ...forward.Catch].flatMap((r) => r.ErrorEquals as string[]);
    expect(matched).toEqual(expect.arrayContaining([errors.REGION_UNAVAILABLE, errors.REGION_UNCONFIRMED]));
  });

  it('writes and reads only the unanswered steps of core/placement.ts, and reads every one that marks a step', () => {
    const written = new Set(all.flatMap((n) => (typeof n.unanswered === 'string' ? [n.unanswered] : [])));
    const read = new Set(all.filter((n) => n.Variable === '$.unanswered').map((n) => n.StringEquals));
    expect([...written].sort()).toEqual(Object.values(UNANSWERED).sort());
    expect([...read].sort()).toEqual([UNANSWERED.failover, UNANSWERED.forward].sort());
  });

  it('compares a placement only with the statuses of core/placement.ts', () => {
    const statuses = all.filter((n) => n.Variable === '$.placement.status').map((n) => n.StringEquals);
    expect(statuses.length).toBeGreaterThan(0);
    for (const status of statuses) expect(PLACEMENT_STATUS).toContain(status);
  });
});
