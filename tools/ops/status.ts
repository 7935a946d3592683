/**
 * Where a request went and who worked on it (`status`, cli/commands/status.ts). Three sources, each
 * said for what it is worth:
 * - its idempotency record (the table): dispatched, in progress, dead-lettered by the workflow, ...;
 * - when there is no record, or it says DEAD_LETTERED, the dead-letter queues, read without consuming
 *   anything: a request the intake found invalid has no record at all, only its DLQ copy and the
 *   intake's marker (ops/dlq-search.ts);
 * - on the local stack, the executions it keeps (ops/workflow-view.ts).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { requestRecordSchema, type RequestRecord } from '../../core/record.js';
import type { DlqDeps } from './dlq.js';
import { DLQ_KINDS, DLQ_LABEL, type DlqKind } from './dlq-model.js';
import { findDeadLetters, type DeadLetterCopy, type DlqSearch } from './dlq-search.js';
import type { Target } from './target.js';
import { NOT_ON_AWS, workflowView, type WorkflowView } from './workflow-view.js';

/** What `status` needs of a Target (a Target is one). */
export type StatusDeps = DlqDeps & Pick<Target, 'kind' | 'description' | 'stateMachineArn' | 'sfn'>;

export interface StatusReport {
  readonly requestId: string;
  readonly target: string;
  /** The record as read (null: none; `invalid`: an item this code does not understand). */
  readonly record: RequestRecord | null | { readonly invalid: string; readonly item: unknown };
  /** Where the request is, in a few words. */
  readonly verdict: string;
  /** DLQs searched (absent when not searched: the record says where the request is). */
  readonly dlqs?: DlqSearch[];
  readonly deadLetters: DeadLetterCopy[];
  readonly workflow?: WorkflowView;
}

/** What the report is reading when it reports progress: one DLQ, or the executions the local stack keeps. */
export type StatusStep = { readonly dlq: DlqKind } | 'executions';

export interface StatusOptions {
  /** Search the DLQs when the record does not say where the request is (default true). */
  readonly dlq?: boolean;
  /** Read the executions the local stack keeps (default true). */
  readonly executions?: boolean;
  /** During each long read: how far it has come (messages or executions read, of about `estimate`). */
  onProgress?(step: StatusStep, read: number, estimate: number): void;
}

function verdictOf(record: StatusReport['record'], deadLetters: readonly DeadLetterCopy[], workflow?: WorkflowView): string {
  const byIntake = deadLetters.filter((d) => d.by === 'intake');
  if (record && 'invalid' in record) return 'a record this tool cannot read';
  if (record) {
    if (record.status === 'DEAD_LETTERED') return `dead-lettered by the workflow${deadLetters.length ? ' (its copy is in the dispatch DLQ)' : ''}`;
    return record.status ?? 'a record without a status';
  }
  if (byIntake.length) return 'dead-lettered by the intake as an invalid request: no record (the intake keeps none for invalid requests)';
  if (deadLetters.length) return `no record; a copy is in the ${DLQ_LABEL[deadLetters[0]?.queue ?? 'dispatch']}`;
  if (workflow?.masterMessages.length) return 'no record, though the workflow saw it (claim released, or the record expired)';
  return 'not found: no record (never seen, or expired after 7 days), not in a DLQ';
}

export async function statusReport(target: StatusDeps, requestId: string, options: StatusOptions = {}): Promise<StatusReport> {
  const { onProgress } = options;
  const { Item } = await target
    .dynamo()
    .send(new GetItemCommand({ TableName: target.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
  let record: StatusReport['record'] = null;
  if (Item) {
    const parsed = requestRecordSchema.safeParse(Item);
    record = parsed.success ? parsed.data : { invalid: parsed.error.issues[0]?.message ?? 'unreadable', item: Item };
  }
  const deadLetters: DeadLetterCopy[] = [];
  let dlqs: DlqSearch[] | undefined;
  const searchDlqs = (options.dlq ?? true) && (!record || 'invalid' in record || record.status === 'DEAD_LETTERED');
  if (searchDlqs) {
    const found = await findDeadLetters(target, DLQ_KINDS, requestId, {
      ...(onProgress ? { onProgress: (dlq: DlqKind, read: number, estimate: number) => onProgress({ dlq }, read, estimate) } : {}),
    });
    dlqs = found.dlqs;
    deadLetters.push(...found.deadLetters);
  }
  let workflow: WorkflowView | undefined;
  if (options.executions ?? true) {
    workflow =
      target.kind === 'local'
        ? await workflowView(target.sfn(), target.stateMachineArn as string, requestId, onProgress && ((read, total) => onProgress('executions', read, total)))
        : NOT_ON_AWS;
  }
  return {
    requestId,
    target: target.description,
    record,
    verdict: verdictOf(record, deadLetters, workflow),
    ...(dlqs ? { dlqs } : {}),
    deadLetters,
    ...(workflow ? { workflow } : {}),
  };
}

/** Whether the request was found anywhere. */
export const found = (report: StatusReport) => Boolean(report.record) || report.deadLetters.length > 0 || Boolean(report.workflow?.masterMessages.length);
