/**
 * `workers`: the running local stack's simulated GPU workers per region, listed and scaled while the
 * stack runs, through its web console's API (console/server.ts /api/workers; the stack file names
 * the console). Scaling up starts new workers at once; scaling down lets the workers scaled away finish
 * the message they hold, then stop.
 *
 *   workers list [--json]
 *   workers set REGION N [--set-capacity]
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { writeCapacity } from '../../../aws/capacity.js';
import { MAX_WORKERS } from '../../local/fleet/fleet.js';
import { LOCAL_CREDENTIALS } from '../../local/resources.js';
import { helpText, print } from '../layout.js';
import { readStackFile, type StackFileDescription } from '../stack-file.js';
import { defaultSetBy } from './capacity.js';

const fleetRegionSchema = z.object({
  region: z.string(),
  workers: z.number(),
  retiring: z.number(),
  busy: z.number(),
  processed: z.number(),
});
type FleetRegion = z.infer<typeof fleetRegionSchema>;
const listSchema = z.object({ regions: z.array(fleetRegionSchema) });
const errorSchema = z.object({ error: z.string() });

/** N: a whole number of workers from 0 to MAX_WORKERS. */
export const workersArgument = (value: string): number => {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n > MAX_WORKERS) throw new InvalidArgumentError(`the number of workers must be a whole number from 0 to ${MAX_WORKERS}.`);
  return n;
};

function consoleOf(stack: StackFileDescription): string {
  if (!stack.consoleUrl) {
    throw new Error(
      `the local stack (pid ${stack.pid}) serves no web console, which scales its workers: restart it with \`npm run cli -- up\` (without --no-console)`,
    );
  }
  return stack.consoleUrl;
}

/** Calls the console's API; a non-2xx answer throws with the console's own message. */
async function call<T>(stack: StackFileDescription, path: string, schema: z.ZodType<T>, init: RequestInit = {}): Promise<T> {
  const url = new URL(path, consoleOf(stack));
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Error(`the local stack's console at ${url.origin} does not answer (${(error as Error).message}): is \`up\` still running?`);
  }
  const json = (await response.json().catch(() => undefined)) as unknown;
  if (!response.ok) {
    const said = errorSchema.safeParse(json);
    throw new Error(said.success ? said.data.error : `the console answered HTTP ${response.status}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`the console's answer to ${path} is not what this CLI reads: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function workersTable(regions: readonly FleetRegion[]): string[] {
  const header = ['region', 'workers', 'busy', 'retiring', 'processed'];
  const rows = regions.map((r) => [r.region, String(r.workers), String(r.busy), String(r.retiring), String(r.processed)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ');
  return [format(header), ...rows.map(format)];
}

function listCommand(): Command {
  return new Command('list')
    .description("show the running local stack's simulated workers per region: working, busy, retiring, processed")
    .option('--json', 'print { "regions": [ { "region", "workers", "busy", "retiring", "processed" } ] }')
    .action(async (flags: { json?: boolean }) => {
      const stack = readStackFile();
      const { regions } = await call(stack, '/api/workers', listSchema);
      if (flags.json) console.log(JSON.stringify({ regions }, null, 2));
      else console.log(workersTable(regions).join('\n'));
    });
}

const SET_HELP = `
Scaling up starts new workers at once; scaling down lets the workers scaled away finish the message they
hold, then stop (listed as retiring until then).

The dispatch sees the change in the queue's figures: a region with a backlog is weighed by at least its
messages in flight. --set-capacity also sets the region's capacity to N (\`capacity set\`), as an
autoscaling hook would, so that the dispatch weighs it by N at once.`;

function setCommand(): Command {
  return new Command('set')
    .description("scale a region's simulated workers on the running local stack")
    .argument('<region>', "one of the stack's regions")
    .argument('<n>', `workers, from 0 to ${MAX_WORKERS}`, workersArgument)
    .option('--set-capacity', "also set the region's capacity to N, as an autoscaling hook would")
    .addHelpText('after', helpText(SET_HELP))
    .action(async (region: string, count: number, flags: { setCapacity?: boolean }) => {
      const stack = readStackFile();
      if (!stack.regions.some((r) => r.region === region)) {
        throw new Error(`unknown region "${region}": the local stack has ${stack.regions.map((r) => r.region).join(', ')}`);
      }
      const scaled = await call(stack, `/api/workers/${encodeURIComponent(region)}`, fleetRegionSchema, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ count }),
      });
      const retiring = scaled.retiring ? ` (${scaled.retiring} scaled away finishing their message)` : '';
      print(`${region}: ${scaled.workers} worker(s)${retiring}; ${scaled.busy} busy now, ${scaled.processed} processed so far`);
      if (flags.setCapacity) {
        const dynamo = new DynamoDBClient({ region: stack.homeRegion, endpoint: stack.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
        try {
          const setting = await writeCapacity({ client: dynamo, tableName: stack.tableName }, region, count, `${defaultSetBy()} (workers set)`);
          print(`${region}: capacity set to ${setting.capacity} (\`capacity clear ${region}\` returns it to the estimate)`);
        } finally {
          dynamo.destroy();
        }
      }
    });
}

export function workersCommand(): Command {
  return new Command('workers')
    .description("list and scale the running local stack's simulated GPU workers per region")
    .addCommand(listCommand())
    .addCommand(setCommand());
}
