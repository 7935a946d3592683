/**
 * The explorer's report: a table per Task state and fault kind (combinations, violations), the extra
 * copies per window, the first violations with the id that replays them, and the last line.
 */
import { FAULT_KINDS } from './faults.js';
import type { Exploration } from './explorer.js';

export interface Row {
  readonly state: string;
  readonly kind: string;
  combinations: number;
  violations: number;
}

export function rows(exploration: Exploration): Row[] {
  const table = new Map<string, Row>();
  const bump = (state: string, kind: string, violated: boolean) => {
    const key = `${state}\u0000${kind}`;
    const row = table.get(key) ?? { state, kind, combinations: 0, violations: 0 };
    row.combinations++;
    if (violated) row.violations++;
    table.set(key, row);
  };
  for (const r of exploration.results) {
    const violated = r.violations.length > 0;
    if (!r.combo.length) bump('(every Task)', 'success', violated);
    for (const f of new Set(r.combo.map((x) => `${x.state}\u0000${x.kind}`))) {
      const [state, kind] = f.split('\u0000') as [string, string];
      bump(state, kind, violated);
    }
  }
  const order = new Map(exploration.tasks.map((t, i) => [t.name, i]));
  const kindOrder = new Map<string, number>(FAULT_KINDS.map((k, i) => [k.id, i]));
  return [...table.values()].sort(
    (a, b) => (order.get(a.state) ?? -1) - (order.get(b.state) ?? -1) || (kindOrder.get(a.kind) ?? -1) - (kindOrder.get(b.kind) ?? -1),
  );
}

export const summaryLine = (e: Exploration) => `explored ${e.results.length} combinations, ${e.results.filter((r) => r.violations.length).length} violations`;

export function formatReport(e: Exploration, options: { readonly showViolations?: number } = {}): string {
  const table = rows(e);
  const width = Math.max(5, ...table.map((r) => r.state.length));
  const kindWidth = Math.max(4, ...table.map((r) => r.kind.length));
  const lines = [
    `${'state'.padEnd(width)}  ${'fault'.padEnd(kindWidth)}  ${'combinations'.padStart(12)}  ${'violations'.padStart(10)}`,
    ...table.map((r) => `${r.state.padEnd(width)}  ${r.kind.padEnd(kindWidth)}  ${String(r.combinations).padStart(12)}  ${String(r.violations).padStart(10)}`),
  ];
  const unfaulted = e.tasks.filter((t) => !table.some((r) => r.state === t.name)).map((t) => t.name);
  const unreached = unfaulted.filter((name) => !e.reached.has(name));
  const reachedOnly = unfaulted.filter((name) => e.reached.has(name));
  if (e.singleSpace) {
    lines.push('', `Task states: ${e.tasks.length}; entered by some run: ${e.tasks.length - unreached.length}; given faults: ${e.tasks.length - unfaulted.length}`);
    if (unreached.length) lines.push(`never entered (no combination explored reaches them): ${unreached.join(', ')}`);
    if (reachedOnly.length) lines.push(`entered but given no fault: ${reachedOnly.join(', ')}`);
    lines.push(`sites given faults (a state, per region group in the Forward map): ${e.sites.size}`);
  }

  const windows = new Map<string, number>();
  for (const r of e.results) for (const x of r.extraCopies) windows.set(x.window, (windows.get(x.window) ?? 0) + 1);
  if (windows.size) lines.push('', 'extra copies by window:', ...[...windows].map(([w, n]) => `  ${w}: ${n}`));

  const byCheck = new Map<string, number>();
  for (const r of e.results) for (const v of new Set(r.violations.map((x) => x.check))) byCheck.set(v, (byCheck.get(v) ?? 0) + 1);
  if (byCheck.size) lines.push('', 'combinations with a violation, by check:', ...[...byCheck].map(([c, n]) => `  ${c}: ${n}`));

  const failed = e.results.filter((r) => r.violations.length);
  const shown = failed.slice(0, options.showViolations ?? 5);
  if (shown.length) {
    lines.push('', `first ${shown.length} of ${failed.length} violating combinations (replay: npm run explore -- --id '<id>'):`);
    for (const r of shown) {
      lines.push(`  ${r.id}`);
      for (const v of r.violations) lines.push(`    ${v.check} ${v.requestId}: ${v.detail}`);
    }
  }
  const deeper = e.deeperSpace.map((n, i) => `${i + 3} faults where only ${i + 2} reach: ${n}`).join('; ');
  lines.push('', `single faults: ${e.singleSpace}; pairs in the space: ${e.pairSpace}${deeper ? `; ${deeper}` : ''}; ${(e.ms / 1000).toFixed(1)} s`);
  lines.push(summaryLine(e));
  return lines.join('\n');
}
