/**
 * `capacity`: the capacity each region is weighed by (core/capacity.ts), on the local stack or, with
 * --stage, on a deployed one.
 *
 *   capacity set REGION N     an explicit capacity, kept in the idempotency table until cleared: it wins
 *                             over the queue's estimate and the configured number (0 drains the region)
 *   capacity clear REGION     back to the estimate from the queue, floored at the configured number
 *   capacity list [--json]    per region: configured, set (when, by whom), the fleet's presence, the
 *                             queue's reading, and the capacity it is weighed by now with its source
 */
import { hostname, userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { clearCapacity, readCapacitySettings, writeCapacity, type CapacityTable } from '../../../aws/capacity.js';
import { capacityValueSchema, MAX_CAPACITY } from '../../../core/capacity.js';
import { DEFAULT_CAPACITY, readFleet, regionCapacities, type RegionCapacity } from '../../ops/capacity-view.js';
import { lanesDepth, type QueueDepth } from '../../ops/queue-reader.js';
import type { Target } from '../../ops/target.js';
import { capacityTable, settingText } from '../capacity-table.js';
import { helpText, print } from '../layout.js';
import { awsOptions } from '../options.js';
import { resolveTarget, type TargetOptions } from '../target.js';

type Flags = TargetOptions & { json?: boolean; by?: string };

/** N: a whole number from 0 to MAX_CAPACITY. */
export const capacityArgument = (value: string): number => {
  const parsed = capacityValueSchema.safeParse(/^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN);
  if (!parsed.success) throw new InvalidArgumentError(`the capacity must be a whole number from 0 to ${MAX_CAPACITY} (0 drains the region).`);
  return parsed.data;
};

/** Who a setting is by, when --by does not say: the operator's user and machine. */
export function defaultSetBy(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container): the environment's name, if any.
  }
  return `${user}@${hostname()}`;
}

/** The target's region of that name, or an error naming the ones it has. */
export function targetRegion(target: Target, region: string): string {
  if (target.regions.some((r) => r.region === region)) return region;
  throw new Error(`unknown region "${region}": ${target.description} has ${target.regions.map((r) => r.region).join(', ')}`);
}

export function tableOf(target: Target): CapacityTable {
  if (!target.tableName) throw new Error(`${target.description} names no idempotency table`);
  return { client: target.dynamo(), tableName: target.tableName };
}

export interface CapacityReport {
  readonly target: string;
  readonly regions: RegionCapacity[];
  /** What could not be read (the settings, then shown as none, as the dispatch falls back; a queue), or is assumed. */
  readonly warnings: string[];
  /** False when the settings or a queue could not be read. */
  readonly complete: boolean;
}

/** Reads the settings and every region's queue, and says what each region is weighed by. */
export async function capacityReport(target: Target): Promise<CapacityReport> {
  const warnings: string[] = [];
  let complete = true;
  const regions = target.regions.map((r) => r.region);
  const [fleet, depths] = await Promise.all([
    readFleet(tableOf(target), regions),
    Promise.all(
      target.regions.map((r) =>
        lanesDepth(target.sqs(r.region), r.queueUrl, r.highQueueUrl).catch((error: Error): QueueDepth | undefined => {
          warnings.push(`${r.region} queue unreadable (${error.name}: ${error.message}): its capacity is shown without the estimate`);
          complete = false;
          return undefined;
        }),
      ),
    ),
  ]);
  warnings.unshift(...fleet.warnings);
  if (!fleet.complete) complete = false;
  if (!target.capacities) warnings.push(`${target.description} does not say its configured capacities: ${DEFAULT_CAPACITY} (the default) is shown, marked ?`);
  const rows = regionCapacities(
    target.regions.map((r, i) => ({ region: r.region, configured: target.capacities?.[r.region], depth: depths[i] })),
    fleet.settings,
    fleet.presence,
  );
  return { target: target.description, regions: rows, warnings, complete };
}

const CAPACITY_HELP = `
A region is weighed by its capacity (how many requests it works on at once). An explicit value set here
(or by an autoscaling hook) wins; where none is set and the region's workers report themselves (a
presence item), its live workers: a fleet that reported itself and has no live worker left is drained.
Where neither, a region with messages waiting is taken to have at least as many workers as it has
messages in flight, and never fewer than its configured capacity.

A value of 0 drains the region: it takes nothing while another region has capacity. The setting lasts
until \`capacity clear\`.`;

const LIST_JSON_HELP = `
--json prints { "target", "regions": [ { "region", "configured", "configuredAssumed"?, "setting":
{ "region", "capacity", "setAt" (epoch ms), "setBy" } | null, "presence": { "region", "live", "lapsed",
"liveUntil"? (epoch ms) } | null (no presence item), "waiting", "inFlight" (null when the queue was
unreadable), "effective": { "capacity", "source": "set" | "present" | "estimated" | "configured" } } ],
"warnings", "complete" }. The
exit status is 1 when the settings or a queue could not be read (the report is still printed).`;

function withAws(command: Command): Command {
  for (const option of awsOptions()) command.addOption(option);
  return command;
}

function setCommand(): Command {
  return withAws(
    new Command('set')
      .description("set a region's capacity: it wins over the estimate and the configured number until cleared")
      .argument('<region>', 'one of the target\'s regions')
      .argument('<n>', `a whole number from 0 to ${MAX_CAPACITY}; 0 drains the region`, capacityArgument)
      .option('--by <who>', 'who sets it, shown by `capacity list` (default: user@host)'),
  ).action(async (region: string, capacity: number, flags: Flags) => {
    const target = await resolveTarget(flags);
    targetRegion(target, region);
    const table = tableOf(target);
    const [before] = await readCapacitySettings(table, [region]).catch(() => [undefined]);
    const setting = await writeCapacity(table, region, capacity, flags.by ?? defaultSetBy());
    const configured = target.capacities?.[region] ?? `${DEFAULT_CAPACITY} (assumed)`;
    print(`${region} capacity set to ${setting.capacity} on ${target.description}, by ${setting.setBy} at ${new Date(setting.setAt).toISOString()}`);
    print(`  before: ${before ? `set to ${before.capacity} by ${before.setBy}` : 'not set'} (configured ${configured})`);
    print(`  the dispatch weighs ${region} by ${setting.capacity} from its next reading of the table, until \`capacity clear ${region}\``);
    if (setting.capacity === 0) print(`  0 drains ${region}: it takes nothing while another region has capacity`);
  });
}

function clearCommand(): Command {
  return withAws(
    new Command('clear')
      .description("remove a region's capacity setting: it is weighed by its queue's estimate or its configured capacity again")
      .argument('<region>', 'one of the target\'s regions'),
  ).action(async (region: string, flags: Flags) => {
    const target = await resolveTarget(flags);
    targetRegion(target, region);
    const removed = await clearCapacity(tableOf(target), region);
    const configured = target.capacities?.[region] ?? DEFAULT_CAPACITY;
    if (removed) print(`${region} capacity setting removed on ${target.description} (it was ${settingText(removed)})`);
    else print(`${region} had no capacity setting on ${target.description}: nothing changed`);
    print(`  ${region} is weighed by its queue's estimate, at least its configured ${configured}`);
  });
}

function listCommand(): Command {
  return withAws(
    new Command('list')
      .description('show what each region is weighed by: configured, set (when, by whom), the queue, the effective capacity and its source')
      .option('--json', 'print the report as JSON')
      .addHelpText('after', helpText(LIST_JSON_HELP)),
  ).action(async (flags: Flags) => {
    const target = await resolveTarget(flags);
    const report = await capacityReport(target);
    for (const warning of report.warnings) console.error(`warning: ${warning}`);
    if (flags.json) console.log(JSON.stringify(report, null, 2));
    else {
      print(`capacity per region on ${report.target}; "weighed by": what the dispatch takes with this reading`);
      console.log(capacityTable(report.regions).join('\n'));
    }
    // A report with a part unread is shown, and said to be incomplete by the exit status.
    if (!report.complete) process.exitCode = 1;
  });
}

export function capacityCommand(): Command {
  return new Command('capacity')
    .description('set, clear and list the capacity each region is weighed by')
    .addHelpText('after', helpText(CAPACITY_HELP))
    .addCommand(setCommand())
    .addCommand(clearCommand())
    .addCommand(listCommand());
}
