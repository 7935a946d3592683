/** `status REQUEST_ID`: where a request went, from the idempotency table. */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { awsOptions } from '../options.js';
import { resolveTarget } from '../target.js';

export function statusCommand(): Command {
  const command = new Command('status')
    .description('show where a request went (region, time, execution) from the idempotency table')
    .argument('<request-id>', 'the request_id of the request');
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (requestId: string, options: { stage?: string; profile?: string; region?: string }) => {
    const target = resolveTarget(options);
    const { Item } = await target
      .dynamo()
      .send(new GetItemCommand({ TableName: target.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
    if (!Item) {
      console.log(`${requestId}: no record (never seen, released after a failed forward, or expired after 7 days)`);
      process.exitCode = 1;
      return;
    }
    const expires = Item.expiresAt?.N ? new Date(Number(Item.expiresAt.N) * 1000).toISOString() : '?';
    const rows: Array<[string, string | undefined]> = [
      ['request_id', requestId],
      ['status', Item.status?.S],
      ['region', Item.region?.S ?? '(not yet)'],
      ['dispatched at', Item.dispatchedAt?.S],
      ['execution', Item.owner?.S],
      ['batch', Item.batchId?.S],
      ['master message', Item.messageId?.S],
      ['lease until', Item.leaseUntil?.N ? new Date(Number(Item.leaseUntil.N) * 1000).toISOString() : undefined],
      ['record expires', expires],
    ];
    for (const [name, value] of rows) if (value !== undefined) console.log(`${name.padEnd(15)} ${value}`);
  });
}
