/**
 * One local stack for every explored run: dynalite and one fauxqs server per region, a fault proxy in
 * front of each (what the code under test talks to), the deployment's resources, and the dispatch
 * definition bound to the real handlers with a Task hook the explorer swaps per run. The explorer's own
 * clients talk to the servers directly, so a fault never blinds the checks.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_REGIONS, HOME_REGION } from '../../core/topology.js';
import type { TaskHandler } from '../local/emulators/asl-runner.js';
import { createDispatchRunner, localFunctionArns, type RunnerSetup } from '../local/dispatch.js';
import { startFaultProxy, type FaultProxy, type FaultRecord } from '../local/faults/proxy.js';
import { createResources, LOCAL_CREDENTIALS, sqsAt, type LocalResources } from '../local/resources.js';
import { startDynamo, startSqs } from '../local/emulators/servers.js';

export type TaskWrapper = (stateName: string, handler: TaskHandler) => TaskHandler;

export interface ExploreStack {
  readonly resources: LocalResources;
  readonly setup: RunnerSetup;
  readonly forwardArn: string;
  readonly proxies: { readonly dynamodb: FaultProxy; readonly sqs: Readonly<Record<string, FaultProxy>> };
  /** Faults the proxies completed since the last take, with the region of SQS ones. */
  takeFaultRecords(): Array<FaultRecord & { readonly region?: string }>;
  /** Direct clients (no proxy). */
  readonly dynamo: DynamoDBClient;
  sqs(region: string): SQSClient;
  /** The hook every bound Task runs through; the explorer sets it per run. */
  setWrapper(wrapper: TaskWrapper | undefined): void;
  stop(): Promise<void>;
}

export async function startExploreStack(): Promise<ExploreStack> {
  const dynamoServer = await startDynamo();
  const regionNames = [...new Set([HOME_REGION, ...DEFAULT_REGIONS.map((r) => r.region)])];
  const sqsServers = await Promise.all(regionNames.map((region) => startSqs(region)));
  const records: Array<FaultRecord & { region?: string }> = [];
  const dynamodb = await startFaultProxy({ target: dynamoServer.endpoint, service: 'dynamodb', logBodies: true, onFault: (r) => records.push(r) });
  const sqsProxies = Object.fromEntries(
    await Promise.all(
      sqsServers.map(async (s) => {
        const proxy = await startFaultProxy({ target: s.endpoint, service: 'sqs', name: `sqs ${s.region}`, logBodies: true, onFault: (r) => records.push({ ...r, region: s.region }) });
        return [s.region, proxy] as const;
      }),
    ),
  );
  const endpoints = { dynamodb: dynamoServer.endpoint, sqs: Object.fromEntries(sqsServers.map((s) => [s.region, s.endpoint])) };
  const codeEndpoints = { dynamodb: dynamodb.endpoint, sqs: Object.fromEntries(Object.entries(sqsProxies).map(([region, p]) => [region, p.endpoint])) };
  const resources = await createResources(endpoints, { homeRegion: HOME_REGION, regions: DEFAULT_REGIONS, stage: 'explore' });
  let wrapper: TaskWrapper | undefined;
  // Bound once (building the state machine costs hundreds of ms); the hook decides per call.
  const setup = createDispatchRunner(resources, codeEndpoints, {
    retryIntervalMs: 0,
    settings: { metricsOutput: 'off' },
    wrapTask: (name, handler) => (input) => (wrapper ? wrapper(name, handler)(input) : handler(input)),
  });
  const dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: endpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const clients = new Map<string, SQSClient>();
  return {
    resources,
    setup,
    forwardArn: localFunctionArns(resources).forward,
    proxies: { dynamodb, sqs: sqsProxies },
    takeFaultRecords: () => records.splice(0),
    dynamo,
    sqs(region) {
      if (!clients.has(region)) clients.set(region, sqsAt(region, endpoints.sqs[region] as string));
      return clients.get(region) as SQSClient;
    },
    setWrapper(next) {
      wrapper = next;
    },
    async stop() {
      setup.close();
      dynamo.destroy();
      for (const c of clients.values()) c.destroy();
      await Promise.all([dynamodb.stop(), ...Object.values(sqsProxies).map((p) => p.stop())]);
      await Promise.all([...sqsServers.map((s) => s.stop()), dynamoServer.stop()]);
    },
  };
}
