/**
 * `npm run definition:size`: how many states the dispatch definition holds at 1 to 5 regions, counted at
 * every depth (Map iterations, Parallel branches), and its JSON size. The states are what the Step
 * Functions console draws; the size is an input of the Express memory estimate (docs/cost.md).
 */
import { Command } from 'commander';
import { wholeNumber } from '../../args.js';
import { dispatchDefinition } from '../../../workflows/dispatch.js';

interface Node {
  readonly Type?: string;
  readonly States?: Readonly<Record<string, Node>>;
  readonly Branches?: readonly Node[];
  readonly Iterator?: Node;
  readonly ItemProcessor?: Node;
}

/** States at every depth, by type. */
export function countStates(definition: object): { total: number; byType: Record<string, number> } {
  const byType: Record<string, number> = {};
  let total = 0;
  const visit = (machine: Node) => {
    for (const state of Object.values(machine.States ?? {})) {
      total++;
      byType[state.Type ?? '?'] = (byType[state.Type ?? '?'] ?? 0) + 1;
      for (const branch of state.Branches ?? []) visit(branch);
      const processor = state.ItemProcessor ?? state.Iterator;
      if (processor) visit(processor);
    }
  };
  visit(definition as Node);
  return { total, byType };
}

const REGIONS = ['us-east-1', 'us-west-2', 'us-west-1', 'eu-west-1', 'ap-northeast-1', 'eu-central-1', 'ap-southeast-2', 'sa-east-1'];

/** The definition for `regionCount` regions and made-up ARNs. */
export function definitionFor(regionCount: number): object {
  const arn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
  return dispatchDefinition({
    regions: REGIONS.slice(0, regionCount),
    functions: { snapshot: arn('snapshot'), select: arn('select'), forward: arn('forward') },
    tableName: 'inference-dispatch-idempotency-dev',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-dlq-dev',
  });
}

export function sizeRows(maxRegions: number) {
  return Array.from({ length: maxRegions }, (_, i) => {
    const definition = definitionFor(i + 1);
    const { total, byType } = countStates(definition);
    return { regions: i + 1, states: total, byType, bytes: Buffer.byteLength(JSON.stringify(definition)) };
  });
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  await new Command('definition:size')
    .description('states of the dispatch definition (at every depth) and its JSON size, per region count')
    .option('--max-regions <n>', 'up to this many regions', wholeNumber('--max-regions', 1, REGIONS.length), 5)
    .option('--json', 'print JSON')
    .action((options: { maxRegions: number; json?: boolean }) => {
      const rows = sizeRows(options.maxRegions);
      if (options.json) return console.log(JSON.stringify(rows, null, 2));
      console.log('regions  states  definition bytes  by type');
      for (const r of rows) {
        const types = Object.entries(r.byType).map(([t, n]) => `${t} ${n}`).join(', ');
        console.log(`${String(r.regions).padStart(7)}  ${String(r.states).padStart(6)}  ${String(r.bytes).padStart(16)}  ${types}`);
      }
    })
    .parseAsync();
}
