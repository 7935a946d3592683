/**
 * `smoke`: a first deploy that checks itself (ops/smoke.ts: what it sends, reads and decides). Here: the
 * flags, the progress on stderr, the table, and the exit status (non-zero on any failed check).
 */
import { Command, InvalidArgumentError } from 'commander';
import { MAX_SMOKE_COUNT, runSmoke, SMOKE_DEFAULTS, type SmokePhase, type SmokeReport } from '../../ops/smoke.js';
import type { CheckStatus } from '../../ops/smoke-checks.js';
import { helpText, print } from '../layout.js';
import { awsOptions, positiveInt } from '../options.js';
import { stderrStepProgress } from '../stderr-progress.js';
import { resolveTarget } from '../target.js';

const SMOKE_HELP = `
Sends --count smoke requests through the master queue, marked with the message attribute dispatch_smoke
(this run's id): workers leave such a copy to smoke (not accepted, not processed, visible again at once)
and the intake leaves it out of its dispatch counts. Within --timeout it checks that each
request's execution succeeded without failover, that its copy reached one regional queue once (smoke
takes and deletes it), that its record says DISPATCHED and no worker accepted it, that no smoke request
is in any DLQ (master, master high, dispatch, each region's; counts before and after), and that the
stage's alarms are OK (n/a on the local stack). Exit status 0 when no check failed, 1 otherwise.

--json prints { "target", "runId", "ok", "timedOut", "timeoutSeconds", "checks": [ { "id", "title",
"status": "pass"|"fail"|"warn"|"n/a", "detail" } ], "requests": [ { "requestId", "masterMessageId",
"record", "execution", "copies", "deadLetters" } ], "dlqs": [ { "queue", "before", "after" } ], "alarms",
"otherMessagesHandedBack", "otherMessagesStillHidden" }.`;

const PHASE_LABEL: Record<SmokePhase, string> = {
  sending: 'sending smoke requests',
  dispatching: 'waiting for records and regional copies',
  executions: 'reading the executions',
  dlqs: 'reading the DLQs',
  alarms: 'reading the alarms',
};

const MARK: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', 'n/a': 'n/a' };

const seconds = (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 900) throw new InvalidArgumentError('--timeout must be a number of seconds from more than 0 to 900.');
  return n;
};

/** Columns padded to their widest cell; the last one free. */
const table = (rows: readonly (readonly string[])[]): string[] => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
};

/** What became of one request, in a word: its outcome, or how far it got. */
function executionCell(r: SmokeReport['requests'][number]): string {
  if (r.sendError) return 'not sent';
  const e = r.execution;
  if (!e) return r.record ? 'no execution' : 'not run';
  if (e.status !== 'SUCCEEDED') return e.status ?? 'unread';
  return `${e.outcome ?? '?'}${e.failedOver ? ' (failover)' : ''}`;
}

/** One line per check (its status and what it checks), its detail under it; then one row per request. */
export function formatSmoke(report: SmokeReport): string {
  const lines = [`smoke run ${report.runId} on ${report.target}`, ''];
  for (const c of report.checks) lines.push(`${MARK[c.status].padEnd(4)}  ${c.title}`, `      ${c.detail}`);
  lines.push('');
  lines.push(
    ...table([
      ['request', 'outcome', 'region', 'record', 'copy', 'DLQ'],
      ...report.requests.map((r) => [
        r.requestId,
        executionCell(r),
        r.copies[0]?.region ?? r.record?.region ?? '-',
        r.record?.status ?? '-',
        r.copies.length ? `${r.copies.length} taken${(r.copies[0]?.receiveCount ?? 1) > 1 ? `, ${r.copies[0]!.receiveCount} receives` : ''}` : 'none',
        r.deadLetters.length ? r.deadLetters.map((d) => d.queue).join(', ') : '-',
      ]),
    ]),
  );
  lines.push('');
  if (report.otherMessagesHandedBack) {
    const hidden = report.otherMessagesStillHidden;
    lines.push(
      `${report.otherMessagesHandedBack} message(s) of others received from the regional queues, held while smoke read them, then made visible again` +
        (hidden ? ` (${hidden} could not be: they come back when their visibility timeout ends)` : ''),
      '',
    );
  }
  lines.push(report.ok ? 'smoke passed' : `smoke FAILED: ${report.checks.filter((c) => c.status === 'fail').map((c) => c.id).join(', ')}`);
  return lines.join('\n');
}

interface SmokeFlags {
  count: number;
  timeout: number;
  json?: boolean;
  stage?: string;
  app?: string;
  profile?: string;
  region?: string;
}

export function smokeCommand(): Command {
  const command = new Command('smoke')
    .description('send a few marked smoke requests through the stage (or the local stack) and check each step; exits 1 on any failure')
    .option('--count <n>', `smoke requests to send (1 to ${MAX_SMOKE_COUNT})`, positiveInt('--count', MAX_SMOKE_COUNT), SMOKE_DEFAULTS.count)
    .option('--timeout <seconds>', 'how long to wait for the records, copies and executions', seconds, SMOKE_DEFAULTS.timeoutSeconds)
    .option('--json', 'print the report as JSON on stdout (shape below)')
    .addHelpText('after', helpText(SMOKE_HELP));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: SmokeFlags) => {
    const target = await resolveTarget(options);
    const bars = stderrStepProgress();
    let report: SmokeReport;
    try {
      report = await runSmoke(target, {
        count: options.count,
        timeoutSeconds: options.timeout,
        onProgress: (phase, done, total) => bars.update(PHASE_LABEL[phase], done, total),
      });
    } finally {
      bars.stop();
    }
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else print(formatSmoke(report));
    if (!report.ok) process.exitCode = 1;
  });
}
