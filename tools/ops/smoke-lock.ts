/**
 * One smoke run at a time per stage. A run holds every message of others it receives from the regional
 * queues until it stops (ops/smoke-collector.ts), so two runs at once would each hold the other's copies
 * and both wait out their timeout. The lock is an item of the stage's own table (a '#' key, never a
 * request_id), taken with a conditional write and held until a time past the run's own bound, so that a
 * run that dies leaves it to lapse; a run releases it when it ends.
 */
import { ConditionalCheckFailedException, DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const SMOKE_LOCK_KEY = '#smoke';

/** Another run holds the stage: what it said of itself. */
export class SmokeBusyError extends Error {
  override readonly name = 'SmokeBusyError';
  constructor(
    readonly holder: string,
    readonly heldUntil: Date,
  ) {
    super(`another smoke run (${holder}) is checking this stage until ${heldUntil.toISOString()} at the latest; run smoke again once it has ended`);
  }
}

export interface SmokeLock {
  release(): Promise<void>;
}

/**
 * Takes the stage's smoke lock for `holdSeconds`, or throws SmokeBusyError naming the run that holds it.
 * A lapsed lock (its time passed: that run died) is taken over.
 */
export async function takeSmokeLock(dynamo: DynamoDBClient, tableName: string, runId: string, holdSeconds: number, now = Date.now()): Promise<SmokeLock> {
  const heldUntil = Math.ceil(now / 1000 + holdSeconds);
  try {
    await dynamo.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          request_id: { S: SMOKE_LOCK_KEY },
          runId: { S: runId },
          heldUntil: { N: String(heldUntil) },
          // The table's TTL removes a lock nobody released, a day after it lapsed.
          expiresAt: { N: String(heldUntil + 86_400) },
        },
        ConditionExpression: 'attribute_not_exists(request_id) OR heldUntil <= :now',
        ExpressionAttributeValues: { ':now': { N: String(Math.floor(now / 1000)) } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // The holder as the refusal returned it, or as read now (a service that does not return it).
    const item =
      error.Item ??
      (await dynamo
        .send(new GetItemCommand({ TableName: tableName, Key: { request_id: { S: SMOKE_LOCK_KEY } }, ConsistentRead: true }))
        .then((answer) => answer.Item)
        .catch(() => undefined));
    throw new SmokeBusyError(item?.runId?.S ?? 'unknown run', new Date(Number(item?.heldUntil?.N ?? heldUntil) * 1000));
  }
  return {
    async release() {
      try {
        await dynamo.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: { request_id: { S: SMOKE_LOCK_KEY } },
            ConditionExpression: 'runId = :mine',
            ExpressionAttributeValues: { ':mine': { S: runId } },
          }),
        );
      } catch (error) {
        // Taken over after it lapsed: the lock is no longer ours to release.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
