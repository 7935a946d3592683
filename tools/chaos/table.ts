/** The chaos run's report as one table (and the extra copies by window under it). No I/O. */
import type { ScenarioReport } from './harness.js';
import { UNEXPLAINED, WINDOWS } from './windows.js';

export const COLUMNS = [
  'scenario',
  'sent',
  'accepted once',
  'lost',
  'accepted twice',
  'extra copies',
  'unexplained',
  'DLQ with reason',
  'DLQ no reason',
  'pending',
  'same-execution failover',
  'region and DLQ',
  'DLQ then completed',
  'drain',
  'fault fired',
] as const;

const seconds = (ms: number | undefined) => (ms === undefined ? 'no' : `${(ms / 1000).toFixed(1)} s`);

export function row(r: ScenarioReport): string[] {
  const c = r.check;
  return [
    r.scenario,
    String(c.sent),
    `${c.acceptedOnce}/${c.uniqueRequests}`,
    String(c.lost.length),
    String(c.acceptedTwice.length),
    String(c.extraCopies.length),
    String(c.unexplained.length),
    String(c.deadLetteredWithReason),
    String(c.deadLetteredWithoutReason.length),
    String(c.pending.length),
    String(c.sameExecution.length),
    String(c.dispatchedAndDeadLettered.length),
    String(c.deadLetteredCompleted.length),
    seconds(c.drainMs),
    r.fired.ok ? 'yes' : 'NO',
  ];
}

/** A Markdown table (it reads as plain text too). */
export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function reportTable(reports: readonly ScenarioReport[]): string {
  return markdownTable(COLUMNS, reports.map(row));
}

/** Extra copies per scenario and window (only scenarios that had any). */
export function windowTable(reports: readonly ScenarioReport[]): string | undefined {
  const names = [...Object.values(WINDOWS), UNEXPLAINED];
  const rows = reports
    .filter((r) => r.check.extraCopies.length)
    .map((r) => [r.scenario, ...names.map((n) => String(r.check.extraByWindow[n as keyof typeof r.check.extraByWindow] ?? 0))]);
  return rows.length ? markdownTable(['extra copies by window', ...names], rows) : undefined;
}

const PROBLEMS_SHOWN = 5;

/** Every scenario's fault evidence and its first problems, for the text report. */
export function details(reports: readonly ScenarioReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.ok ? 'ok  ' : 'FAIL'} ${r.scenario}: ${r.injects}`);
    if (r.drawn) lines.push(`     drew: ${r.drawn}`);
    lines.push(`     fault: ${r.fired.evidence.length ? r.fired.evidence.join('; ') : 'NEVER FIRED'}`);
    if (r.check.masterDlqOfCompleted) lines.push(`     ${r.check.masterDlqOfCompleted} master-DLQ message(s) of requests completed all the same`);
    if (r.check.reacceptedAfterCrash) lines.push(`     ${r.check.reacceptedAfterCrash} copy(ies) accepted again with the same token after their worker died`);
    if (r.send.refusedAsExpected) lines.push(`     ${r.send.refusedAsExpected} corpus body(ies) refused by SQS at send, as the corpus expects`);
    for (const p of r.problems.slice(0, PROBLEMS_SHOWN)) lines.push(`     PROBLEM: ${p}`);
    if (r.problems.length > PROBLEMS_SHOWN) lines.push(`     ... and ${r.problems.length - PROBLEMS_SHOWN} more problem(s) (--json lists them all)`);
  }
  return lines.join('\n');
}
