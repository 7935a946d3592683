/**
 * The local Step Functions endpoint, driven by the real SFNClient over HTTP: what the project's
 * intake and tools will see.
 */
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  paginateGetExecutionHistory,
  paginateListExecutions,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRunner } from '../../../../tools/local/emulators/asl-runner.js';
import { startStepFunctionsEndpoint, type StepFunctionsEndpoint } from '../../../../tools/local/emulators/sfn-endpoint.js';
import { PortInUseError } from '../../../../tools/local/emulators/servers.js';

const ECHO = 'arn:aws:lambda:us-east-1:000000000000:function:echo';
const FLAKY = 'arn:aws:lambda:us-east-1:000000000000:function:flaky';
const HOLD = 'arn:aws:lambda:us-east-1:000000000000:function:hold';

/** Map over items (echo), a flaky task retried once then caught, then succeed or fail on $.fail. */
const definition = {
  StartAt: 'Prepare',
  States: {
    Prepare: { Type: 'Pass', Next: 'Each' },
    Each: {
      Type: 'Map',
      ItemsPath: '$.items',
      ItemProcessor: { StartAt: 'Echo', States: { Echo: { Type: 'Task', Resource: ECHO, End: true } } },
      ResultPath: '$.echoed',
      Next: 'Flaky',
    },
    Flaky: {
      Type: 'Task',
      Resource: FLAKY,
      Retry: [{ ErrorEquals: ['Flaky'], MaxAttempts: 1, IntervalSeconds: 1 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'Decide' }],
      ResultPath: null,
      Next: 'Decide',
    },
    Decide: { Type: 'Choice', Choices: [{ Variable: '$.fail', BooleanEquals: true, Next: 'Die' }], Default: 'Done' },
    Die: { Type: 'Fail', Error: 'Custom.Failure', Cause: 'asked to fail' },
    Done: { Type: 'Succeed' },
  },
};

/** One task that waits until the test opens the gate, to observe RUNNING. */
const heldDefinition = { StartAt: 'Hold', States: { Hold: { Type: 'Task', Resource: HOLD, End: true } } };
const standardDefinition = { StartAt: 'Only', States: { Only: { Type: 'Pass', End: true } } };

let openGate: () => void = () => undefined;
let gate = Promise.resolve();
const closeGate = () => {
  gate = new Promise<void>((resolve) => (openGate = resolve));
};

const runner = createRunner(
  definition,
  {
    lambdas: {
      [ECHO]: async (event: unknown) => event,
      [FLAKY]: async (event: { flaky?: boolean }) => {
        if (!event.flaky) return 'ok';
        const error = new Error('not today');
        error.name = 'Flaky';
        throw error;
      },
    },
  },
  { retryIntervalMs: 1 },
);
const heldRunner = createRunner(heldDefinition, { lambdas: { [HOLD]: async () => gate.then(() => 'released') } });
const standardRunner = createRunner(standardDefinition, { lambdas: {} });

const clientFor = (endpoint: string) =>
  new SFNClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // StartSyncExecution would otherwise be sent to sync-127.0.0.1.
    disableHostPrefix: true,
    maxAttempts: 1,
  });

let sfn: StepFunctionsEndpoint;
let client: SFNClient;
let arn: (name: string) => string;

beforeAll(async () => {
  sfn = await startStepFunctionsEndpoint({
    stateMachines: [
      { name: 'dispatch-test', runner, definition },
      { name: 'held', runner: heldRunner, definition: heldDefinition },
      { name: 'standard', runner: standardRunner, definition: standardDefinition, type: 'STANDARD' },
    ],
  });
  client = clientFor(sfn.endpoint);
  arn = sfn.stateMachineArn;
});

afterAll(async () => {
  openGate();
  client.destroy();
  await sfn.stop();
});

/** The error the SDK threw, for asserting its name and HTTP status. */
async function apiError(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
  );
  if (!error) throw new Error('expected the call to fail');
  return error;
}

describe('StartSyncExecution', () => {
  it('returns the output of a successful execution with epoch-second dates the SDK parses', async () => {
    const input = { items: [1, 2], flaky: false, fail: false };
    const result = await client.send(
      new StartSyncExecutionCommand({ stateMachineArn: arn('dispatch-test'), name: 'sync-ok', input: JSON.stringify(input) }),
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toEqual({ ...input, echoed: [1, 2] });
    expect(result.executionArn).toMatch(/^arn:aws:states:us-east-1:000000000000:express:dispatch-test:sync-ok:[0-9a-f-]{36}$/);
    expect(result.stateMachineArn).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:dispatch-test');
    expect(result.startDate).toBeInstanceOf(Date);
    expect(result.stopDate).toBeInstanceOf(Date);
    expect(result.stopDate!.getTime()).toBeGreaterThanOrEqual(result.startDate!.getTime());
    // Epoch seconds, not milliseconds: the parsed date is near now, not in the year 50000.
    expect(Math.abs(result.startDate!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('reports a failed execution as HTTP 200 with status FAILED, error and cause', async () => {
    const result = await client.send(
      new StartSyncExecutionCommand({ stateMachineArn: arn('dispatch-test'), input: JSON.stringify({ items: [], fail: true }) }),
    );
    expect(result.$metadata.httpStatusCode).toBe(200);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Custom.Failure');
    expect(result.cause).toBe('asked to fail');
    expect(result.output).toBeUndefined();
  });

  it('is refused for a STANDARD state machine', async () => {
    const error = await apiError(client.send(new StartSyncExecutionCommand({ stateMachineArn: arn('standard') })));
    expect(error.name).toBe('StateMachineTypeNotSupported');
  });
});

describe('StartExecution, DescribeExecution, ListExecutions', () => {
  it('starts in the background, shows RUNNING, then the final status', async () => {
    closeGate();
    const started = await client.send(new StartExecutionCommand({ stateMachineArn: arn('held'), name: 'held-1' }));
    expect(started.executionArn).toMatch(/:express:held:held-1:/);
    expect(started.startDate).toBeInstanceOf(Date);

    const running = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(running.status).toBe('RUNNING');
    expect(running.stopDate).toBeUndefined();
    expect(running.input).toBe('{}');
    const listedRunning = await client.send(new ListExecutionsCommand({ stateMachineArn: arn('held'), statusFilter: 'RUNNING' }));
    expect(listedRunning.executions?.map((e) => e.executionArn)).toEqual([started.executionArn]);
    const noneSucceeded = await client.send(new ListExecutionsCommand({ stateMachineArn: arn('held'), statusFilter: 'SUCCEEDED' }));
    expect(noneSucceeded.executions).toEqual([]);

    openGate();
    const done = await vi.waitFor(async () => {
      const described = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      if (described.status === 'RUNNING') throw new Error('still running');
      return described;
    });
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toBe('"released"');
    expect(done.stopDate).toBeInstanceOf(Date);
    const listed = await client.send(new ListExecutionsCommand({ stateMachineArn: arn('held'), statusFilter: 'SUCCEEDED' }));
    expect(listed.executions?.[0]).toMatchObject({ name: 'held-1', status: 'SUCCEEDED', executionArn: started.executionArn });
    expect(sfn.executions().find((e) => e.executionArn === started.executionArn)?.output).toBe('released');
  });

  it('allows the same name twice on EXPRESS (two executions), as AWS does', async () => {
    const a = await client.send(new StartExecutionCommand({ stateMachineArn: arn('dispatch-test'), name: 'twice', input: '{"items":[]}' }));
    const b = await client.send(new StartExecutionCommand({ stateMachineArn: arn('dispatch-test'), name: 'twice', input: '{"items":[]}' }));
    expect(a.executionArn).not.toBe(b.executionArn);
  });

  it('on STANDARD, refuses a duplicate name with other input (ExecutionAlreadyExists)', async () => {
    const first = await client.send(new StartExecutionCommand({ stateMachineArn: arn('standard'), name: 'once', input: '{"a":1}' }));
    expect(first.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:standard:once');
    const error = await apiError(client.send(new StartExecutionCommand({ stateMachineArn: arn('standard'), name: 'once', input: '{"a":2}' })));
    expect(error.name).toBe('ExecutionAlreadyExists');
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });
});

describe('GetExecutionHistory', () => {
  const input = { items: ['x', 'y'], flaky: true, fail: false };
  let executionArn: string;
  let all: HistoryEvent[];

  beforeAll(async () => {
    const result = await client.send(
      new StartSyncExecutionCommand({ stateMachineArn: arn('dispatch-test'), name: 'history', input: JSON.stringify(input) }),
    );
    expect(result.status).toBe('SUCCEEDED');
    executionArn = result.executionArn!;
    all = (await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
  });

  it('maps the run to AWS-shaped events with consecutive ids', () => {
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all[0]).toMatchObject({ type: 'ExecutionStarted', id: 1, previousEventId: 0 });
    expect(JSON.parse(all[0]!.executionStartedEventDetails!.input!)).toEqual(input);
    expect(all.at(-1)?.type).toBe('ExecutionSucceeded');
    expect(all.every((e) => e.timestamp instanceof Date)).toBe(true);

    const prepare = all.find((e) => e.type === 'PassStateEntered');
    expect(prepare?.stateEnteredEventDetails).toMatchObject({ name: 'Prepare', input: JSON.stringify(input) });
    expect(all.find((e) => e.type === 'MapStateStarted')?.mapStateStartedEventDetails?.length).toBe(2);
    const iterations = all.filter((e) => e.type === 'MapIterationSucceeded').map((e) => e.mapIterationSucceededEventDetails);
    expect(iterations).toEqual(expect.arrayContaining([{ name: 'Each', index: 0 }, { name: 'Each', index: 1 }]));
    expect(all.filter((e) => e.type === 'LambdaFunctionSucceeded').map((e) => e.lambdaFunctionSucceededEventDetails?.output).sort()).toEqual([
      '"x"',
      '"y"',
    ]);
  });

  it('shows the retried and then caught task as failures, never as a success', () => {
    const flaky = all.slice(
      all.findIndex((e) => e.stateEnteredEventDetails?.name === 'Flaky'),
      all.findIndex((e) => e.stateExitedEventDetails?.name === 'Flaky') + 1,
    );
    expect(flaky.map((e) => e.type)).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled', // the retry
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'TaskStateExited', // with the Catch's output
    ]);
    expect(flaky[3]?.lambdaFunctionFailedEventDetails?.error).toBe('Flaky');
    expect(JSON.parse(flaky[3]?.lambdaFunctionFailedEventDetails?.cause ?? '{}')).toMatchObject({ errorMessage: 'not today' });
    expect(JSON.parse(flaky.at(-1)?.stateExitedEventDetails?.output ?? '{}').caught).toMatchObject({ Error: 'Flaky' });
  });

  // Until now previousEventId was simply the event logged before (id - 1), which under a Map or a
  // Parallel is often another iteration's or branch's; no expectation here relied on it (only the first
  // event's 0, which stays). It now links each event to its causal predecessor, as on AWS.
  it('links each event to its causal predecessor, as Step Functions does, not to the one logged before it', () => {
    const of = (type: string, name?: string) =>
      all.filter((e) => e.type === type && (name === undefined || (e.stateEnteredEventDetails ?? e.stateExitedEventDetails)?.name === name));
    const one = (type: string, name?: string) => of(type, name)[0] as HistoryEvent;
    // The first state links to 0, as histories recorded on AWS show.
    expect(one('PassStateEntered', 'Prepare').previousEventId).toBe(0);
    expect(one('PassStateExited', 'Prepare').previousEventId).toBe(one('PassStateEntered', 'Prepare').id);
    expect(one('MapStateEntered', 'Each').previousEventId).toBe(one('PassStateExited', 'Prepare').id);
    const mapStarted = one('MapStateStarted');
    expect(mapStarted.previousEventId).toBe(one('MapStateEntered', 'Each').id);
    // Each iteration starts from the Map; its first state from its own MapIterationStarted; the Map ends
    // after its last iteration.
    const iterations = of('MapIterationStarted');
    expect(iterations.map((e) => e.previousEventId)).toEqual([mapStarted.id, mapStarted.id]);
    const echoes = of('TaskStateEntered', 'Echo');
    expect(echoes.map((e) => e.previousEventId).sort()).toEqual(iterations.map((e) => e.id).sort());
    for (const succeeded of of('MapIterationSucceeded')) {
      const index = succeeded.mapIterationSucceededEventDetails?.index;
      const started = iterations.find((e) => e.mapIterationStartedEventDetails?.index === index) as HistoryEvent;
      // Back through its own Echo's events to its own MapIterationStarted.
      let at = all.find((e) => e.id === succeeded.previousEventId);
      while (at && at.type !== 'MapIterationStarted') at = all.find((e) => e.id === at?.previousEventId);
      expect(at?.id).toBe(started.id);
    }
    expect(of('MapIterationSucceeded').map((e) => e.id)).toContain(one('MapStateSucceeded').previousEventId);
    // The retried Task: its retry follows the failure, its exit follows the last failure (caught).
    const failures = of('LambdaFunctionFailed');
    const flakySchedules = of('LambdaFunctionScheduled').filter((e) => e.lambdaFunctionScheduledEventDetails?.resource === FLAKY);
    expect(flakySchedules.map((e) => e.previousEventId)).toEqual([one('TaskStateEntered', 'Flaky').id, failures[0]?.id]);
    expect(one('TaskStateExited', 'Flaky').previousEventId).toBe(failures[1]?.id);
    expect(all.at(-1)?.previousEventId).toBe(one('SucceedStateExited', 'Done').id);
    expect(all.every((e) => (e.previousEventId ?? 0) < (e.id ?? 0))).toBe(true);
  });

  it('pages forwards and backwards with maxResults and nextToken', async () => {
    const forward: HistoryEvent[] = [];
    for await (const page of paginateGetExecutionHistory({ client, pageSize: 4 }, { executionArn })) forward.push(...(page.events ?? []));
    expect(forward).toEqual(all);

    const first = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 3, reverseOrder: true }));
    expect(first.events?.map((e) => e.id)).toEqual([all.length, all.length - 1, all.length - 2]);
    expect(first.nextToken).toBeTruthy();
    const second = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 3, reverseOrder: true, nextToken: first.nextToken }));
    expect(second.events?.map((e) => e.id)).toEqual([all.length - 3, all.length - 4, all.length - 5]);
  });

  it('omits input and output when includeExecutionData is false', async () => {
    const bare = await client.send(new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false, maxResults: 1000 }));
    expect(bare.events?.length).toBe(all.length);
    expect(bare.events?.some((e) => e.stateEnteredEventDetails?.input !== undefined)).toBe(false);
    expect(bare.events?.[0]?.executionStartedEventDetails?.input).toBeUndefined();
  });

  it('reports ExecutionFailed with error and cause for a failed run', async () => {
    const failed = await client.send(
      new StartSyncExecutionCommand({ stateMachineArn: arn('dispatch-test'), input: JSON.stringify({ items: [], fail: true }) }),
    );
    const history = await client.send(new GetExecutionHistoryCommand({ executionArn: failed.executionArn, reverseOrder: true, maxResults: 2 }));
    expect(history.events?.[0]).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'Custom.Failure', cause: 'asked to fail' },
    });
    expect(history.events?.[1]).toMatchObject({ type: 'FailStateEntered', stateEnteredEventDetails: { name: 'Die' } });
  });
});

describe('pagination of ListExecutions', () => {
  it('returns every execution once, newest first, across pages', async () => {
    const machine = arn('standard');
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const name of names) await client.send(new StartExecutionCommand({ stateMachineArn: machine, name, input: '{}' }));
    await vi.waitFor(async () => {
      const running = await client.send(new ListExecutionsCommand({ stateMachineArn: machine, statusFilter: 'RUNNING' }));
      if (running.executions?.length) throw new Error('still running');
    });

    const first = await client.send(new ListExecutionsCommand({ stateMachineArn: machine, maxResults: 2 }));
    expect(first.executions?.map((e) => e.name)).toEqual(['p5', 'p4']);
    expect(first.nextToken).toBeTruthy();

    const seen: string[] = [];
    for await (const page of paginateListExecutions({ client, pageSize: 2 }, { stateMachineArn: machine })) {
      expect(page.executions!.length).toBeLessThanOrEqual(2);
      seen.push(...page.executions!.map((e) => e.name!));
    }
    expect(seen.filter((n) => names.includes(n))).toEqual([...names].reverse());
    expect(new Set(seen).size).toBe(seen.length);

    const error = await apiError(client.send(new ListExecutionsCommand({ stateMachineArn: machine, nextToken: 'not-a-token' })));
    expect(error.name).toBe('InvalidToken');
  });
});

describe('API errors', () => {
  it('answers 400 StateMachineDoesNotExist for an unknown machine', async () => {
    const error = await apiError(client.send(new StartSyncExecutionCommand({ stateMachineArn: arn('nope'), input: '{}' })));
    expect(error.name).toBe('StateMachineDoesNotExist');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toContain(arn('nope'));
  });

  it('answers InvalidExecutionInput for input that is not JSON', async () => {
    const error = await apiError(client.send(new StartExecutionCommand({ stateMachineArn: arn('dispatch-test'), input: '{not json' })));
    expect(error.name).toBe('InvalidExecutionInput');
  });

  it('answers InvalidName, InvalidArn and ExecutionDoesNotExist', async () => {
    const badName = await apiError(client.send(new StartExecutionCommand({ stateMachineArn: arn('dispatch-test'), name: 'has space' })));
    expect(badName.name).toBe('InvalidName');
    const badArn = await apiError(client.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' })));
    expect(badArn.name).toBe('InvalidArn');
    const missing = await apiError(
      client.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:express:dispatch-test:x:y' })),
    );
    expect(missing.name).toBe('ExecutionDoesNotExist');
  });
});

describe('state machines', () => {
  it('describes and lists the configured machines', async () => {
    const described = await client.send(new DescribeStateMachineCommand({ stateMachineArn: arn('dispatch-test') }));
    expect(described).toMatchObject({ name: 'dispatch-test', type: 'EXPRESS', status: 'ACTIVE' });
    expect(JSON.parse(described.definition!)).toEqual(definition);
    expect(described.creationDate).toBeInstanceOf(Date);

    const page = await client.send(new ListStateMachinesCommand({ maxResults: 2 }));
    expect(page.stateMachines?.map((m) => m.name)).toEqual(['dispatch-test', 'held']);
    const rest = await client.send(new ListStateMachinesCommand({ maxResults: 2, nextToken: page.nextToken }));
    expect(rest.stateMachines?.map((m) => [m.name, m.type])).toEqual([['standard', 'STANDARD']]);
    expect(rest.nextToken).toBeUndefined();
  });
});

describe('the server itself', () => {
  it('keeps only the newest maxExecutions', async () => {
    const small = await startStepFunctionsEndpoint({ stateMachines: [{ name: 'm', runner: standardRunner, definition: standardDefinition }], maxExecutions: 2 });
    const smallClient = clientFor(small.endpoint);
    try {
      const arns: string[] = [];
      for (let i = 0; i < 4; i++) {
        const result = await smallClient.send(new StartSyncExecutionCommand({ stateMachineArn: small.stateMachineArn('m'), name: `e${i}` }));
        arns.push(result.executionArn!);
      }
      expect(small.executions().map((e) => e.name)).toEqual(['e2', 'e3']);
      const evicted = await apiError(smallClient.send(new DescribeExecutionCommand({ executionArn: arns[0] })));
      expect(evicted.name).toBe('ExecutionDoesNotExist');
    } finally {
      smallClient.destroy();
      await small.stop();
    }
  });

  it('says which port is taken and what to do', async () => {
    const port = Number(new URL(sfn.endpoint).port);
    const attempt = startStepFunctionsEndpoint({ port, stateMachines: [] });
    await expect(attempt).rejects.toBeInstanceOf(PortInUseError);
    await expect(attempt).rejects.toThrow(new RegExp(`port ${port}.*already in use.*pick another port`));
  });
});
