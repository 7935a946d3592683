/**
 * Creates, on the local servers, the resources the deployment creates on AWS (stacks/): the same names,
 * redrive policies and timeouts, so that local runs behave as deployed ones.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { MAX_RECEIVE_COUNT, resourceNames, TIMEOUTS, type RegionSpec } from '../../core/topology.js';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface LocalResources {
  readonly stage: string;
  readonly homeRegion: string;
  readonly tableName: string;
  readonly masterQueueUrl: string;
  readonly masterQueueArn: string;
  readonly masterDeadLetterQueueUrl: string;
  readonly dispatchDeadLetterQueueUrl: string;
  /** The master queue's high lane (core/lanes.ts); absent when the stack runs without lanes. */
  readonly masterHigh?: { readonly url: string; readonly arn: string; readonly deadLetterQueueUrl: string };
  readonly regions: ReadonlyArray<RegionSpec & { queueUrl: string; deadLetterQueueUrl: string; highQueueUrl?: string; highDeadLetterQueueUrl?: string }>;
}

export interface ResourceEndpoints {
  readonly dynamodb: string;
  /** SQS endpoint per region; the home region's hosts the master queue and the DLQs. */
  readonly sqs: Readonly<Record<string, string>>;
}

export interface ResourceOptions {
  readonly stage?: string;
  readonly homeRegion: string;
  readonly regions: readonly RegionSpec[];
  /** Master queue visibility timeout; the deployment's 600 s is too slow for a demo's retries. */
  readonly masterVisibilitySeconds?: number;
  /**
   * Regional queues' visibility timeout (the deployment's: TIMEOUTS.regionalVisibilitySeconds). A chaos
   * run shortens it so that the copy a crashed worker held comes back within the run.
   */
  readonly regionalVisibilitySeconds?: number;
  /** High-priority lanes beside the master queue and each regional queue, as deployed (default true). */
  readonly lanes?: boolean;
}

export const sqsAt = (region: string, endpoint: string) =>
  new SQSClient({ region, endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });

async function queueWithDlq(client: SQSClient, name: string, dlqName: string, attributes: Record<string, string>) {
  const dlq = await client.send(new CreateQueueCommand({ QueueName: dlqName, Attributes: { MessageRetentionPeriod: '1209600' } }));
  const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] })))
    .Attributes?.QueueArn;
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { ...attributes, RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }) },
    }),
  );
  const arn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] })))
    .Attributes?.QueueArn;
  return { url: queue.QueueUrl as string, arn: arn as string, dlqUrl: dlq.QueueUrl as string };
}

export async function createResources(endpoints: ResourceEndpoints, options: ResourceOptions): Promise<LocalResources> {
  const stage = options.stage ?? 'local';
  const names = resourceNames(stage);
  const homeEndpoint = endpoints.sqs[options.homeRegion];
  if (!homeEndpoint) throw new Error(`no SQS server for the home region ${options.homeRegion}`);
  const home = sqsAt(options.homeRegion, homeEndpoint);

  const dynamo = new DynamoDBClient({ region: options.homeRegion, endpoint: endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  await dynamo.send(
    new CreateTableCommand({
      TableName: names.idempotencyTable,
      KeySchema: [{ AttributeName: 'request_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'request_id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite's tables are ACTIVE at once with createTableMs 0; wait all the same, as on AWS.
  for (let i = 0; i < 50; i++) {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: names.idempotencyTable }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  dynamo.destroy();

  const lanes = options.lanes ?? true;
  const masterAttributes = { VisibilityTimeout: String(options.masterVisibilitySeconds ?? TIMEOUTS.masterVisibilitySeconds) };
  const master = await queueWithDlq(home, names.masterQueue, names.masterDeadLetterQueue, masterAttributes);
  const masterHigh = lanes ? await queueWithDlq(home, names.masterHighQueue, names.masterHighDeadLetterQueue, masterAttributes) : undefined;
  const dispatchDlq = await home.send(
    new CreateQueueCommand({ QueueName: names.dispatchDeadLetterQueue, Attributes: { MessageRetentionPeriod: '1209600' } }),
  );
  home.destroy();

  const regions = await Promise.all(
    options.regions.map(async (spec) => {
      const endpoint = endpoints.sqs[spec.region];
      if (!endpoint) throw new Error(`no SQS server for region ${spec.region}`);
      const client = sqsAt(spec.region, endpoint);
      const attributes = {
        VisibilityTimeout: String(options.regionalVisibilitySeconds ?? TIMEOUTS.regionalVisibilitySeconds),
        MessageRetentionPeriod: String(TIMEOUTS.regionalRetentionSeconds),
      };
      const queue = await queueWithDlq(client, names.regionalQueue(spec.region), names.regionalDeadLetterQueue(spec.region), attributes);
      const high = lanes
        ? await queueWithDlq(client, names.regionalHighQueue(spec.region), names.regionalHighDeadLetterQueue(spec.region), attributes)
        : undefined;
      client.destroy();
      return {
        ...spec,
        queueUrl: queue.url,
        deadLetterQueueUrl: queue.dlqUrl,
        ...(high ? { highQueueUrl: high.url, highDeadLetterQueueUrl: high.dlqUrl } : {}),
      };
    }),
  );

  return {
    stage,
    homeRegion: options.homeRegion,
    tableName: names.idempotencyTable,
    masterQueueUrl: master.url,
    masterQueueArn: master.arn,
    masterDeadLetterQueueUrl: master.dlqUrl,
    dispatchDeadLetterQueueUrl: dispatchDlq.QueueUrl as string,
    ...(masterHigh ? { masterHigh: { url: masterHigh.url, arn: masterHigh.arn, deadLetterQueueUrl: masterHigh.dlqUrl } } : {}),
    regions,
  };
}
