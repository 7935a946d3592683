/** The definition itself: valid ASL, every Task bound locally or refused, the shape the design card names. */
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { countStates } from '../../tools/bench/cost/definition-size.js';
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

  it('forwards with one generic iteration per region with work, retrying and catching, and routes the messages to dead-letter again apart', () => {
    type States = Record<string, { Type?: string; Retry?: unknown[]; Catch?: unknown[]; Choices?: Array<{ Variable?: string; IsNull?: boolean; Next?: string }>; Default?: string; Parameters?: Record<string, unknown> }>;
    const definition = dispatchDefinition(refs) as unknown as {
      States: Record<string, { Type: string; ItemsPath?: string; ItemSelector?: Record<string, string>; MaxConcurrency?: number; ItemProcessor?: { StartAt: string; States: States } }>;
    };
    const map = definition.States[STATE.forwardAll];
    expect(map?.Type).toBe('Map');
    expect(map?.ItemsPath).toBe('$.groups');
    // The region comes from the item, never from a state name; every group runs at once.
    expect(map?.ItemSelector?.['region.$']).toBe('$$.Map.Item.Value.region');
    expect(map?.MaxConcurrency).toBe(0);
    const states = map?.ItemProcessor?.States ?? {};
    for (const name of Object.keys(states)) for (const region of refs.regions) expect(name).not.toContain(region);
    const forward = states[STATE.forward];
    expect(forward?.Retry?.length).toBeGreaterThan(0);
    expect(forward?.Catch?.length).toBeGreaterThan(0);
    expect(forward?.Parameters?.['region.$']).toBe('$.region');
    expect(states[STATE.failover]?.Catch?.length).toBeGreaterThan(0);
    expect(states[STATE.failover]?.Parameters?.['exclude.$']).toBe('States.Array($.region)');
    // The group without a region (messages to dead-letter again) never reaches a Forward or a Failover:
    // the first Choice sends it to a Pass that goes straight to the Settle map.
    const route = states[map?.ItemProcessor?.StartAt ?? ''];
    expect(route?.Type).toBe('Choice');
    expect(route?.Default).toBe(STATE.forward);
    const again = route?.Choices?.find((c) => c.Variable === '$.region' && c.IsNull === true)?.Next ?? '';
    expect(states[again]).toMatchObject({ Type: 'Pass', Next: STATE.settle });
  });

  it('has the same states at any number of regions', () => {
    const states = (regions: readonly string[]) => countStates(dispatchDefinition({ ...refs, regions }));
    expect(states(['us-east-1']).total).toBeGreaterThan(40);
    expect(states(['us-east-1'])).toEqual(states(['us-east-1', 'us-west-2', 'us-west-1', 'eu-west-1', 'eu-central-1']));
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
