/**
 * The attack on the local stack, from a real browser (Debian's Chromium, headless): a page on another
 * origin, and pages whose name resolves to 127.0.0.1 on the endpoints' own ports (DNS rebinding), try to
 * scan the table, drain a region, take a regional queue's message, start an execution and read the
 * metrics. From the page's side each fetch fails or is refused; from the stack's side nothing was read
 * or changed. Without Chromium these tests fail and say how to install it.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCapacity } from '../../../../aws/capacity.js';
import { capacityKey } from '../../../../core/record.js';
import { HOME_REGION } from '../../../../core/topology.js';
import { CHROMIUM_PATH, launchChromium } from '../../../../tools/console/chromium.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../../tools/local/stack.js';
import { ATTACK_PAGE, attackUrl, type AttackCall, type AttackOutcome } from './attack-page.js';

const REGION = 'us-west-2';
/** The rebinding attacker's name: Chromium resolves it to 127.0.0.1, as a rebound DNS answer would. */
const EVIL = 'evil.example';

let stack: LocalStack;
let dynamo: DynamoDBClient;
let regional: SQSClient;
let queueUrl: string;
let pages: Server;
let pageOrigin: string;
let browser: Browser | undefined;
let missing: Error | undefined;

/**
 * Chromium with the rebinding attacker's name resolved to this machine (launchChromium says how to
 * install it when missing). Chromium's own block on requests from non-secure public pages to loopback is
 * turned off: other browsers have none, and what is under test is the endpoints' guard.
 */
async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) return launchChromium();
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      `--host-resolver-rules=MAP ${EVIL} 127.0.0.1`,
      '--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,LocalNetworkAccessChecks',
    ],
  });
}

beforeAll(async () => {
  try {
    browser = await launch();
  } catch (error) {
    missing = error as Error;
    return;
  }
  stack = await startLocalStack({ quickStop: true });
  dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: stack.description.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  await writeCapacity({ client: dynamo, tableName: stack.description.tableName }, REGION, 4, 'browser test');
  // No workers: the region's queue keeps its message unless someone else takes it.
  regional = sqsAt(REGION, stack.description.endpoints.sqs[REGION] as string);
  queueUrl = stack.description.regions.find((r) => r.region === REGION)?.queueUrl as string;
  await regional.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'a request for the region' }));
  // The page on another origin: this machine, another port.
  pages = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(ATTACK_PAGE));
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (pages ? pages.close(resolve) : resolve(undefined)));
  dynamo?.destroy();
  regional?.destroy();
  await stack?.stop();
});

function ready(): Browser {
  if (missing) throw missing;
  return browser as Browser;
}

const capacityItem = () => ({ TableName: stack.description.tableName, Key: { request_id: { S: capacityKey(REGION) } } });

/** The attack's calls, each to the endpoint `at` names (the endpoints themselves, or rebound names for them). */
function calls(at: { dynamodb: string; sqs: string; stepFunctions: string; metrics: string }): AttackCall[] {
  return [
    { name: 'Scan', url: at.dynamodb, target: 'DynamoDB_20120810.Scan', body: { TableName: stack.description.tableName } },
    {
      name: 'UpdateItem',
      url: at.dynamodb,
      target: 'DynamoDB_20120810.UpdateItem',
      body: {
        ...capacityItem(),
        UpdateExpression: 'SET #c = :zero, setBy = :by',
        ExpressionAttributeNames: { '#c': 'capacity' },
        ExpressionAttributeValues: { ':zero': { N: '0' }, ':by': { S: 'a web page' } },
      },
    },
    { name: 'ReceiveMessage', url: at.sqs, target: 'AmazonSQS.ReceiveMessage', body: { QueueUrl: queueUrl, MaxNumberOfMessages: 10 } },
    {
      name: 'StartExecution',
      url: at.stepFunctions,
      target: 'AWSStepFunctions.StartExecution',
      body: { stateMachineArn: stack.description.stateMachineArn, input: '{"Records":[]}' },
    },
    { name: 'metrics', url: at.metrics },
  ];
}

async function attack(page: Page, url: string): Promise<AttackOutcome[]> {
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as { attack?: unknown }).attack !== undefined, undefined, { timeout: 20_000 });
  return page.evaluate(() => (globalThis as unknown as { attack: AttackOutcome[] }).attack);
}

/** From the stack's side: the region not drained, its request still queued and not taken, no execution started. */
async function expectNothingChanged() {
  const { Item } = await dynamo.send(new GetItemCommand({ ...capacityItem(), ConsistentRead: true }));
  expect(Item?.capacity, 'capacity of us-west-2').toEqual({ N: '4' });
  expect(Item?.setBy).toEqual({ S: 'browser test' });
  const { Attributes } = await regional.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  expect(Attributes, 'the regional queue').toMatchObject({ ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesNotVisible: '0' });
  expect(stack.stepFunctions.executions(), 'executions').toHaveLength(0);
}

const origin = (endpoint: string) => new URL(endpoint).origin;

describe('a web page against the local stack, in Chromium', () => {
  it('a page on another origin cannot scan the table, drain a region, take a message or start an execution: every fetch fails', async () => {
    const page = await ready().newPage();
    const { endpoints, metricsEndpoint } = stack.description;
    const outcomes = await attack(
      page,
      attackUrl(`${pageOrigin}/`, calls({ dynamodb: endpoints.dynamodb, sqs: endpoints.sqs[REGION] as string, stepFunctions: endpoints.stepFunctions, metrics: metricsEndpoint as string })),
    );
    await page.close();
    await expectNothingChanged();
    // The page read nothing: no call got an answer it could read.
    expect(outcomes.map((o) => o.name)).toEqual(['Scan', 'UpdateItem', 'ReceiveMessage', 'StartExecution', 'metrics']);
    for (const outcome of outcomes) expect(outcome, outcome.name).toMatchObject({ error: expect.stringMatching(/TypeError: Failed to fetch/) });
  });

  it('pages on a rebound name (the endpoints\' own ports) are refused by every endpoint: nothing read, nothing changed', async () => {
    const { endpoints, metricsEndpoint } = stack.description;
    const rebound = (endpoint: string) => endpoint.replace('127.0.0.1', EVIL);
    const targets = {
      dynamodb: rebound(endpoints.dynamodb),
      sqs: rebound(endpoints.sqs[REGION] as string),
      stepFunctions: rebound(endpoints.stepFunctions),
      metrics: rebound(metricsEndpoint as string),
    };
    const all = calls(targets);
    // One page per endpoint, served on that endpoint's own origin (as the attacker's server was, before its name was rebound), so that its calls are same-origin.
    for (const endpoint of new Set(all.map((c) => origin(c.url)))) {
      const page = await ready().newPage();
      await page.route(`${endpoint}/attack`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: ATTACK_PAGE }));
      const outcomes = await attack(page, attackUrl(`${endpoint}/attack`, all.filter((c) => origin(c.url) === endpoint)));
      await page.close();
      for (const outcome of outcomes) {
        // The request reached the endpoint, which refused it (421, its plain reason); the page read nothing else.
        expect(outcome, `${outcome.name} on ${endpoint}`).toMatchObject({ status: 421, body: expect.stringMatching(/answers only to 127\.0\.0\.1/) });
      }
    }
    await expectNothingChanged();
  });
});
