/**
 * `rebalance`: moves the copies waiting in a drained region's lanes back to the master queue, so that the
 * dispatcher places them in regions that take work (the operation, its order of steps and why a crash
 * between them loses nothing: ops/rebalance.ts). Here: the flags, the progress on stderr, Ctrl-C, the report.
 */
import { Command, InvalidArgumentError } from 'commander';
import { rebalance, type RebalanceResult } from '../../ops/rebalance.js';
import { formatIdList } from '../id-list.js';
import { helpText, print } from '../layout.js';
import { awsOptions, positiveInt } from '../options.js';
import { stderrProgress } from '../stderr-progress.js';
import { abortOnPress } from '../shutdown.js';
import { resolveTarget, type TargetOptions } from '../target.js';

/** The report: the region's capacity, what moved (by lane), what was left and why, what failed, the counts. */
export function formatRebalance(result: RebalanceResult, full: boolean): string {
  const lines: string[] = [];
  const c = result.capacity.effective;
  lines.push(`${result.region}: weighed at capacity ${c.capacity} (${c.source})`);
  for (const reason of result.forcedPast) lines.push(`  forced past: ${reason}`);
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  const moving = result.entries.filter((e) => e.outcome === (result.dryRun ? 'would-move' : 'moved'));
  lines.push(`${result.dryRun ? 'would move' : 'moved'} ${moving.length}${moving.length ? ':' : ''}`);
  for (const lane of result.lanes) {
    const some = moving.filter((e) => e.lane === lane.lane);
    if (!some.length) continue;
    const ids = some.map((e) => e.requestId ?? e.messageId);
    lines.push(`  ${String(some.length).padStart(5)}  ${lane.lane} lane ${lane.from.name} -> ${lane.to.name}`);
    lines.push(`         request_ids (${ids.length}): ${formatIdList(ids, full)}`);
  }
  for (const outcome of ['left', 'failed'] as const) {
    const some = result.entries.filter((e) => e.outcome === outcome);
    if (!some.length) continue;
    lines.push(`${outcome === 'left' ? 'left in place' : 'failed'} ${some.length}:`);
    const shown = full ? some : some.slice(0, 20);
    for (const e of shown) lines.push(`  ${e.requestId ?? `(no request_id) message ${e.messageId}`} (${e.lane}): ${e.detail}`);
    if (shown.length < some.length) lines.push(`  ... and ${some.length - shown.length} more (--full to show all)`);
  }
  const read = result.lanes.map((l) => `${l.lane} ${l.read} (SQS approximate before: ${l.approximate.visible} visible, ${l.approximate.inFlight} in flight)`);
  lines.push(
    `read ${read.join(', ') || 'nothing'}; ${result.counts.moved} moved, ${result.counts['would-move']} would move, ` +
      `${result.counts.left} left in place, ${result.counts.failed} failed`,
  );
  if (result.stoppedAtMax) lines.push(`stopped at --max: copies not reached are left in ${result.region}`);
  if (result.aborted) lines.push(`interrupted: copies not reached are left in ${result.region}`);
  if (result.stillHidden) lines.push(`warning: ${result.stillHidden} copy(ies) could not be made visible again: hidden until their visibility timeout ends`);
  if (result.dryRun) lines.push('dry run: nothing was moved and no record was changed');
  return lines.join('\n');
}

const regionName = (value: string) => {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a region name (e.g. us-west-1).`);
  return value.trim();
};

type RebalanceFlags = TargetOptions & {
  from: string;
  dryRun?: boolean;
  max?: number;
  force?: boolean;
  full?: boolean;
  json?: boolean;
};

export function rebalanceCommand(): Command {
  const command = new Command('rebalance')
    .description("move the messages waiting in a drained region's lanes to the master queue, to be placed again elsewhere")
    .requiredOption('--from <region>', 'the region whose lanes are emptied (its capacity must be 0: capacity set REGION 0, or a fleet that vanished)', regionName)
    .option('--max <n>', 'move at most N messages', positiveInt('--max'))
    .option('--dry-run', 'list what would move; move nothing, change no record')
    .option('--force', 'rebalance although the region is still weighed above capacity 0, or no other region is')
    .option('--full', 'show every request_id and every copy left or failed (lists are cut by default)')
    .option('--json', 'print the result as JSON on stdout (shape below)')
    .addHelpText('after', helpText(`
Per copy, high lane first, in this order: (a) its record is marked REDRIVEN, by a conditional write
that holds only while the record is DISPATCHED to this region with this copy's dispatch token and no
worker accepted it (otherwise the copy is left where it is, and the report says why: a worker holds or
finished the request, or the record names another copy); (b) the body, unchanged, is sent to the master
queue's matching lane (attributes redriven_from, redrive_reason); (c) only then is the regional copy
deleted. The claim takes the REDRIVEN record over and the dispatcher places the request again, in a
region that takes work. A crash between the steps loses nothing and processes nothing twice: a copy
left behind is stale, and the fence accepts the request once, whichever copy a worker takes first.
Refused while the region is weighed above capacity 0, or when no other region is, unless --force.
A failed copy stays in the region; the exit status is then 1.

--json prints { "target", "region", "dryRun", "forced", "capacity": { "region", "configured", "setting",
"presence", "waiting", "inFlight", "effective": { "capacity", "source" } }, "regions": [ same ], "forcedPast",
"warnings", "lanes": [ { "lane", "from": { "name", "url" }, "to": { "name", "url" }, "approximate", "read" } ],
"entries": [ { "lane", "messageId", "requestId", "token", "outcome": "moved"|"would-move"|"left"|"failed",
"detail", "record": { "status", "region", "token", "acceptedBy", "workStatus" }, "sentMessageId", "expiresAt" } ],
"counts": { "moved", "would-move", "left", "failed" }, "stoppedAtMax", "aborted", "stillHidden", "ok" }.`));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: RebalanceFlags) => {
    const target = await resolveTarget(options);
    const controller = new AbortController();
    const stopListening = abortOnPress(controller, 'the message at hand may be left both in the region and in the master queue (the fence accepts it once)');
    const bar = stderrProgress(options.dryRun ? 'reading' : 'rebalancing');
    // Both lanes on one bar: copies read in each, over SQS's approximate counts.
    const read = new Map<string, number>();
    const estimate = new Map<string, number>();
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    let result: RebalanceResult;
    try {
      result = await rebalance(target, {
        from: options.from,
        dryRun: Boolean(options.dryRun),
        force: Boolean(options.force),
        ...(options.max !== undefined ? { max: options.max } : {}),
        signal: controller.signal,
        onProgress: (p) => {
          read.set(p.lane, p.read);
          estimate.set(p.lane, p.estimate);
          bar.update(sum(read), sum(estimate));
        },
      });
    } finally {
      bar.stop();
      stopListening();
    }
    if (options.json) {
      console.log(JSON.stringify({ target: target.description, ...result }, null, 2));
    } else {
      print(`${target.description}: rebalance ${result.region} -> master queue${result.dryRun ? ' (dry run)' : ''}`);
      print(formatRebalance(result, Boolean(options.full)));
    }
    if (result.aborted) process.exitCode = 130;
    else if (!result.ok) process.exitCode = 1;
  });
}
