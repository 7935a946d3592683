/** Region health (core/health.ts) outlives a test: tests that break regions clear it after themselves. */
import { DeleteItemCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { regionHealthKey } from '../../core/record.js';
import { clearSnapshotCache } from '../../functions/snapshot.js';

interface HealthAware {
  readonly dynamo: DynamoDBClient;
  readonly resources: { readonly tableName: string; readonly regions: ReadonlyArray<{ readonly region: string }> };
}

export async function clearRegionHealth(aws: HealthAware): Promise<void> {
  await Promise.all(
    aws.resources.regions.map(({ region }) =>
      aws.dynamo.send(new DeleteItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: regionHealthKey(region) } } })),
    ),
  );
  clearSnapshotCache();
}

/** The stored health item of a region, if any. */
export async function healthItem(aws: HealthAware, region: string) {
  const { Item } = await aws.dynamo.send(
    new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: regionHealthKey(region) } }, ConsistentRead: true }),
  );
  return Item;
}
