/**
 * The fault space's second axis: every way AWS can answer an attempt, by what the attempt calls.
 * - service: a DynamoDB or SQS service integration, broken at the wire (fault proxy) or, for a hang
 *   past TimeoutSeconds, by the Task hook (no real waiting).
 * - lambda: any Lambda Task, broken by the Task hook as the Lambda service fails.
 * - send: the forward function's sends to a region during that attempt, broken at that region's proxy.
 * `applied` is the truth (the side effect happened); the workflow never learns it.
 */

export type Target = 'service' | 'lambda' | 'send';

export interface FaultKind {
  readonly id: string;
  readonly target: Target;
  readonly label: string;
  readonly applied: boolean;
  /** Only for a forward to one region (a refused connection cannot be aimed at one failover's sends). */
  readonly primaryOnly?: boolean;
}

export const FAULT_KINDS = [
  { id: 'refused-4xx', target: 'service', label: 'refused before applying: 400 throttled', applied: false },
  { id: 'dropped', target: 'service', label: 'refused before applying: connection dropped before the service', applied: false },
  { id: 'stored-5xx', target: 'service', label: 'applied, answer lost: 500', applied: true },
  { id: 'stored-reset', target: 'service', label: 'applied, answer lost: connection reset', applied: true },
  { id: 'timeout-applied', target: 'service', label: 'hang past TimeoutSeconds (States.Timeout), applied', applied: true },
  { id: 'timeout-unapplied', target: 'service', label: 'hang past TimeoutSeconds (States.Timeout), not applied', applied: false },
  { id: 'throttled', target: 'lambda', label: 'Lambda.TooManyRequestsException, handler not run', applied: false },
  { id: 'ran-service-error', target: 'lambda', label: 'handler ran, then Lambda.ServiceException', applied: true },
  { id: 'ran-crash', target: 'lambda', label: 'handler ran, then Runtime.ExitError', applied: true },
  { id: 'timeout-ran', target: 'lambda', label: 'hang past TimeoutSeconds (States.Timeout), handler ran', applied: true },
  { id: 'timeout-unrun', target: 'lambda', label: 'hang past TimeoutSeconds (States.Timeout), handler not run', applied: false },
  { id: 'send-refused-4xx', target: 'send', label: "the sends refused: SQS 400 throttled", applied: false },
  { id: 'send-refused-conn', target: 'send', label: "the sends refused: connection refused", applied: false, primaryOnly: true },
  { id: 'send-stored-5xx', target: 'send', label: 'the sends stored, answered 500', applied: true },
  { id: 'send-stored-reset', target: 'send', label: 'the sends stored, connection reset', applied: true },
] as const satisfies readonly FaultKind[];

export type FaultId = (typeof FAULT_KINDS)[number]['id'];

export const FAULT_IDS: readonly FaultId[] = FAULT_KINDS.map((k) => k.id);

export function faultKind(id: string): FaultKind {
  const kind = FAULT_KINDS.find((k) => k.id === id);
  if (!kind) throw new Error(`unknown fault kind ${id} (known: ${FAULT_IDS.join(', ')})`);
  return kind;
}

/** What a reached attempt is, for choosing the kinds that apply to it. */
export interface PointRole {
  readonly kind: 'dynamodb' | 'sqs' | 'lambda';
  /** Lambda Tasks of the forward function: primary (one region) or failover (the others). */
  readonly sends?: 'primary' | 'failover';
}

export function kindsFor(role: PointRole): FaultId[] {
  return FAULT_KINDS.filter((k) => {
    if (k.target === 'service') return role.kind !== 'lambda';
    if (k.target === 'lambda') return role.kind === 'lambda';
    return role.sends !== undefined && (role.sends === 'primary' || !('primaryOnly' in k && k.primaryOnly));
  }).map((k) => k.id);
}

/** Errors the hook throws, named as Step Functions names them so that Retry and Catch match as on AWS. */
export const HOOK_ERRORS = {
  timeout: 'States.Timeout',
  throttled: 'Lambda.TooManyRequestsException',
  serviceError: 'Lambda.ServiceException',
  crash: 'Runtime.ExitError',
} as const;
