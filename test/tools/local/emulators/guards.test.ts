/**
 * Every endpoint the local stack opens (DynamoDB, each region's SQS, Step Functions, metrics, and the
 * fault proxies in front of them) at the wire: what a web page could send it (a rebinding Host, an
 * Origin, a preflight) is refused and changes nothing, while the clients' own requests are served.
 */
import { GetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCapacity } from '../../../../aws/capacity.js';
import { capacityKey } from '../../../../core/record.js';
import { HOME_REGION } from '../../../../core/topology.js';
import type { IncomingMessage } from 'node:http';
import { refusal } from '../../../../tools/local/emulators/local-only.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../../tools/local/resources.js';
import { startLocalStack, type LocalStack, type StackFaults } from '../../../../tools/local/stack.js';
import { awsJson, preflight, raw, withHeaders, type RawAnswer, type RawRequest } from './wire.js';

const EVIL = 'http://evil.example';
const REGION = 'us-west-2';

let stack: LocalStack & { readonly faults: StackFaults };
let dynamo: DynamoDBClient;
const sqsClients = new Map<string, SQSClient>();

beforeAll(async () => {
  stack = await startLocalStack({ faults: true, quickStop: true });
  dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: stack.description.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  await writeCapacity({ client: dynamo, tableName: stack.description.tableName }, REGION, 4, 'guards test');
});

afterAll(async () => {
  dynamo?.destroy();
  for (const client of sqsClients.values()) client.destroy();
  await stack?.stop();
});

const sqs = (region: string) => {
  let client = sqsClients.get(region);
  if (!client) sqsClients.set(region, (client = sqsAt(region, stack.description.endpoints.sqs[region] as string)));
  return client;
};

/** One endpoint: a request its clients send, one a page must not get through, and a check that nothing changed. */
interface Case {
  readonly name: string;
  readonly endpoint: () => string;
  readonly served: () => RawRequest;
  readonly harmful: () => Promise<RawRequest>;
  readonly unchanged: () => Promise<void>;
}

const capacityItem = () => ({ TableName: stack.description.tableName, Key: { request_id: { S: capacityKey(REGION) } } });

const dynamoCase = (name: string, endpoint: () => string): Case => ({
  name,
  endpoint,
  served: () => awsJson('DynamoDB_20120810.GetItem', capacityItem(), 'dynamodb'),
  // What the attack did: the region drained.
  harmful: async () =>
    awsJson(
      'DynamoDB_20120810.UpdateItem',
      {
        ...capacityItem(),
        UpdateExpression: 'SET #c = :zero, setBy = :by',
        ExpressionAttributeNames: { '#c': 'capacity' },
        ExpressionAttributeValues: { ':zero': { N: '0' }, ':by': { S: 'a web page' } },
      },
      'dynamodb',
    ),
  unchanged: async () => {
    const { Item } = await dynamo.send(new GetItemCommand({ ...capacityItem(), ConsistentRead: true }));
    expect(Item?.capacity).toEqual({ N: '4' });
    expect(Item?.setBy).toEqual({ S: 'guards test' });
  },
});

let queues = 0;
/**
 * A queue of its own per attempt, holding one message; the attempts take turns deleting the queue and
 * receiving the message (what a page would do to steal or drop requests): either would show.
 */
const sqsCase = (name: string, region: string, endpoint: () => string): Case => {
  let queueUrl = '';
  return {
    name,
    endpoint,
    served: () => awsJson('AmazonSQS.ListQueues', {}, 'sqs'),
    harmful: async () => {
      queueUrl = (await sqs(region).send(new CreateQueueCommand({ QueueName: `guarded-${++queues}` }))).QueueUrl as string;
      await sqs(region).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'still here' }));
      return queues % 2
        ? awsJson('AmazonSQS.DeleteQueue', { QueueUrl: queueUrl }, 'sqs')
        : awsJson('AmazonSQS.ReceiveMessage', { QueueUrl: queueUrl, VisibilityTimeout: 60 }, 'sqs');
    },
    unchanged: async () => {
      const name = queueUrl.split('/').at(-1);
      const exists = await sqs(region)
        .send(new GetQueueUrlCommand({ QueueName: name }))
        .then((answer) => answer.QueueUrl === queueUrl)
        .catch(() => false);
      expect(exists, `${name} still exists`).toBe(true);
      const { Attributes } = await sqs(region).send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesNotVisible: '0' });
    },
  };
};

const sfnCase = (name: string, endpoint: () => string): Case => {
  let before = 0;
  return {
    name,
    endpoint,
    served: () => awsJson('AWSStepFunctions.ListStateMachines', {}, 'states'),
    harmful: async () => {
      before = stack.stepFunctions.executions().length;
      return awsJson('AWSStepFunctions.StartExecution', { stateMachineArn: stack.description.stateMachineArn, input: '{"Records":[]}' }, 'states');
    },
    unchanged: async () => {
      expect(stack.stepFunctions.executions()).toHaveLength(before);
    },
  };
};

const metricsCase: Case = {
  name: 'metrics',
  endpoint: () => stack.description.metricsEndpoint as string,
  served: () => ({ method: 'GET' }),
  // A read, but one a page must not make: the functions' metrics name the stage's traffic.
  harmful: async () => ({ method: 'GET' }),
  unchanged: async () => undefined,
};

const cases: Case[] = [
  dynamoCase('DynamoDB (dynalite)', () => stack.description.endpoints.dynamodb),
  dynamoCase('the fault proxy in front of DynamoDB', () => stack.faults.dynamodb.endpoint),
  sqsCase(`SQS ${HOME_REGION}`, HOME_REGION, () => stack.description.endpoints.sqs[HOME_REGION] as string),
  sqsCase(`SQS ${REGION}`, REGION, () => stack.description.endpoints.sqs[REGION] as string),
  sqsCase(`the fault proxy in front of SQS ${REGION}`, REGION, () => stack.faults.sqs[REGION]?.endpoint as string),
  sfnCase('Step Functions', () => stack.description.endpoints.stepFunctions),
  sfnCase('the fault proxy in front of Step Functions', () => stack.faults.stepFunctions.endpoint),
  metricsCase,
];

const port = (endpoint: string) => new URL(endpoint).port;

function expectRefused(answer: RawAnswer, status: number) {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^text\/plain/);
  expect(answer.headers['access-control-allow-origin']).toBeUndefined();
}

describe.each(cases)('$name', (c) => {
  it('serves its clients (Host 127.0.0.1, localhost or [::1], no Origin)', async () => {
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      const answer = await raw(c.endpoint(), withHeaders(c.served(), { host: `${host}:${port(c.endpoint())}` }));
      expect(answer.status, `${host}: ${answer.body}`).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('refuses a request whose Host is another name (DNS rebinding) with 421, and nothing changes', async () => {
    const answer = await raw(c.endpoint(), withHeaders(await c.harmful(), { host: `evil.example:${port(c.endpoint())}` }));
    await c.unchanged();
    expectRefused(answer, 421);
    expect(answer.body).toMatch(/answers only to 127\.0\.0\.1, localhost and \[::1\]/);
  });

  it('refuses a request from a page on another origin (Origin) with 403, and nothing changes', async () => {
    for (const origin of [EVIL, 'http://127.0.0.1:1', 'null']) {
      const answer = await raw(c.endpoint(), withHeaders(await c.harmful(), { origin }));
      await c.unchanged();
      expectRefused(answer, 403);
      expect(answer.body).toMatch(/refuses requests from web pages/);
    }
  });

  it('refuses a request a browser marks as made by another site (Sec-Fetch-Site, no Origin), and nothing changes', async () => {
    const answer = await raw(c.endpoint(), withHeaders(await c.harmful(), { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }));
    await c.unchanged();
    expectRefused(answer, 403);
  });

  it('answers a CORS preflight 403, with no Access-Control-Allow-Origin', async () => {
    expectRefused(await raw(c.endpoint(), preflight(EVIL)), 403);
  });
});

describe('the Host names a local endpoint answers to', () => {
  const hostOf = (host: string | undefined) => refusal({ headers: host === undefined ? {} : { host } } as IncomingMessage)?.status;

  it('this machine\'s names, with or without a port, in any case', () => {
    for (const host of ['127.0.0.1:4566', 'localhost:4566', '[::1]:4566', 'LOCALHOST:4566', 'localhost']) expect(hostOf(host), host).toBeUndefined();
  });

  it('no other name, however it is dressed up to look local', () => {
    const others = ['evil.example:4566', '127.0.0.1.evil.example:4566', 'localhost.evil.example', 'evil.example@127.0.0.1:4566', '127.1:4566', '0x7f000001:4566', '[::ffff:7f00:1]:4566', '127.0.0.1:4566/x', ''];
    for (const host of [...others, undefined]) expect(hostOf(host), String(host)).toBe(421);
  });
});
