/**
 * The smoke command's verdicts (ops/smoke-checks.ts) on observations made up here, for the cases a local
 * stack cannot show: the alarms of a deployed stage (OK, ALARM, not yet evaluated, none, unreadable),
 * DLQs that grew with other traffic, a copy the workers handed back into the regional DLQ, two copies,
 * a worker's acceptance. And readAlarms (ops/smoke-alarms.ts) against a CloudWatch that answers in pages.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { readAlarms } from '../../../tools/ops/smoke-alarms.js';
import { passed, smokeChecks, type Observations, type SmokeRequestReport } from '../../../tools/ops/smoke-checks.js';

const good = (n: number): SmokeRequestReport => ({
  requestId: `smoke-run-${n}`,
  masterMessageId: `m-${n}`,
  record: { status: 'DISPATCHED', region: 'us-west-2', token: `t-${n}`, tokens: [`t-${n}`], executionName: 'e-1', messageId: `m-${n}` },
  execution: { name: 'e-1', status: 'SUCCEEDED', outcome: 'dispatched', region: 'us-west-2' },
  copies: [{ region: 'us-west-2', lane: 'normal', requestId: `smoke-run-${n}`, token: `t-${n}`, sqsMessageId: `q-${n}`, receiveCount: 1, deleted: true }],
  deadLetters: [],
});

const depth = (visible: number) => ({ visible, inFlight: 0 });

function observe(patch: Partial<Observations> = {}): Observations {
  return {
    requests: [good(1), good(2)],
    timedOut: false,
    timeoutSeconds: 90,
    dlqCounts: [{ queue: 'dispatch DLQ', before: depth(0), after: depth(0) }],
    dlqReads: [{ queue: 'dispatch DLQ', read: 0, stillHidden: 0 }],
    alarms: { kind: 'aws', alarms: [{ region: 'us-east-1', name: 'a-intake-errors-prod', state: 'OK' }], errors: [] },
    ...patch,
  };
}

const statusOf = (o: Observations, id: string) => smokeChecks(o).find((c) => c.id === id)!;

describe('smokeChecks', () => {
  it('all good on AWS: every check passes', () => {
    const checks = smokeChecks(observe());
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['sent', 'pass'],
      ['executions', 'pass'],
      ['no-failover', 'pass'],
      ['regional-copy', 'pass'],
      ['records', 'pass'],
      ['workers', 'pass'],
      ['dlqs', 'pass'],
      ['alarms', 'pass'],
    ]);
    expect(passed(checks)).toBe(true);
  });

  it('alarms: one in ALARM fails and is named; not yet evaluated passes and says so; none or unreadable fail', () => {
    const alarms = (list: Array<[string, string]>, errors: string[] = []) =>
      observe({ alarms: { kind: 'aws', alarms: list.map(([name, state]) => ({ region: 'us-west-2', name, state })), errors } });
    expect(statusOf(alarms([['q-depth', 'OK'], ['q-dlq-not-empty', 'ALARM']]), 'alarms')).toMatchObject({ status: 'fail', detail: '1 of 2 in ALARM: q-dlq-not-empty (us-west-2)' });
    expect(statusOf(alarms([['q-depth', 'OK'], ['q-age', 'INSUFFICIENT_DATA']]), 'alarms')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/1 of 2 OK, 1 not evaluated yet/) });
    expect(statusOf(alarms([]), 'alarms').status).toBe('fail');
    expect(statusOf(alarms([], ['us-west-1: AccessDenied: not allowed']), 'alarms')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/AccessDenied/) });
    expect(statusOf(observe({ alarms: { kind: 'local' } }), 'alarms')).toMatchObject({ status: 'n/a', detail: expect.stringMatching(/^n\/a \(local\)/) });
  });

  it('DLQs: growth by other traffic is a warning, not a failure; a smoke request in one fails', () => {
    const grew = observe({ dlqCounts: [{ queue: 'master DLQ', before: depth(4), after: depth(6) }] });
    expect(statusOf(grew, 'dlqs')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/master DLQ 4 -> 6/) });
    expect(passed(smokeChecks(grew))).toBe(true);
    const cut = observe({ dlqReads: [{ queue: 'master DLQ', read: 4000, stillHidden: 0, partial: true }] });
    expect(statusOf(cut, 'dlqs')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/master DLQ \(4000 read\) were cut/) });
    const dead = observe({ requests: [{ ...good(1), deadLetters: [{ queue: 'dispatch DLQ', requestId: 'smoke-run-1', reason: 'no region accepted the message', deleted: true }] }] });
    expect(statusOf(dead, 'dlqs')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/smoke-run-1 in the dispatch DLQ \(no region accepted/) });
  });

  it('regional copies: none, two, in another region than the record, handed back into the regional DLQ', () => {
    const none = observe({ requests: [{ ...good(1), copies: [] }] });
    expect(statusOf(none, 'regional-copy').detail).toMatch(/no copy in any regional queue/);
    const two = observe({ requests: [{ ...good(1), copies: [...good(1).copies, { ...good(1).copies[0]!, region: 'us-east-1', sqsMessageId: 'q-x' }] }] });
    expect(statusOf(two, 'regional-copy').detail).toMatch(/2 copies \(us-west-2, us-east-1\)/);
    const elsewhere = observe({ requests: [{ ...good(1), copies: [{ ...good(1).copies[0]!, region: 'us-west-1' }] }] });
    expect(statusOf(elsewhere, 'regional-copy').detail).toMatch(/copy in us-west-1, the record says us-west-2/);
    const handedBack = observe({ requests: [{ ...good(1), copies: [], deadLetters: [{ queue: 'us-west-2 DLQ', requestId: 'smoke-run-1', receiveCount: 3, deleted: true }] }] });
    expect(statusOf(handedBack, 'regional-copy').detail).toMatch(/moved to the us-west-2 DLQ \(received 3 times without smoke taking it: workers handed it back\)/);
  });

  it('workers: an acceptance on a record fails; copies handed back (received more than once) pass and say so', () => {
    const accepted = observe({ requests: [{ ...good(1), record: { ...good(1).record!, acceptedBy: 'gpu-7', workStatus: 'ACCEPTED' } }] });
    expect(statusOf(accepted, 'workers')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/smoke-run-1 accepted by gpu-7/) });
    const handed = observe({ requests: [{ ...good(1), copies: [{ ...good(1).copies[0]!, receiveCount: 3 }] }] });
    expect(statusOf(handed, 'workers')).toMatchObject({ status: 'pass', detail: 'none accepted; 1 handed back by workers' });
  });

  it('on AWS, an execution whose log holds no output (or no event at all) is vouched for by its DISPATCHED record; locally it is not', () => {
    const noOutput = { ...good(1), execution: { name: 'e-1', status: 'SUCCEEDED' } };
    const notLogged = { ...good(2), execution: { name: 'e-2', error: 'no execution named e-2 in /aws/vendedlogs/states/x over the last 1 hours' } };
    const aws = observe({ requests: [noOutput, notLogged], executionsFromLogs: true });
    expect(statusOf(aws, 'executions')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/2 by their record only/) });
    expect(statusOf(aws, 'no-failover')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/2 without an execution output to tell, and no region marked unhealthy/) });
    const marked = observe({ requests: [noOutput], executionsFromLogs: true, unhealthy: { 'us-west-1': 'us-west-1 took none of 1 messages: AccessDenied' } });
    expect(statusOf(marked, 'no-failover')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/us-west-1 marked unhealthy: .*AccessDenied/) });
    const notDispatched = observe({ requests: [{ ...noOutput, record: { ...noOutput.record!, status: 'IN_PROGRESS' } }], executionsFromLogs: true });
    expect(statusOf(notDispatched, 'executions').status).toBe('fail');
    const local = observe({ requests: [notLogged], executionsFromLogs: false });
    expect(statusOf(local, 'executions')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/execution e-2 not read/) });
  });

  it('records: a token other than the copy\'s fails (the copy smoke took is not the one recorded)', () => {
    const other = observe({ requests: [{ ...good(1), record: { ...good(1).record!, token: 't-other' } }] });
    expect(statusOf(other, 'records').detail).toMatch(/DISPATCHED with token t-other, the copy carries t-1/);
  });
});

describe('readAlarms', () => {
  it('asks each region for the alarms that notify its topic, page by page', async () => {
    const asked: Array<{ region: string; input: Record<string, unknown> }> = [];
    const client = (region: string) =>
      ({
        send: async (command: { input: Record<string, unknown> }) => {
          asked.push({ region, input: command.input });
          if (region === 'us-west-2' && !command.input.NextToken) return { MetricAlarms: [{ AlarmName: 'b', StateValue: 'OK' }], NextToken: 'p2' };
          if (region === 'us-west-2') return { MetricAlarms: [{ AlarmName: 'c', StateValue: 'ALARM', StateReason: 'Threshold Crossed' }] };
          return { MetricAlarms: [{ AlarmName: 'a', StateValue: 'OK' }] };
        },
      }) as unknown as CloudWatchClient;
    const read = await readAlarms({ kind: 'aws', alarmTopicArns: { 'us-east-1': 'arn:t1', 'us-west-2': 'arn:t2' }, cloudwatch: client });
    expect(read).toEqual({
      kind: 'aws',
      alarms: [
        { region: 'us-east-1', name: 'a', state: 'OK' },
        { region: 'us-west-2', name: 'b', state: 'OK' },
        { region: 'us-west-2', name: 'c', state: 'ALARM', reason: 'Threshold Crossed' },
      ],
      errors: [],
    });
    expect(asked.map((a) => [a.region, a.input.ActionPrefix, a.input.NextToken])).toEqual(
      expect.arrayContaining([
        ['us-east-1', 'arn:t1', undefined],
        ['us-west-2', 'arn:t2', undefined],
        ['us-west-2', 'arn:t2', 'p2'],
      ]),
    );
  });

  it('the local stack: n/a; a region that cannot be read: its error', async () => {
    expect(await readAlarms({ kind: 'local' })).toEqual({ kind: 'local' });
    const denied = () =>
      ({
        send: async () => {
          throw Object.assign(new Error('not authorized to perform cloudwatch:DescribeAlarms'), { name: 'AccessDenied' });
        },
      }) as unknown as CloudWatchClient;
    const read = await readAlarms({ kind: 'aws', alarmTopicArns: { 'us-west-1': 'arn:t3' }, cloudwatch: denied });
    expect(read).toEqual({ kind: 'aws', alarms: [], errors: ['us-west-1: AccessDenied: not authorized to perform cloudwatch:DescribeAlarms'] });
  });
});
