import { describe, expect, it } from 'vitest';
import {
  analyzeTimeBudget,
  assertTimeBudget,
  checkTimeBudget,
  formatBudget,
  TimeBudgetError,
  type AslDefinition,
  type TimeBudget,
  type TimeBudgetInput,
} from '../../workflows/time-budget.js';
import { dispatchDefinition } from '../../workflows/dispatch.js';

type States = Record<string, Record<string, unknown>>;
const machine = (StartAt: string, States: States): AslDefinition => ({ StartAt, States });
const only = (state: Record<string, unknown>) => machine('S', { S: { End: true, ...state } });
const task = (TimeoutSeconds: number, rest: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:lambda:us-east-1:000000000000:function:f',
  TimeoutSeconds,
  ...rest,
});
const all = (rest: Record<string, unknown>) => ({ ErrorEquals: ['States.ALL'], ...rest });
const analyze = (d: AslDefinition, maxItems = 10) => analyzeTimeBudget(d, { maxItems });

/** The problems a refusal lists (fails the test when the definition is accepted). */
function refusal(d: AslDefinition, maxItems = 10): readonly string[] {
  try {
    analyze(d, maxItems);
  } catch (e) {
    expect(e).toBeInstanceOf(TimeBudgetError);
    return (e as TimeBudgetError).problems;
  }
  throw new Error('expected the analyzer to refuse this definition');
}

describe('analyzeTimeBudget: Task retries', () => {
  it('exhausts every retrier: two retriers add their retries and their delays', () => {
    const b = analyze(
      only(
        task(10, {
          Retry: [
            { ErrorEquals: ['A'], IntervalSeconds: 2, MaxAttempts: 2, BackoffRate: 3 }, // 2 + 6
            all({ IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 }), // 1 + 2 + 4
          ],
        }),
      ),
    );
    // 1 + 2 + 3 = 6 attempts x 10 s, + 15 s of delays
    expect(b.worstCaseSeconds).toBe(75);
    expect(b.steps).toEqual([{ state: 'S', type: 'Task', seconds: 75, attempts: 6, attemptSeconds: 10, retryDelaySeconds: 15 }]);
  });

  it('caps each delay at MaxDelaySeconds', () => {
    const b = analyze(only(task(1, { Retry: [all({ IntervalSeconds: 3, MaxAttempts: 5, BackoffRate: 2, MaxDelaySeconds: 10 })] })));
    // delays 3, 6, 10 (not 12), 10 (not 24), 10 (not 48) = 39; 6 attempts x 1 s
    expect(b.steps[0]).toMatchObject({ attempts: 6, retryDelaySeconds: 39 });
    expect(b.worstCaseSeconds).toBe(45);
  });

  it('uses the full delay with JitterStrategy FULL, and fractional backoff rates', () => {
    const b = analyze(only(task(2, { Retry: [all({ IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 1.5, JitterStrategy: 'FULL' })] })));
    // delays 2 + 3 + 4.5; 4 attempts x 2 s
    expect(b.worstCaseSeconds).toBe(17.5);
  });

  it('counts nothing for MaxAttempts 0 (an answer, not a fault)', () => {
    const answers = { ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], MaxAttempts: 0 };
    expect(analyze(only(task(4, { Retry: [answers] }))).worstCaseSeconds).toBe(4);
    const b = analyze(only(task(4, { Retry: [answers, all({ IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 })] })));
    // 3 attempts x 4 s + 1 + 2
    expect(b.steps[0]).toMatchObject({ attempts: 3, retryDelaySeconds: 3 });
    expect(b.worstCaseSeconds).toBe(15);
  });

  it('applies the defaults: IntervalSeconds 1, BackoffRate 2, MaxAttempts 3', () => {
    const b = analyze(only(task(5, { Retry: [{ ErrorEquals: ['States.ALL'] }] })));
    // 4 attempts x 5 s + 1 + 2 + 4
    expect(b.steps[0]).toMatchObject({ attempts: 4, retryDelaySeconds: 7 });
    expect(b.worstCaseSeconds).toBe(27);
  });

  it('skips a retrier every error of which an earlier retrier already matches (the first match wins)', () => {
    const b = analyze(
      only(task(3, { Retry: [{ ErrorEquals: ['A', 'B'], MaxAttempts: 1 }, { ErrorEquals: ['A'], MaxAttempts: 5, IntervalSeconds: 9 }] })),
    );
    // only the first retrier can act: 2 attempts x 3 s + 1 s
    expect(b.worstCaseSeconds).toBe(7);
  });

  it('ignores HeartbeatSeconds and adds the per-attempt overhead when asked', () => {
    const d = only(task(10, { HeartbeatSeconds: 5, Retry: [all({ MaxAttempts: 1 })] }));
    expect(analyze(d).worstCaseSeconds).toBe(21);
    // 2 attempts x (10 + 0.5) s + 1 s
    expect(analyzeTimeBudget(d, { maxItems: 1, attemptOverheadSeconds: 0.5 }).worstCaseSeconds).toBe(22);
  });
});

describe('analyzeTimeBudget: paths', () => {
  it('follows a Catch when its path is longer than the Next path', () => {
    const b = analyze(
      machine('Try', {
        Try: task(2, { Retry: [all({ MaxAttempts: 1 })], Catch: [all({ Next: 'Recover' })], Next: 'Done' }),
        Done: { Type: 'Succeed' },
        Recover: task(7, { Next: 'Pause' }),
        Pause: { Type: 'Wait', Seconds: 3, End: true },
      }),
    );
    // Try: 2 x 2 s + 1 s = 5; Recover 7; Pause 3
    expect(b.worstCaseSeconds).toBe(15);
    expect(b.steps.map((s) => [s.state, s.seconds, s.next])).toEqual([
      ['Try', 5, { state: 'Recover', via: 'Catch' }],
      ['Recover', 7, { state: 'Pause', via: 'Next' }],
      ['Pause', 3, undefined],
    ]);
  });

  it('takes the longest of every Choice rule and the Default', () => {
    const states = (defaultSeconds: number): States => ({
      Pick: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.x', NumericEquals: 1, Next: 'Short' },
          { Variable: '$.x', NumericEquals: 2, Next: 'Long' },
        ],
        Default: 'Other',
      },
      Short: { Type: 'Wait', Seconds: 1, End: true },
      Long: { Type: 'Wait', Seconds: 9, Next: 'Give up' },
      'Give up': { Type: 'Fail', Error: 'X' },
      Other: task(defaultSeconds, { End: true }),
    });
    const byRule = analyze(machine('Pick', states(5)));
    expect(byRule.worstCaseSeconds).toBe(9);
    expect(byRule.steps.map((s) => s.state)).toEqual(['Pick', 'Long', 'Give up']);
    expect(byRule.steps[0]?.next).toEqual({ state: 'Long', via: 'Choice' });
    const byDefault = analyze(machine('Pick', states(20)));
    expect(byDefault.worstCaseSeconds).toBe(20);
    expect(byDefault.steps[0]?.next).toEqual({ state: 'Other', via: 'Default' });
  });

  it('adds states in sequence and reports the definition TimeoutSeconds', () => {
    const b = analyzeTimeBudget(
      { StartAt: 'A', TimeoutSeconds: 90, States: { A: { Type: 'Pass', Next: 'B' }, B: task(4, { Next: 'C' }), C: task(6, { End: true }) } },
      { maxItems: 1 },
    );
    expect(b).toMatchObject({ worstCaseSeconds: 10, timeoutSeconds: 90, maxItems: 1 });
  });
});

describe('analyzeTimeBudget: Map and Parallel', () => {
  const iteration = { StartAt: 'Put', States: { Put: task(2, { Retry: [all({ MaxAttempts: 1 })], End: true }) } }; // 2 x 2 + 1 = 5 s

  it('multiplies a Map iteration by its waves: 25 items, MaxConcurrency 10 -> 3 waves', () => {
    const b = analyze(only({ Type: 'Map', MaxConcurrency: 10, ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...iteration } }), 25);
    expect(b.worstCaseSeconds).toBe(15);
    expect(b.steps[0]).toMatchObject({ type: 'Map', waves: 3, attemptSeconds: 15, attempts: 1 });
    expect(b.steps[0]?.inner).toEqual({
      seconds: 5,
      steps: [{ state: 'Put', type: 'Task', seconds: 5, attempts: 2, attemptSeconds: 2, retryDelaySeconds: 1 }],
    });
  });

  it('runs an unlimited Map (MaxConcurrency 0 or absent) in one wave, up to Inline Map\'s 40 iterations', () => {
    expect(analyze(only({ Type: 'Map', MaxConcurrency: 0, ItemProcessor: iteration }), 25).worstCaseSeconds).toBe(5);
    expect(analyze(only({ Type: 'Map', Iterator: iteration }), 25).worstCaseSeconds).toBe(5);
    // 100 items, at most 40 at a time: 3 waves
    expect(analyze(only({ Type: 'Map', ItemProcessor: iteration }), 100).worstCaseSeconds).toBe(15);
    expect(analyze(only({ Type: 'Map', MaxConcurrency: 100, ItemProcessor: iteration }), 100).worstCaseSeconds).toBe(15);
    // a concurrency known only at run time may be 1
    expect(analyze(only({ Type: 'Map', MaxConcurrencyPath: '$.n', ItemProcessor: iteration }), 4).worstCaseSeconds).toBe(20);
  });

  it("retries a Map like a Task, one attempt being the whole Map", () => {
    const b = analyze(only({ Type: 'Map', MaxConcurrency: 10, ItemProcessor: iteration, Retry: [all({ MaxAttempts: 1, IntervalSeconds: 2 })] }), 25);
    // 2 attempts x 15 s + 2 s
    expect(b.steps[0]).toMatchObject({ attempts: 2, attemptSeconds: 15, retryDelaySeconds: 2, seconds: 32 });
  });

  it('takes the longest Parallel branch, retried like a Task', () => {
    const b = analyze(
      machine('Fan out', {
        'Fan out': {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'One', States: { One: task(3, { End: true }) } },
            { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 4, Next: 'Two' }, Two: task(2, { End: true }) } },
            { StartAt: 'Nothing', States: { Nothing: { Type: 'Pass', End: true } } },
          ],
          Retry: [all({ MaxAttempts: 2 })],
          Next: 'After',
        },
        After: task(1, { End: true }),
      }),
    );
    // branch 1 = 4 + 2 = 6 s; 3 attempts x 6 s + 1 + 2; then 1 s
    expect(b.steps[0]).toMatchObject({ type: 'Parallel', branch: 1, attemptSeconds: 6, attempts: 3, retryDelaySeconds: 3, seconds: 21 });
    expect(b.steps[0]?.inner?.steps.map((s) => s.state)).toEqual(['Pause', 'Two']);
    expect(b.worstCaseSeconds).toBe(22);
  });

  it('nests: a Map inside a Parallel branch', () => {
    const b = analyze(
      only({
        Type: 'Parallel',
        Branches: [
          {
            StartAt: 'Each',
            States: { Each: { Type: 'Map', MaxConcurrency: 5, ItemProcessor: { StartAt: 'Write', States: { Write: task(4, { End: true }) } }, End: true } },
          },
          { StartAt: 'Other', States: { Other: task(7, { End: true }) } },
        ],
      }),
      10,
    );
    // branch 0: 10 items / 5 = 2 waves x 4 s = 8 s > branch 1's 7 s
    expect(b.worstCaseSeconds).toBe(8);
    const map = b.steps[0]?.inner?.steps[0];
    expect(b.steps[0]?.branch).toBe(0);
    expect(map).toMatchObject({ state: 'Each', type: 'Map', waves: 2, seconds: 8 });
    expect(map?.inner?.steps[0]).toMatchObject({ state: 'Write', seconds: 4 });
  });
});

describe('analyzeTimeBudget: refusals', () => {
  it('refuses a cycle, naming its states', () => {
    const problems = refusal(
      machine('A', {
        A: { Type: 'Pass', Next: 'B' },
        B: { Type: 'Choice', Choices: [{ Variable: '$.again', BooleanEquals: true, Next: 'A' }], Default: 'Done' },
        Done: { Type: 'Succeed' },
      }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('cycle "A" -> "B" -> "A"');
  });

  it('refuses a cycle through a Catch inside a Map', () => {
    const problems = refusal(
      only({ Type: 'Map', ItemProcessor: { StartAt: 'T', States: { T: task(1, { Catch: [all({ Next: 'T' })], End: true }) } } }),
    );
    expect(problems).toEqual([expect.stringContaining('cycle "T" -> "T" (in Map "S")')]);
  });

  it('refuses every Task without TimeoutSeconds, all at once', () => {
    const problems = refusal(
      machine('A', {
        A: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', Next: 'B' },
        B: task(3, { Next: 'C' }),
        C: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', TimeoutSecondsPath: '$.t', End: true },
      }),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^Task "A" has no TimeoutSeconds/);
    expect(problems[1]).toMatch(/^Task "C" has no TimeoutSeconds \(TimeoutSecondsPath/);
  });

  it('refuses a Wait on SecondsPath or a timestamp', () => {
    expect(refusal(only({ Type: 'Wait', SecondsPath: '$.wait' }))).toEqual([expect.stringMatching(/^Wait "S" waits on SecondsPath: unbounded/)]);
    expect(refusal(only({ Type: 'Wait', Timestamp: '2030-01-01T00:00:00Z' }))).toEqual([expect.stringContaining('waits on Timestamp')]);
  });

  it('refuses what it cannot read: a missing target, a dead end, an unknown type, a Distributed Map', () => {
    const problems = refusal(
      machine('A', {
        A: task(1, { Catch: [all({ Next: 'Nowhere' })], Next: 'B' }),
        B: { Type: 'Pass' },
      }),
    );
    expect(problems).toEqual([
      'Pass "B" has neither Next nor End: true',
      'Task "A" goes to "Nowhere" (Catch), which is not a state here',
    ]);
    expect(refusal(only({ Type: 'Sleep' }))[0]).toMatch(/^Sleep "S" is not a state this analysis knows/);
    expect(
      refusal(only({ Type: 'Map', ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' }, StartAt: 'T', States: { T: task(1, { End: true }) } } })),
    ).toEqual(['Map "S" runs in DISTRIBUTED mode: only INLINE Map is analyzed']);
  });
});

describe('formatBudget', () => {
  it('prints one row per state with the arithmetic, nested rows indented', () => {
    const b = analyze(
      machine('Claim', {
        Claim: {
          Type: 'Map',
          MaxConcurrency: 10,
          ItemProcessor: { StartAt: 'Put claim', States: { 'Put claim': task(2, { Retry: [all({ MaxAttempts: 2 })], End: true }) } },
          Next: 'Snapshot',
        },
        Snapshot: task(30, { End: true }),
      }),
    );
    const text = formatBudget(b);
    expect(text.split('\n')[0]).toBe('worst case 39 s with 10 items per Map');
    expect(text).toMatch(/\n {2}Put claim +Task +9 {2}3 x 2 s \+ 3 s delays\n/);
    expect(text).toMatch(/\nClaim +Map +9 {2}1 wave x 9 s\n/);
    expect(text).toMatch(/\nSnapshot +Task +30 {2}1 x 30 s$/);
  });
});

describe('checkTimeBudget', () => {
  const ok: TimeBudgetInput = {
    worstCaseSeconds: 80,
    executionTimeoutSeconds: 90,
    intakeTimeoutSeconds: 100,
    claimLeaseSeconds: 300,
    masterVisibilitySeconds: 600,
  };
  const check = (change: Partial<TimeBudgetInput>) => checkTimeBudget({ ...ok, ...change });

  it('accepts worst < execution < intake < lease < visibility with lease >= intake + execution', () => {
    expect(checkTimeBudget(ok)).toEqual([]);
    expect(check({ claimLeaseSeconds: 190 })).toEqual([]);
    expect(() => assertTimeBudget(ok)).not.toThrow();
  });

  it('names both values and the fix when one pair is out of order', () => {
    expect(check({ worstCaseSeconds: 90 })).toEqual([expect.stringMatching(/worst-case execution \(90 s\).*execution timeout \(90 s\).*raise the state machine's TimeoutSeconds/)]);
    expect(check({ intakeTimeoutSeconds: 90 })).toEqual([expect.stringMatching(/execution timeout \(90 s\).*intake timeout \(90 s\)/)]);
    expect(check({ masterVisibilitySeconds: 300 })).toEqual([expect.stringMatching(/claim lease \(300 s\).*visibility timeout \(300 s\)/)]);
  });

  it('requires the lease to cover an execution started at the end of the intake', () => {
    expect(check({ claimLeaseSeconds: 189 })).toEqual([expect.stringContaining('(100 + 90 = 190 s)')]);
    // a lease not even longer than the intake is one violation, not two
    expect(check({ claimLeaseSeconds: 100 })).toEqual([expect.stringMatching(/intake timeout \(100 s\).*claim lease \(100 s\).*at least 190 s/)]);
  });

  it('keeps the execution within the Express limit of 300 s', () => {
    const v = checkTimeBudget({ worstCaseSeconds: 200, executionTimeoutSeconds: 301, intakeTimeoutSeconds: 400, claimLeaseSeconds: 800, masterVisibilitySeconds: 900 });
    expect(v).toEqual([expect.stringContaining('exceeds the Express limit (300 s)')]);
  });

  it('reports every violation, and rejects values that are not positive seconds', () => {
    expect(checkTimeBudget({ worstCaseSeconds: 700, executionTimeoutSeconds: 90, intakeTimeoutSeconds: 60, claimLeaseSeconds: 600, masterVisibilitySeconds: 600 })).toHaveLength(3);
    expect(check({ claimLeaseSeconds: Number.NaN })).toEqual(['claimLeaseSeconds is NaN: every value of the time budget must be a positive number of seconds']);
    expect(() => assertTimeBudget({ ...ok, worstCaseSeconds: 95 })).toThrow(TimeBudgetError);
  });
});

describe('the current dispatch definition', () => {
  const definition = dispatchDefinition({
    regions: ['us-east-1', 'us-west-2', 'us-west-1'],
    functions: {
      snapshot: 'arn:aws:lambda:us-east-1:000000000000:function:snapshot',
      select: 'arn:aws:lambda:us-east-1:000000000000:function:select',
      forward: 'arn:aws:lambda:us-east-1:000000000000:function:forward',
    },
    tableName: 'inference-dispatch-idempotency-test',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/inference-dispatch-dlq-test',
  });

  /** Tasks without TimeoutSeconds, found independently of the analyzer. */
  function unboundedTasks(states: Record<string, unknown>): string[] {
    return Object.entries(states).flatMap(([name, raw]) => {
      const s = raw as { Type?: string; TimeoutSeconds?: number; ItemProcessor?: { States: Record<string, unknown> }; Iterator?: { States: Record<string, unknown> }; Branches?: { States: Record<string, unknown> }[] };
      const nested = [s.ItemProcessor, s.Iterator, ...(s.Branches ?? [])].flatMap((m) => (m ? unboundedTasks(m.States) : []));
      return [...(s.Type === 'Task' && s.TimeoutSeconds === undefined ? [name] : []), ...nested];
    });
  }

  it('is analyzed without surprise: refused naming every unbounded Task, or bounded with a breakdown', () => {
    const missing = unboundedTasks(definition.States);
    let budget: TimeBudget | undefined;
    try {
      budget = analyzeTimeBudget(definition, { maxItems: 10 });
    } catch (e) {
      expect(e).toBeInstanceOf(TimeBudgetError);
      console.log((e as Error).message);
      const problems = (e as TimeBudgetError).problems;
      // Refused only for Tasks without TimeoutSeconds, every one of them named.
      expect(missing.length).toBeGreaterThan(0);
      expect(problems).toHaveLength(missing.length);
      for (const name of missing) expect(problems).toContainEqual(expect.stringContaining(`Task "${name}"`));
      return;
    }
    expect(missing).toEqual([]);
    console.log(formatBudget(budget));
    expect(budget.worstCaseSeconds).toBeGreaterThan(0);
  });
});
