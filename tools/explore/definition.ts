/**
 * The fault space's first axis, read from the definition itself: every Task state at every nesting
 * level, what it calls (a DynamoDB or SQS service integration, or a Lambda function), and how many
 * attempts its Retry allows. Nothing here names a state: a change to the definition changes the space.
 */

export type TaskKind = 'dynamodb' | 'sqs' | 'lambda';

export interface TaskInfo {
  readonly name: string;
  readonly kind: TaskKind;
  /** Service integrations: the API action on the wire (`UpdateItem`, `SendMessage`). */
  readonly action?: string;
  /** The Resource: a function ARN for Lambda Tasks. */
  readonly resource: string;
  /** The first try plus the most retries any of its retriers allows. */
  readonly maxAttempts: number;
  readonly timeoutSeconds?: number;
  /** Inside a Map iteration: attempts are counted per item. */
  readonly inMap: boolean;
}

interface Node {
  Type?: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: Array<{ MaxAttempts?: number }>;
  States?: Record<string, Node>;
  Branches?: Node[];
  Iterator?: Node;
  ItemProcessor?: Node;
}

/** Step Functions' default when a retrier leaves MaxAttempts out. */
const DEFAULT_MAX_ATTEMPTS = 3;

const wireAction = (action: string) => action.charAt(0).toUpperCase() + action.slice(1);

export function taskStates(definition: object): TaskInfo[] {
  const found: TaskInfo[] = [];
  const visit = (machine: Node, inMap: boolean) => {
    for (const [name, state] of Object.entries(machine.States ?? {})) {
      if (state.Type === 'Task') {
        const resource = String(state.Resource);
        const integration = /^arn:aws:states:::(\w+):(\w+)$/.exec(resource);
        const retries = Math.max(0, ...(state.Retry ?? []).map((r) => r.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS));
        const kind: TaskKind = integration ? (integration[1] === 'dynamodb' ? 'dynamodb' : integration[1] === 'sqs' ? 'sqs' : 'lambda') : 'lambda';
        if (integration && kind === 'lambda') throw new Error(`task "${name}": integration ${resource} is not explored`);
        found.push({
          name,
          kind,
          ...(integration ? { action: wireAction(integration[2] as string) } : {}),
          resource,
          maxAttempts: 1 + retries,
          ...(state.TimeoutSeconds ? { timeoutSeconds: state.TimeoutSeconds } : {}),
          inMap,
        });
      }
      for (const branch of state.Branches ?? []) visit(branch, inMap);
      const processor = state.ItemProcessor ?? state.Iterator;
      if (processor) visit(processor, true);
    }
  };
  visit(definition as Node, false);
  return found;
}
