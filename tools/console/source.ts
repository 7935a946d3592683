/**
 * What a console serves, and through what: the local stack it runs beside (`up`, `demo`, `console`
 * without --stage), or a deployed stage (`console --stage`), read through the stage's own services with a
 * Target (ops/target.ts) as the CLI builds it. The views read a stage's resource names in the shape of a
 * local stack's description, without its endpoints: nothing on a stage reaches the local SQS servers'
 * inspection endpoint.
 */
import { metricNamespace } from '../../core/metrics.js';
import { APP_NAME } from '../../core/topology.js';
import type { StackDescription } from '../local/stack.js';
import { localStackTarget } from '../ops/local-target.js';
import { TargetError, type Target } from '../ops/target.js';
import { endpointSource, logGroupSource, type ExecutionSource } from './execution-source.js';

/** A deployed stage's console: what it reads, and whether it may move messages. */
export interface StageConsole {
  readonly target: Target;
  /** The stage's name, as the page shows it. */
  readonly stage: string;
  /** Redrive moves messages; without it the console only reads. */
  readonly allowRedrive?: boolean;
  /** How far back the state machine's log group is read (default 1). */
  readonly hours?: number;
  /** How many of the newest executions are listed (default 50: each is read from its own log events). */
  readonly maxExecutions?: number;
  /** The app's name, as it was deployed (DISPATCH_APP_NAME); it names the metrics' namespace. */
  readonly app?: string;
}

export interface ConsoleSource {
  readonly kind: 'local' | 'stage';
  readonly target: Target;
  readonly description: StackDescription;
  /** "local stack", or "stage dev in us-east-1". */
  readonly label: string;
  readonly readOnly: boolean;
  /** The local SQS servers show the live queues without touching them; a stage's queues are not looked into. */
  readonly inspectLiveQueues: boolean;
  readonly executions: ExecutionSource;
  readonly maxExecutions: number;
  /** A stage's: where its functions' metrics are (core/metrics.ts). */
  readonly metricNamespace?: string;
  /** Destroys the clients this source made (a Target passed in is its owner's). */
  close(): void;
}

type Destroyable = { destroy(): void };

/** The console of a local stack: its clients made here, destroyed when the console stops. */
export function localSource(description: StackDescription): ConsoleSource {
  const made = new Set<Destroyable>();
  const track =
    <A extends unknown[], C extends Destroyable>(make: (...args: A) => C) =>
    (...args: A): C => {
      const client = make(...args);
      made.add(client);
      return client;
    };
  const base = localStackTarget(description);
  const target: Target = { ...base, sqs: track(base.sqs), dynamo: track(base.dynamo), sfn: track(base.sfn) };
  return {
    kind: 'local',
    target,
    description,
    label: 'local stack',
    readOnly: false,
    inspectLiveQueues: true,
    executions: endpointSource(target.sfn(), description.stateMachineArn),
    maxExecutions: 1000,
    close: () => {
      for (const client of made) client.destroy();
    },
  };
}

const need = (value: string | undefined, what: string): string => {
  if (!value) throw new TargetError(`the stage outputs name no ${what}, which the console reads: deploy the stage again`);
  return value;
};

/** A deployed stage's console: its names from the Target, executions from its log group. */
export function stageSource(stage: StageConsole): ConsoleSource {
  const t = stage.target;
  const description: StackDescription = {
    pid: 0,
    stage: stage.stage,
    homeRegion: t.homeRegion,
    // None: a stage is reached through its AWS APIs only.
    endpoints: { dynamodb: '', stepFunctions: '', sqs: {} },
    stateMachineArn: need(t.stateMachineArn, 'state machine'),
    tableName: need(t.tableName, 'idempotency table'),
    masterQueueUrl: need(t.masterQueueUrl, 'master queue'),
    masterDeadLetterQueueUrl: need(t.masterDeadLetterQueueUrl, 'master DLQ'),
    dispatchDeadLetterQueueUrl: need(t.dispatchDeadLetterQueueUrl, 'dispatch DLQ'),
    ...(t.masterHighQueueUrl ? { masterHighQueueUrl: t.masterHighQueueUrl } : {}),
    ...(t.masterHighDeadLetterQueueUrl ? { masterHighDeadLetterQueueUrl: t.masterHighDeadLetterQueueUrl } : {}),
    regions: t.regions.map((r) => ({
      region: r.region,
      // As the functions read REGION_QUEUES: 1 where it is not given.
      capacity: t.capacities?.[r.region] ?? 1,
      queueUrl: r.queueUrl,
      deadLetterQueueUrl: need(r.deadLetterQueueUrl, `${r.region} DLQ`),
      ...(r.highQueueUrl ? { highQueueUrl: r.highQueueUrl } : {}),
      ...(r.highDeadLetterQueueUrl ? { highDeadLetterQueueUrl: r.highDeadLetterQueueUrl } : {}),
    })),
  };
  return {
    kind: 'stage',
    target: t,
    description,
    label: `stage ${stage.stage} in ${t.homeRegion}`,
    readOnly: !stage.allowRedrive,
    inspectLiveQueues: false,
    executions: t.kind === 'aws' ? logGroupSource(t, stage.hours ?? 1) : endpointSource(t.sfn(), description.stateMachineArn),
    maxExecutions: stage.maxExecutions ?? 50,
    metricNamespace: metricNamespace(stage.stage, stage.app ?? APP_NAME),
    close: () => undefined,
  };
}
