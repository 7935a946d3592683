/** The execution page's views from a history: table rows, timeline bars, the axis, and size caps. */
import { describe, expect, it } from 'vitest';
import { capText, eventRows, executionIo, prettyJson, timeAxis, timeline } from '../../../tools/console/execution-views.js';
import { buildHistoryModel, type ConsoleEvent } from '../../../tools/console/history-model.js';

describe('size caps', () => {
  it('keeps a text within the cap whole, and says how many bytes of a longer one it left out', () => {
    expect(capText('abc', 3)).toEqual({ text: 'abc', bytes: 3, moreBytes: 0 });
    expect(capText('abcdef', 4)).toEqual({ text: 'abcd', bytes: 6, moreBytes: 2 });
    expect(capText('abc', 0)).toEqual({ text: '', bytes: 3, moreBytes: 3 });
  });

  it('counts UTF-8 bytes and never cuts a character in two', () => {
    // é is 2 bytes, the emoji 4: a cut inside either falls before it.
    expect(capText('aé', 2)).toEqual({ text: 'a', bytes: 3, moreBytes: 2 });
    expect(capText('aé', 3)).toEqual({ text: 'aé', bytes: 3, moreBytes: 0 });
    for (let cap = 1; cap <= 4; cap += 1) expect(capText('a😀b', cap)).toMatchObject({ text: 'a', moreBytes: 6 - 1 });
    expect(capText('a😀b', 5)).toEqual({ text: 'a😀', bytes: 6, moreBytes: 1 });
  });

  it('indents JSON objects and arrays, and leaves any other text as it is', () => {
    expect(prettyJson('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyJson('{not json')).toBe('{not json');
    expect(prettyJson('it broke')).toBe('it broke');
    expect(prettyJson('"a string"')).toBe('"a string"');
  });

  it("gives the execution's input and output pretty, capped, and its error and cause", () => {
    const io = executionIo({ input: '{"a":1}', output: JSON.stringify({ big: 'x'.repeat(100) }), error: 'States.Runtime', cause: 'bad path' }, 50);
    expect(io.input).toEqual({ text: '{\n  "a": 1\n}', bytes: 12, moreBytes: 0 });
    expect(io.output?.text).toBe(`{\n  "big": "${'x'.repeat(50 - 12)}`);
    expect(io.output?.moreBytes).toBe(io.output ? io.output.bytes - 50 : -1);
    expect(io.error).toBe('States.Runtime');
    expect(io.cause).toEqual({ text: 'bad path', bytes: 8, moreBytes: 0 });
    expect(executionIo({ input: '{}' })).toEqual({ input: { text: '{}', bytes: 2, moreBytes: 0 } });
  });
});

describe('an axis in round steps', () => {
  it('ticks in ms under 2 s, from 0, at a step of 1, 2 or 5 times a power of ten', () => {
    expect(timeAxis(367).map((t) => t.label)).toEqual(['0 ms', '50 ms', '100 ms', '150 ms', '200 ms', '250 ms', '300 ms', '350 ms']);
    expect(timeAxis(8).map((t) => t.ms)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('ticks in seconds from 2 s, never past the end and never more than asked', () => {
    const ticks = timeAxis(12_345);
    expect(ticks.map((t) => t.label)).toEqual(['0 s', '2 s', '4 s', '6 s', '8 s', '10 s', '12 s']);
    for (const total of [1, 7, 99, 1999, 2000, 4321, 60_000, 299_999]) {
      const axis = timeAxis(total);
      expect(axis[0]?.ms, `${total}`).toBe(0);
      expect(axis.length, `${total}`).toBeLessThanOrEqual(9);
      expect(axis.at(-1)?.ms, `${total}`).toBeLessThanOrEqual(total);
      const step = (axis[1]?.ms ?? 0) - (axis[0]?.ms ?? 0);
      expect(step / 10 ** Math.floor(Math.log10(step)), `${total}`).toBeOneOf([1, 2, 5]);
    }
  });
});

describe('rows and bars from a history with Map iterations, a nested Map and a retried Task', () => {
  // A Map of two iterations whose events interleave, as on AWS. Iteration 0: T succeeds, then a Map N
  // inside it runs P once. Iteration 1: T fails, is retried, fails again and is caught. Then Done.
  const lambda = 'arn:aws:lambda:us-east-1:000000000000:function:work';
  const definition = {
    StartAt: 'M',
    States: {
      M: {
        Type: 'Map',
        ItemProcessor: {
          StartAt: 'T',
          States: {
            T: { Type: 'Task', Resource: lambda, Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: 1 }], Catch: [{ ErrorEquals: ['Boom'], Next: 'Caught' }], Next: 'N' },
            Caught: { Type: 'Pass', End: true },
            N: { Type: 'Map', ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }, End: true },
          },
        },
        Next: 'Done',
      },
      Done: { Type: 'Pass', End: true },
    },
  };
  const T0 = 1_700_000_000_000;
  const big = JSON.stringify(Array.from({ length: 2000 }, (_, i) => i));
  const e = (id: number, previousEventId: number, at: number, type: string, details?: Record<string, unknown>): ConsoleEvent => ({
    id,
    previousEventId,
    type,
    timestamp: T0 + at,
    ...(details ? { details } : {}),
  });
  const events = [
    e(1, 0, 0, 'ExecutionStarted', { input: big }),
    e(2, 0, 0, 'MapStateEntered', { name: 'M', input: big }),
    e(3, 2, 0, 'MapStateStarted', { length: 2 }),
    e(4, 3, 1, 'MapIterationStarted', { name: 'M', index: 0 }),
    e(5, 3, 1, 'MapIterationStarted', { name: 'M', index: 1 }),
    e(6, 4, 2, 'TaskStateEntered', { name: 'T', input: '1' }),
    e(7, 5, 2, 'TaskStateEntered', { name: 'T', input: '2' }),
    e(8, 6, 2, 'LambdaFunctionScheduled', { resource: lambda, input: '1' }),
    e(9, 7, 3, 'LambdaFunctionScheduled', { resource: lambda, input: '2' }),
    e(10, 8, 3, 'LambdaFunctionStarted'),
    e(11, 9, 3, 'LambdaFunctionStarted'),
    e(12, 10, 10, 'LambdaFunctionSucceeded', { output: '1' }),
    e(13, 11, 12, 'LambdaFunctionFailed', { error: 'Boom', cause: '{"errorMessage":"first"}' }),
    e(14, 12, 12, 'TaskStateExited', { name: 'T', output: '1' }),
    e(15, 14, 13, 'MapStateEntered', { name: 'N', input: '1' }),
    e(16, 15, 13, 'MapStateStarted', { length: 1 }),
    e(17, 16, 13, 'MapIterationStarted', { name: 'N', index: 0 }),
    e(18, 17, 14, 'PassStateEntered', { name: 'P', input: '1' }),
    e(19, 18, 15, 'PassStateExited', { name: 'P', output: '1' }),
    e(20, 19, 15, 'MapIterationSucceeded', { name: 'N', index: 0 }),
    e(21, 20, 15, 'MapStateSucceeded'),
    e(22, 21, 16, 'MapStateExited', { name: 'N', output: '[1]' }),
    e(23, 22, 16, 'MapIterationSucceeded', { name: 'M', index: 0 }),
    e(24, 13, 30, 'LambdaFunctionScheduled', { resource: lambda, input: '2' }),
    e(25, 24, 30, 'LambdaFunctionStarted'),
    e(26, 25, 40, 'LambdaFunctionFailed', { error: 'Boom', cause: 'second' }),
    e(27, 26, 40, 'TaskStateExited', { name: 'T', output: '2' }),
    e(28, 27, 40, 'PassStateEntered', { name: 'Caught', input: '2' }),
    e(29, 28, 41, 'PassStateExited', { name: 'Caught', output: '2' }),
    e(30, 29, 41, 'MapIterationSucceeded', { name: 'M', index: 1 }),
    e(31, 30, 41, 'MapStateSucceeded'),
    e(32, 31, 42, 'MapStateExited', { name: 'M', output: '[]' }),
    e(33, 32, 42, 'PassStateEntered', { name: 'Done', input: '[]' }),
    e(34, 33, 43, 'PassStateExited', { name: 'Done', output: '[]' }),
    e(35, 34, 43, 'ExecutionSucceeded', { output: '[]' }),
  ];
  const model = buildHistoryModel(events, definition, 'SUCCEEDED');

  it('places each visit in its Map iteration by the previousEventId chain, whatever the order of the events', () => {
    const scope = Object.fromEntries(model.visits.map((v) => [v.id, [v.name, v.parent, v.iteration]]));
    expect(scope).toEqual({
      2: ['M', undefined, undefined],
      6: ['T', 2, 0],
      7: ['T', 2, 1],
      15: ['N', 2, 0],
      18: ['P', 15, 0],
      28: ['Caught', 2, 1],
      33: ['Done', undefined, undefined],
    });
  });

  it('gives each event its step, resource, iterations and elapsed time, and marks the failures', () => {
    const rows = eventRows(events, model, T0);
    expect(rows.map((r) => r.id)).toEqual(events.map((x) => x.id));
    const row = (id: number) => rows.find((r) => r.id === id);
    expect(row(1)).toMatchObject({ type: 'ExecutionStarted', group: 'execution', failed: false, elapsedMs: 0 });
    expect(row(1)?.step).toBeUndefined();
    // The retry's failure, on the second iteration's T, with the Lambda function it called.
    expect(row(26)).toMatchObject({ step: 'T', resource: lambda, iteration: 'M #1', group: 'task', failed: true, elapsedMs: 40, previousEventId: 25 });
    // Every event of a Task's visit names its resource, those that do not carry it too.
    expect(row(25)).toMatchObject({ step: 'T', resource: lambda, iteration: 'M #1' });
    expect(row(14)).toMatchObject({ step: 'T', resource: lambda, iteration: 'M #0', group: 'state' });
    // The nested Map's state: both iterations, outermost first; the inner Map's own iteration event too.
    expect(row(18)).toMatchObject({ step: 'P', iteration: 'M #0 › N #0' });
    expect(row(17)).toMatchObject({ step: 'N', iteration: 'M #0 › N #0', group: 'container' });
    expect(row(15)).toMatchObject({ step: 'N', iteration: 'M #0', group: 'state' });
    expect(row(33)?.iteration).toBeUndefined();
    expect(rows.filter((r) => r.failed).map((r) => r.id)).toEqual([13, 26]);
  });

  it("shows each detail field pretty and capped, saying how many bytes it left out", () => {
    const rows = eventRows(events, model, T0, 1000);
    const input = rows.find((r) => r.id === 2)?.fields.find((f) => f.name === 'input');
    const whole = JSON.stringify(JSON.parse(big), null, 2);
    expect(input).toEqual({ name: 'input', text: whole.slice(0, 1000), bytes: whole.length, moreBytes: whole.length - 1000 });
    const failure = rows.find((r) => r.id === 13)?.fields;
    expect(failure).toEqual([
      { name: 'error', text: 'Boom', bytes: 4, moreBytes: 0 },
      { name: 'cause', text: '{\n  "errorMessage": "first"\n}', bytes: 29, moreBytes: 0 },
    ]);
    expect(rows.find((r) => r.id === 4)?.fields).toEqual([
      { name: 'name', text: 'M', bytes: 1, moreBytes: 0 },
      { name: 'index', text: '0', bytes: 1, moreBytes: 0 },
    ]);
  });

  it('draws one bar per state entered, each Map iteration as a row under its Map, in order', () => {
    const { bars, totalMs, axis } = timeline(events, model, T0, T0 + 43, 'SUCCEEDED');
    expect(totalMs).toBe(43);
    expect(axis.at(-1)?.ms).toBeLessThanOrEqual(43);
    expect(bars.map((b) => [b.key, b.kind === 'iteration' ? `${b.name} #${b.iteration}` : b.name, b.depth, b.parentKey, b.children])).toEqual([
      ['v2', 'M', 0, undefined, 2],
      ['v2#0', 'M #0', 1, 'v2', 2],
      ['v6', 'T', 2, 'v2#0', 0],
      ['v15', 'N', 2, 'v2#0', 1],
      ['v15#0', 'N #0', 3, 'v15', 1],
      ['v18', 'P', 4, 'v15#0', 0],
      ['v2#1', 'M #1', 1, 'v2', 2],
      ['v7', 'T', 2, 'v2#1', 0],
      ['v28', 'Caught', 2, 'v2#1', 0],
      ['v33', 'Done', 0, undefined, 0],
    ]);
    const bar = (key: string) => bars.find((b) => b.key === key);
    expect(bar('v2')).toMatchObject({ startMs: 0, endMs: 42, ended: true, outcome: 'succeeded' });
    expect(bar('v2#1')).toMatchObject({ startMs: 1, endMs: 41, ended: true, outcome: 'succeeded' });
    expect(bar('v6')).toMatchObject({ startMs: 2, endMs: 12, outcome: 'succeeded', retries: 0, attempts: [{ startMs: 2, endMs: 10, outcome: 'succeeded' }] });
  });

  it("shows a retried Task's attempts, their errors and the wait between them, coloured as caught", () => {
    const t = timeline(events, model, T0, T0 + 43, 'SUCCEEDED').bars.find((b) => b.key === 'v7');
    expect(t).toMatchObject({ name: 'T', type: 'Task', startMs: 2, endMs: 40, outcome: 'caught', retries: 1 });
    expect(t?.attempts).toEqual([
      { startMs: 3, endMs: 12, outcome: 'failed', error: 'Boom' },
      { startMs: 30, endMs: 40, outcome: 'failed', error: 'Boom' },
    ]);
  });

  it('runs the bars of what has not exited to the end: running while the execution runs, failed once it failed', () => {
    const cut = events.slice(0, 13);
    const live = timeline(cut, buildHistoryModel(cut, definition, 'RUNNING'), T0, T0 + 20, 'RUNNING');
    expect(live.totalMs).toBe(20);
    expect(live.bars.find((b) => b.key === 'v2')).toMatchObject({ endMs: 20, ended: false, outcome: 'running' });
    expect(live.bars.find((b) => b.key === 'v2#1')).toMatchObject({ endMs: 20, ended: false, outcome: 'running' });
    expect(live.bars.find((b) => b.key === 'v7')?.attempts).toEqual([{ startMs: 3, endMs: 12, outcome: 'failed', error: 'Boom' }]);
    expect(live.bars.find((b) => b.key === 'v6')).toMatchObject({ endMs: 20, ended: false, attempts: [{ startMs: 2, endMs: 10, outcome: 'succeeded' }] });

    const stopped = [...cut, e(36, 13, 12, 'ExecutionFailed', { error: 'Boom', cause: 'first' })];
    const failed = timeline(stopped, buildHistoryModel(stopped, definition, 'FAILED'), T0, T0 + 12, 'FAILED');
    expect(failed.bars.find((b) => b.key === 'v2')).toMatchObject({ endMs: 12, ended: false, outcome: 'failed' });
    expect(failed.bars.find((b) => b.key === 'v2#0')).toMatchObject({ ended: false, outcome: 'failed' });
  });
});

describe('a long history', () => {
  // A Map of 2000 iterations, each a Pass state: 8000 events, as a large batch's Map would log them.
  const definition = { StartAt: 'M', States: { M: { Type: 'Map', ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }, End: true } } };
  const events: ConsoleEvent[] = [
    { id: 1, previousEventId: 0, type: 'ExecutionStarted', timestamp: 0 },
    { id: 2, previousEventId: 0, type: 'MapStateEntered', timestamp: 0, details: { name: 'M' } },
    { id: 3, previousEventId: 2, type: 'MapStateStarted', timestamp: 0 },
  ];
  const push = (previousEventId: number, type: string, details?: Record<string, unknown>) => {
    const id = events.length + 1;
    events.push({ id, previousEventId, type, timestamp: id, ...(details ? { details } : {}) });
    return id;
  };
  for (let i = 0; i < 2000; i += 1) {
    const started = push(3, 'MapIterationStarted', { name: 'M', index: i });
    const exited = push(push(started, 'PassStateEntered', { name: 'P' }), 'PassStateExited', { name: 'P' });
    push(exited, 'MapIterationSucceeded', { name: 'M', index: i });
  }
  push(push(push(events.length, 'MapStateSucceeded'), 'MapStateExited', { name: 'M' }), 'ExecutionSucceeded');

  it('gives every event its row and every iteration its bar, each state under its own iteration', () => {
    const model = buildHistoryModel(events, definition, 'SUCCEEDED');
    const rows = eventRows(events, model, 0);
    expect(rows).toHaveLength(events.length);
    expect(rows.at(-5)).toMatchObject({ type: 'PassStateExited', step: 'P', iteration: 'M #1999' });
    const { bars } = timeline(events, model, 0, events.length, 'SUCCEEDED');
    expect(bars).toHaveLength(1 + 2000 * 2);
    expect(bars.filter((b) => b.name === 'P').every((b, i) => b.parentKey === `v2#${i}` && b.depth === 2)).toBe(true);
  });
});
