/** Reading a deployed state machine definition: every Task, at any nesting level, and what it calls. */
import type { Synth } from './model.js';

export type State = Record<string, unknown> & { Type: string };
export interface Definition {
  States: Record<string, State>;
}

/** Every state of the definition, Parallel branches and Map item processors included. */
export function allStates(definition: Definition): [string, State][] {
  const found: [string, State][] = [];
  const visit = (states: Record<string, State>) => {
    for (const [name, state] of Object.entries(states)) {
      found.push([name, state]);
      for (const branch of (state.Branches as Definition[] | undefined) ?? []) visit(branch.States);
      const processor = (state.ItemProcessor ?? state.Iterator) as Definition | undefined;
      if (processor) visit(processor.States);
    }
  };
  visit(definition.States);
  return found;
}

/**
 * The IAM grants ("action on resource") that each Task of the definition needs, resolved against the
 * synthesized resources. Fails on an integration it does not know, so a new kind of Task gets a rule here.
 */
export function grantsNeededBy(definition: Definition, synth: Synth): string[] {
  const needed = new Set<string>();
  for (const [name, state] of allStates(definition)) {
    if (state.Type !== 'Task') continue;
    const resource = state.Resource as string;
    const params = (state.Parameters ?? {}) as Record<string, unknown>;
    let match: RegExpExecArray | null;
    if (resource.startsWith('arn:aws:lambda:')) {
      needed.add(`lambda:InvokeFunction on ${resource}`);
    } else if ((match = /^arn:aws:states:::dynamodb:(putItem|getItem|updateItem|deleteItem)$/.exec(resource))) {
      const table = synth.byState('aws:dynamodb/table:Table', 'name', params.TableName);
      const action = match[1]!.charAt(0).toUpperCase() + match[1]!.slice(1);
      needed.add(`dynamodb:${action} on ${table.state.arn as string}`);
    } else if (resource === 'arn:aws:states:::sqs:sendMessage') {
      const queue = synth.byState('aws:sqs/queue:Queue', 'url', params.QueueUrl);
      needed.add(`sqs:SendMessage on ${queue.state.arn as string}`);
    } else {
      throw new Error(`state "${name}": no rule for the permissions of Resource ${resource}`);
    }
  }
  return [...needed].sort();
}
