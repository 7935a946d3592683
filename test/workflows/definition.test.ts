/** The definition itself: valid ASL, every Task bound locally or refused, the shape the design card names. */
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { bindTasks, UnboundTaskError } from '../../tools/local/emulators/asl-runner.js';
import { dispatchDefinition, STATE } from '../../workflows/dispatch.js';
import { testRefs } from '../support/definition-refs.js';

const refs = testRefs();

describe('dispatch definition', () => {
  it('passes asl-validator', () => {
    const { isValid, errorsText } = aslValidator(dispatchDefinition(refs) as never);
    expect(errorsText()).toBe('');
    expect(isValid).toBe(true);
  });

  it('has one Forward branch per configured region, each retrying and catching, and one to dead-letter again', () => {
    const definition = dispatchDefinition(refs) as unknown as { States: Record<string, { Branches?: Array<{ StartAt: string; States: Record<string, { Retry?: unknown[]; Catch?: unknown[] }> }> }> };
    const branches = definition.States[STATE.forwardAll]?.Branches ?? [];
    expect(branches).toHaveLength(4);
    expect(branches[3]?.StartAt).toBe('Anything to dead-letter again?');
    // That branch holds no forward: what it takes never reaches a region.
    expect(Object.keys(branches[3]?.States ?? {}).some((name) => name.startsWith('Forward') || name.startsWith('Failover'))).toBe(false);
    refs.regions.forEach((region, i) => {
      const forward = branches[i]?.States[STATE.forward(region)];
      expect(forward?.Retry?.length).toBeGreaterThan(0);
      expect(forward?.Catch?.length).toBeGreaterThan(0);
      expect(branches[i]?.States[STATE.failover(region)]?.Catch?.length).toBeGreaterThan(0);
    });
  });

  it('refuses regions that collide as JSON keys, and an empty region list', () => {
    expect(() => dispatchDefinition({ ...refs, regions: [] })).toThrow(/at least one region/);
    expect(() => dispatchDefinition({ ...refs, regions: ['us-west-2', 'us-west-2'] })).toThrow(/distinct/);
  });

  it('refuses to run with a Task left unbound (it would call the real AWS Lambda)', () => {
    const definition = dispatchDefinition(refs);
    const noop = async () => ({});
    expect(() => bindTasks(definition, { lambdas: { [refs.functions.snapshot]: noop, [refs.functions.select]: noop } })).toThrow(
      UnboundTaskError,
    );
    expect(() =>
      bindTasks(definition, { lambdas: { [refs.functions.snapshot]: noop, [refs.functions.select]: noop, [refs.functions.forward]: noop } }),
    ).toThrow(/DynamoDB/);
  });

  it('reads no Cause of a Catch output in a path: AWS may leave it out, and a missing path fails the execution', () => {
    const paths: string[] = [];
    const visit = (value: unknown, key = '') => {
      if (typeof value === 'string' && (key.endsWith('.$') || key === 'Variable' || key.endsWith('Path'))) paths.push(value);
      else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, k);
    };
    visit(dispatchDefinition(refs));
    expect(paths.length).toBeGreaterThan(50);
    // Error is always there in a Catch output; Cause is passed on whole to code that reads it optionally.
    expect(paths.filter((p) => /Error\.Cause|Error\)?\.Cause|\.Cause\b/.test(p))).toEqual([]);
  });
});
