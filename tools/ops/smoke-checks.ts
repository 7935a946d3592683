/**
 * The smoke command's verdicts, from what it observed (ops/smoke.ts gathers it): one check per
 * property of a good deploy, each pass / fail / warn / n/a with a sentence, and the requests' own rows.
 * Pure: no I/O, so every verdict is tested on its own (test/tools/ops/smoke-checks.test.ts).
 */
import type { AlarmsRead } from './smoke-alarms.js';
import type { SmokeCopy } from './smoke-collector.js';
import type { DeadLetteredSmoke, DlqRead } from './smoke-dlqs.js';
import type { QueueDepth } from './queue-reader.js';

export const SMOKE_CHECKS = ['sent', 'executions', 'no-failover', 'regional-copy', 'records', 'workers', 'dlqs', 'alarms'] as const;
export type SmokeCheckId = (typeof SMOKE_CHECKS)[number];

export const CHECK_TITLE: Record<SmokeCheckId, string> = {
  sent: 'smoke requests sent to the master queue',
  executions: 'each execution succeeded, outcome dispatched',
  'no-failover': 'each placed in the region first chosen (no failover)',
  'regional-copy': 'each reached one regional queue, once, taken by smoke',
  records: 'each record says DISPATCHED, to that copy',
  workers: 'no worker accepted a smoke request',
  dlqs: 'no smoke request in a DLQ; DLQ counts',
  alarms: 'the stage\'s alarms are OK',
};

/** warn: worth a look, not a failure (e.g. a DLQ grew by messages that are not smoke requests). */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'n/a';

export interface SmokeCheck {
  readonly id: SmokeCheckId;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

export interface ExecutionSeen {
  readonly name: string;
  /** SUCCEEDED, FAILED, ...; undefined when the execution could not be read. */
  readonly status?: string;
  /** This request's outcome in the execution's output. */
  readonly outcome?: string;
  readonly region?: string;
  readonly failedOver?: boolean;
  readonly reason?: string;
  /** Why it could not be read, or the execution's error and cause. */
  readonly error?: string;
}

/**
 * Whether an unread or output-less execution may be vouched for by its record: on AWS only, where a
 * stage logs its executions' data only when named inspectable (else no output: no outcome to read) and a
 * production stage logs failed executions only (a succeeded one is not in its log group at all). The
 * record then is the evidence: DISPATCHED is written by the execution's own Settle state.
 */
export const vouchedByRecord = (r: SmokeRequestReport, fromLogs: boolean) =>
  fromLogs && r.record?.status === 'DISPATCHED' && (r.execution?.status === undefined || (r.execution.status === 'SUCCEEDED' && r.execution.outcome === undefined));

export interface RecordSeen {
  readonly status?: string;
  readonly region?: string;
  readonly token?: string;
  readonly tokens: readonly string[];
  readonly executionName?: string;
  readonly messageId?: string;
  readonly acceptedBy?: string;
  readonly workStatus?: string;
  readonly reason?: string;
}

export interface SmokeRequestReport {
  readonly requestId: string;
  /** The master queue's message id; absent when the send failed. */
  readonly masterMessageId?: string;
  readonly sendError?: string;
  readonly record?: RecordSeen;
  readonly execution?: ExecutionSeen;
  readonly copies: readonly SmokeCopy[];
  readonly deadLetters: readonly DeadLetteredSmoke[];
}

export interface DlqCount {
  readonly queue: string;
  readonly before?: QueueDepth;
  readonly after?: QueueDepth;
  readonly error?: string;
}

export interface Observations {
  readonly requests: readonly SmokeRequestReport[];
  readonly timedOut: boolean;
  readonly timeoutSeconds: number;
  /** Executions read from a log group (AWS), which may hold no output, or no succeeded execution at all. */
  readonly executionsFromLogs?: boolean;
  readonly dlqCounts: readonly DlqCount[];
  readonly dlqReads: readonly DlqRead[];
  readonly alarms: AlarmsRead;
  /** Regions the dispatch marked unhealthy meanwhile (their health items), with the error each recorded. */
  readonly unhealthy?: Readonly<Record<string, string>>;
}

const check = (id: SmokeCheckId, status: CheckStatus, detail: string): SmokeCheck => ({ id, title: CHECK_TITLE[id], status, detail });

/** "n of m" failures as one sentence: the first few named. */
function summary(failures: readonly string[], total: number, ok: string): { status: CheckStatus; detail: string } {
  if (!failures.length) return { status: 'pass', detail: ok };
  const shown = failures.slice(0, 5).join('; ');
  return { status: 'fail', detail: `${failures.length} of ${total}: ${shown}${failures.length > 5 ? `; and ${failures.length - 5} more` : ''}` };
}

const notYet = (r: SmokeRequestReport, timedOut: boolean, timeoutSeconds: number) =>
  timedOut ? `not seen within the ${timeoutSeconds} s timeout` : 'not seen';

function sentCheck(o: Observations): SmokeCheck {
  const failed = o.requests.filter((r) => r.sendError).map((r) => `${r.requestId}: ${r.sendError}`);
  const s = summary(failed, o.requests.length, `${o.requests.length} sent`);
  return check('sent', s.status, s.detail);
}

function executionsCheck(o: Observations): SmokeCheck {
  const failures: string[] = [];
  let vouched = 0;
  for (const r of o.requests.filter((q) => !q.sendError)) {
    const e = r.execution;
    if (vouchedByRecord(r, Boolean(o.executionsFromLogs))) {
      vouched += 1;
      continue;
    }
    if (!r.record) failures.push(`${r.requestId}: no record (${notYet(r, o.timedOut, o.timeoutSeconds)}: the intake has not run it)`);
    else if (!e) failures.push(`${r.requestId}: no execution named on its record`);
    else if (!e.status) failures.push(`${r.requestId}: execution ${e.name} not read${e.error ? ` (${e.error})` : ''}`);
    else if (e.status !== 'SUCCEEDED') failures.push(`${r.requestId}: execution ${e.name} ${e.status}${e.error ? `: ${e.error}` : ''}`);
    else if (e.outcome !== 'dispatched') failures.push(`${r.requestId}: outcome ${e.outcome ?? 'not reported'}${e.reason ? `: ${e.reason}` : ''}`);
  }
  const names = new Set(o.requests.map((r) => r.execution?.name).filter(Boolean));
  const note = vouched
    ? `; ${vouched} by their record only (DISPATCHED by its execution, whose log holds no output: this stage logs execution data only when inspectable, failed executions only in production)`
    : '';
  const s = summary(failures, o.requests.length, `${o.requests.length} dispatched by ${names.size} execution${names.size === 1 ? '' : 's'}${note}`);
  return check('executions', s.status, s.detail);
}

function failoverCheck(o: Observations): SmokeCheck {
  const moved = o.requests.filter((r) => r.execution?.failedOver).map((r) => `${r.requestId} failed over to ${r.execution?.region ?? '?'}${r.execution?.reason ? ` (${r.execution.reason})` : ''}`);
  const known = o.requests.filter((r) => r.execution?.outcome === 'dispatched').length;
  const unknown = o.requests.filter((r) => vouchedByRecord(r, Boolean(o.executionsFromLogs))).length;
  const marked = Object.entries(o.unhealthy ?? {}).map(([region, error]) => `${region} marked unhealthy: ${error}`);
  if (moved.length) {
    const why = marked.length ? marked.join('; ') : 'a region refused its sends';
    return check('no-failover', 'fail', `${moved.length} of ${o.requests.length}: ${moved.slice(0, 5).join('; ')}. ${why}`);
  }
  // Without the executions' output, the regions' health says whether a send was refused meanwhile.
  if (unknown && marked.length) return check('no-failover', 'fail', `${unknown} of ${o.requests.length} with no execution output to tell, and ${marked.join('; ')}`);
  if (!known && !unknown) return check('no-failover', 'fail', 'no execution reported where a smoke request went');
  return check('no-failover', 'pass', `${known} placed without failover${unknown ? `; ${unknown} without an execution output to tell, and no region marked unhealthy` : ''}`);
}

function copyCheck(o: Observations): SmokeCheck {
  const failures: string[] = [];
  const notes: string[] = [];
  for (const r of o.requests.filter((q) => !q.sendError)) {
    const regions = r.copies.map((c) => c.region);
    if (!r.copies.length) {
      const inDlq = r.deadLetters.find((d) => /^[a-z]+-[a-z]+-\d/.test(d.queue));
      failures.push(
        inDlq
          ? `${r.requestId}: moved to the ${inDlq.queue} (received ${inDlq.receiveCount ?? '?'} times without smoke taking it: workers handed it back)`
          : `${r.requestId}: no copy in any regional queue (${notYet(r, o.timedOut, o.timeoutSeconds)})`,
      );
      continue;
    }
    if (r.copies.length > 1) failures.push(`${r.requestId}: ${r.copies.length} copies (${regions.join(', ')})`);
    const copy = r.copies[0]!;
    if (r.record?.region && r.copies.some((c) => c.region !== r.record?.region)) failures.push(`${r.requestId}: copy in ${regions.join(', ')}, the record says ${r.record.region}`);
    for (const c of r.copies.filter((x) => !x.deleted)) failures.push(`${r.requestId}: its copy in ${c.region} could not be deleted (${c.deleteError ?? 'unknown error'})`);
    if (copy.receiveCount > 1) notes.push(`${r.requestId} received ${copy.receiveCount} times (handed back by workers)`);
  }
  const taken = o.requests.filter((r) => r.copies.length === 1).length;
  const byRegion = new Map<string, number>();
  for (const r of o.requests) for (const c of r.copies) byRegion.set(c.region, (byRegion.get(c.region) ?? 0) + 1);
  const spread = [...byRegion].map(([region, n]) => `${region} ${n}`).join(', ');
  const s = summary(failures, o.requests.length, `${taken} taken and deleted (${spread})${notes.length ? `; ${notes.join('; ')}` : ''}`);
  return check('regional-copy', s.status, s.detail);
}

function recordsCheck(o: Observations): SmokeCheck {
  const failures: string[] = [];
  for (const r of o.requests.filter((q) => !q.sendError)) {
    const rec = r.record;
    if (!rec) failures.push(`${r.requestId}: no record (${notYet(r, o.timedOut, o.timeoutSeconds)})`);
    else if (rec.status !== 'DISPATCHED') failures.push(`${r.requestId}: ${rec.status ?? 'no status'}${rec.reason ? `: ${rec.reason}` : ''}`);
    else if (r.copies[0]?.token && rec.token !== r.copies[0].token) failures.push(`${r.requestId}: DISPATCHED with token ${rec.token ?? '(none)'}, the copy carries ${r.copies[0].token}`);
  }
  const s = summary(failures, o.requests.length, `${o.requests.length} DISPATCHED, each to the copy smoke took`);
  return check('records', s.status, s.detail);
}

function workersCheck(o: Observations): SmokeCheck {
  const taken = o.requests
    .filter((r) => r.record?.acceptedBy || r.record?.workStatus)
    .map((r) => `${r.requestId} ${r.record?.workStatus === 'COMPLETED' ? 'processed' : 'accepted'} by ${r.record?.acceptedBy ?? '?'}`);
  if (taken.length) return check('workers', 'fail', `${taken.length} of ${o.requests.length}: ${taken.slice(0, 5).join('; ')}: that worker does not leave smoke copies alone (docs/worker-fence.md)`);
  const handedBack = o.requests.filter((r) => (r.copies[0]?.receiveCount ?? 1) > 1).length;
  return check('workers', 'pass', handedBack ? `none accepted; ${handedBack} handed back by workers` : 'none accepted');
}

function dlqCheck(o: Observations): SmokeCheck {
  const found = o.requests.flatMap((r) => r.deadLetters.map((d) => `${d.requestId} in the ${d.queue}${d.reason ? ` (${d.reason})` : ''}`));
  const errors = [...o.dlqCounts.filter((c) => c.error).map((c) => `${c.queue}: ${c.error}`), ...o.dlqReads.filter((r) => r.error).map((r) => `${r.queue} read: ${r.error}`)];
  const grew = o.dlqCounts
    .filter((c) => c.before && c.after && c.after.visible + c.after.inFlight > c.before.visible + c.before.inFlight)
    .map((c) => `${c.queue} ${c.before!.visible + c.before!.inFlight} -> ${c.after!.visible + c.after!.inFlight}`);
  const total = o.dlqCounts.reduce((n, c) => n + (c.after ? c.after.visible + c.after.inFlight : 0), 0);
  if (found.length) return check('dlqs', 'fail', `${found.length} smoke request${found.length === 1 ? '' : 's'} dead-lettered: ${found.slice(0, 5).join('; ')}`);
  if (errors.length) return check('dlqs', 'fail', `not read: ${errors.join('; ')}`);
  const cut = o.dlqReads.filter((r) => r.partial).map((r) => `${r.queue} (${r.read} read)`);
  if (cut.length) {
    return check('dlqs', 'warn', `no smoke request found, but the reads of ${cut.join(', ')} were cut at their time bound: a smoke request there may be unseen (see \`dlq\`)`);
  }
  if (grew.length) {
    return check('dlqs', 'warn', `no smoke request in any of ${o.dlqCounts.length} DLQs, but some grew meanwhile (other traffic: see \`dlq\`): ${grew.join(', ')}`);
  }
  return check('dlqs', 'pass', `no smoke request in any of ${o.dlqCounts.length} DLQs; none grew (${total} message${total === 1 ? '' : 's'} held in all)`);
}

function alarmsCheck(o: Observations): SmokeCheck {
  const read = o.alarms;
  if (read.kind === 'local') return check('alarms', 'n/a', 'n/a (local): the local stack has no CloudWatch alarms');
  if (read.errors.length) return check('alarms', 'fail', `not read: ${read.errors.join('; ')}`);
  if (!read.alarms.length) return check('alarms', 'fail', 'no alarm notifies the stage\'s alarm topics: were the alarms deployed?');
  const firing = read.alarms.filter((a) => a.state === 'ALARM').map((a) => `${a.name} (${a.region})`);
  const pending = read.alarms.filter((a) => a.state !== 'ALARM' && a.state !== 'OK').length;
  if (firing.length) return check('alarms', 'fail', `${firing.length} of ${read.alarms.length} in ALARM: ${firing.join(', ')}`);
  return check('alarms', 'pass', `${read.alarms.length - pending} of ${read.alarms.length} OK${pending ? `, ${pending} not evaluated yet (INSUFFICIENT_DATA: new alarms)` : ''}`);
}

export function smokeChecks(o: Observations): SmokeCheck[] {
  return [sentCheck(o), executionsCheck(o), failoverCheck(o), copyCheck(o), recordsCheck(o), workersCheck(o), dlqCheck(o), alarmsCheck(o)];
}

export const passed = (checks: readonly SmokeCheck[]) => checks.every((c) => c.status !== 'fail');
