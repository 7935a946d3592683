/**
 * The deployed-stage path of `executions` and `inspect` (tools/ops/executions.ts, ops/express-logs.ts)
 * over the wire: a Target of kind 'aws' whose log client is the real CloudWatchLogsClient pointed at the
 * local CloudWatch Logs endpoint, holding Express log records recorded from local-stack executions
 * (test/fixtures/express-log-records.jsonl: a success, a failover, a failed execution and its redelivery,
 * each with Map iterations), delivered as Step Functions delivers them.
 */
import { readFileSync } from 'node:fs';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSteps } from '../../../tools/cli/steps.js';
import {
  parseExpressLogRecords,
  publishExpressRecords,
  shiftRecords,
  toExpressLogRecords,
  type ExpressLogRecord,
} from '../../../tools/local/emulators/express-log-format.js';
import { startLogsEndpoint, type LogsEndpoint } from '../../../tools/local/emulators/logs-endpoint.js';
import { LOCAL_CREDENTIALS } from '../../../tools/local/resources.js';
import { readExecution, recentExecutions, type ExecutionsDeps } from '../../../tools/ops/executions.js';
import { expressExecutionUrl, logMessagesToHistory, type InsightsProgress } from '../../../tools/ops/express-logs.js';

const MACHINE = 'inference-dispatch-dev';
const LOG_GROUP = `/aws/vendedlogs/states/${MACHINE}`;
const OK = 'b20261207T172038-42660eca';
const FAILOVER = 'b20261207T172040-c27b951c';
const FAILED = 'b20261207T172042-f469c2bd';
const REDELIVERED = 'b20261207T172044-f469c2bd';

let endpoint: LogsEndpoint;
let logs: CloudWatchLogsClient;
let records: ExpressLogRecord[];
let target: ExecutionsDeps;

const recordsOf = (name: string) => records.filter((r) => r.execution_arn.includes(`:${name}:`));
const arnOf = (name: string) => recordsOf(name)[0]?.execution_arn as string;
const timeOf = (name: string, type: RegExp) => Number(recordsOf(name).find((r) => type.test(r.type))?.event_timestamp);

beforeAll(async () => {
  // Pages cut at 16 KB (the service cuts at 1 MB): one execution's records then take several FilterLogEvents pages.
  // Queries answer Running once before Complete, as a real one does.
  endpoint = await startLogsEndpoint({ maxPageBytes: 16_384, runningPolls: 1 });
  logs = new CloudWatchLogsClient({ region: 'us-east-1', endpoint: endpoint.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  // Recorded days ago: moved so that the newest record is a minute old, inside the hours read.
  const recorded = parseExpressLogRecords(readFileSync(new URL('../../fixtures/express-log-records.jsonl', import.meta.url), 'utf8'));
  const newest = Math.max(...recorded.map((r) => Number(r.event_timestamp)));
  records = shiftRecords(recorded, Date.now() - 60_000 - newest);
  await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
  await publishExpressRecords(logs, LOG_GROUP, records);
  target = {
    kind: 'aws',
    stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${MACHINE}`,
    logGroupName: LOG_GROUP,
    sfn: () => {
      throw new Error('Express executions on AWS are not read through the Step Functions API');
    },
    logs: () => logs,
  };
});
afterAll(async () => {
  logs?.destroy();
  await endpoint?.stop();
});

describe('recentExecutions on a deployed stage (Logs Insights over the wire)', () => {
  it('lists the recorded executions newest first, with their statuses, times and console pages', async () => {
    const progress: InsightsProgress[] = [];
    const listed = await recentExecutions(target, { max: 10, hours: 1, onProgress: (p) => progress.push(p) });
    expect(listed.map((e) => [e.name, e.status])).toEqual([
      [REDELIVERED, 'SUCCEEDED'],
      [FAILED, 'FAILED'],
      [FAILOVER, 'SUCCEEDED'],
      [OK, 'SUCCEEDED'],
    ]);
    for (const e of listed) {
      const started = timeOf(e.name, /^ExecutionStarted$/);
      const stopped = timeOf(e.name, /^Execution(Succeeded|Failed)$/);
      expect(e).toEqual({
        name: e.name,
        executionArn: arnOf(e.name),
        status: e.status,
        startDate: new Date(started).toISOString(),
        stopDate: new Date(stopped).toISOString(),
        durationMs: stopped - started,
        consoleUrl: expressExecutionUrl(arnOf(e.name), new Date(started)),
      });
    }
    // The query was polled while it ran, and its statistics came back with the rows.
    expect(progress.map((p) => p.status)).toEqual(['Running', 'Complete']);
    expect(progress.at(-1)?.statistics).toMatchObject({ recordsScanned: records.length, recordsMatched: 8 });
  });

  it('keeps to --status and --max', async () => {
    const [failed, newest] = await Promise.all([
      recentExecutions(target, { max: 10, hours: 1, status: 'FAILED' }),
      recentExecutions(target, { max: 2, hours: 1 }),
    ]);
    expect(failed.map((e) => e.name)).toEqual([FAILED]);
    expect(newest.map((e) => e.name)).toEqual([REDELIVERED, FAILED]);
  });
});

describe('readExecution on a deployed stage (FilterLogEvents over the wire)', () => {
  it('reads every record of one execution, by name, over several pages, and rebuilds its steps: the failover', async () => {
    const pages: number[] = [];
    const read = await readExecution(target, FAILOVER, { hours: 1, onProgress: (_events, page) => pages.push(page) });
    expect(read.executionArn).toBe(arnOf(FAILOVER));
    expect(pages.at(-1)).toBeGreaterThan(1);
    // Nothing lost, added or altered on the way: the same history as the records read directly.
    expect(read.events).toEqual(logMessagesToHistory(recordsOf(FAILOVER).map((r) => JSON.stringify(r)), arnOf(FAILOVER)));
    // And the history converts back to the very records, key for key (express-log-format.ts writes the format read here).
    expect(toExpressLogRecords(read.executionArn, read.events).map((r) => JSON.stringify(r))).toEqual(
      recordsOf(FAILOVER)
        .sort((a, b) => Number(a.id) - Number(b.id))
        .map((r) => JSON.stringify(r)),
    );
    expect(read.execution).toMatchObject({ name: FAILOVER, status: 'SUCCEEDED', startDate: new Date(timeOf(FAILOVER, /^ExecutionStarted$/)) });
    expect(read.execution.output).toContain('"outcome":"dispatched"');

    const steps = toSteps(read.events);
    // Each Forward iteration's region refused twice (the attempt and its retry), then was caught and failed over.
    const forwards = steps.filter((s) => s.name === 'Forward');
    expect(forwards.map((s) => [s.iteration, s.attempts, s.errors.map((e) => e.error)])).toEqual([
      [0, 2, ['RegionUnavailable', 'RegionUnavailable']],
      [1, 2, ['RegionUnavailable', 'RegionUnavailable']],
    ]);
    // Each error on the iteration whose region refused (the two iterations ran side by side).
    expect(forwards.map((s) => s.errors.map((e) => /us-west-\d/.exec(e.cause ?? '')?.[0]))).toEqual([
      ['us-west-2', 'us-west-2'],
      ['us-west-1', 'us-west-1'],
    ]);
    const failovers = steps.filter((s) => s.name === 'Failover');
    expect(failovers.map((s) => [s.iteration, s.errors, s.exitedAt !== undefined])).toEqual([
      [0, [], true],
      [1, [], true],
    ]);
    expect(steps.filter((s) => s.name === 'Put claim').map((s) => [s.iteration, s.depth])).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });

  it('reads a failed execution by ARN with its error and cause, and the state it failed in', async () => {
    const read = await readExecution(target, arnOf(FAILED), { hours: 1 });
    expect(read.events).toHaveLength(recordsOf(FAILED).length);
    expect(read.execution).toMatchObject({ name: FAILED, status: 'FAILED', error: 'Runtime.ExitError' });
    expect(read.execution.cause).toContain('the container died');
    const steps = toSteps(read.events);
    expect(steps.at(-1)).toMatchObject({ name: 'Choose regions', attempts: 1, errors: [{ error: 'Runtime.ExitError' }] });
    expect(steps.at(-1)?.exitedAt).toBeUndefined();
  });

  it('says plainly when no execution of that name is in the hours read', async () => {
    await expect(readExecution(target, 'b20990101T000000-nothere', { hours: 1 })).rejects.toThrow(
      `no execution named b20990101T000000-nothere in ${LOG_GROUP} over the last 1 hours`,
    );
  });
});
