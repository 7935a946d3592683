/** `status REQUEST_ID`: where a request went and who worked on it, from its idempotency record. */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { requestRecordSchema, type RequestRecord } from '../../core/record.js';
import { awsOptions } from '../options.js';
import { resolveTarget } from '../target.js';

const when = (epochSeconds: number | undefined) => (epochSeconds === undefined ? undefined : new Date(epochSeconds * 1000).toISOString());

/** The record as rows of (label, value); absent values are left out. */
export function statusRows(record: RequestRecord): Array<[string, string | undefined]> {
  const released = record.status === 'IN_PROGRESS' && record.leaseUntil === 0;
  return [
    ['request_id', record.request_id],
    ['status', released ? 'IN_PROGRESS (released: the next delivery takes it over)' : record.status],
    ['region', record.region ?? (record.status === 'DISPATCHED' ? undefined : '(not yet)')],
    ['dispatched at', record.dispatchedAt],
    ['dispatch token', record.token],
    ['tokens sent', record.tokens?.join(', ')],
    ['tried region', record.triedRegion && `${record.triedRegion} (a send there had no answer; the retry prefers it)`],
    ['reason', record.reason],
    ['execution', record.executionName],
    ['execution id', record.owner],
    ['claims taken', record.attempts?.toString()],
    ['batch', record.batchId],
    ['master message', record.messageId],
    ['lease until', released ? undefined : when(record.leaseUntil)],
    ['redriven at', record.redrivenAt],
    ['worker', record.acceptedBy && `${record.acceptedBy} (${record.workStatus ?? 'ACCEPTED'}, copy ${record.acceptedToken})`],
    ['accepted at', when(record.acceptedAt)],
    ['completed at', when(record.completedAt)],
    ['record expires', when(record.expiresAt) ?? '?'],
  ];
}

export function statusCommand(): Command {
  const command = new Command('status')
    .description('show where a request went (region, time, execution) and which worker took it, from the idempotency table')
    .argument('<request-id>', 'the request_id of the request');
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (requestId: string, options: { stage?: string; profile?: string; region?: string }) => {
    const target = resolveTarget(options);
    const { Item } = await target
      .dynamo()
      .send(new GetItemCommand({ TableName: target.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
    if (!Item) {
      console.log(`${requestId}: no record (never seen, or expired after 7 days)`);
      process.exitCode = 1;
      return;
    }
    const parsed = requestRecordSchema.safeParse(Item);
    if (!parsed.success) {
      console.log(`${requestId}: the record is not in the expected form (${parsed.error.issues[0]?.message}): ${JSON.stringify(Item)}`);
      process.exitCode = 1;
      return;
    }
    for (const [name, value] of statusRows(parsed.data)) if (value !== undefined) console.log(`${name.padEnd(15)} ${value}`);
  });
}
