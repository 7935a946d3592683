/**
 * How a command finds what it talks to (a Target, ops/target.ts): the running local stack (default), or
 * a deployed stage (its outputs: from `sst shell`'s link, the last deploy's .sst/outputs.json, or the
 * parameter each stage writes), or queue URLs given on the command line, with the standard AWS
 * credential chain (--profile, --region).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { stageOutputsSchema, type StageOutputs } from '../../stacks/stage-outputs.js';
import { APP_NAME, APP_NAME_ENV, HOME_REGION, resourceNames } from '../../core/topology.js';
import { envSchema } from '../../core/config.js';
import { LOCAL_CREDENTIALS } from '../local/resources.js';
import { memo, once } from '../ops/lazy.js';
import { localStackTarget } from '../ops/local-target.js';
import { TargetError, type Target } from '../ops/target.js';
import { readStackFile, STACK_FILE } from './stack-file.js';

export interface TargetOptions {
  readonly stage?: string;
  /** The app's name (DISPATCH_APP_NAME when it was deployed); default the app's own. */
  readonly app?: string;
  readonly profile?: string;
  readonly region?: string;
}

/** What `sst shell` sets for the Dispatch link (stacks/index.ts). */
export const LINK_ENV = 'SST_RESOURCE_Dispatch';

/** The running local stack's Target, from the stack file `up` wrote in this folder. */
export function localTarget(): Target {
  return localStackTarget(readStackFile(STACK_FILE, ' (or use --stage; send --queue-url and consume --queue-<region> take queue URLs)'));
}

/**
 * The configured capacities in a stage's REGION_QUEUES text, read as the functions read it (core/config.ts:
 * a bare URL or an entry without one has capacity 1); nothing when the text is not a valid value.
 */
function withCapacities(regionQueues: string): { capacities?: Record<string, number> } {
  const parsed = envSchema.shape.REGION_QUEUES.safeParse(regionQueues);
  if (!parsed.success) return {};
  return {
    capacities: Object.fromEntries(Object.entries(parsed.data).map(([region, entry]) => [region, typeof entry === 'string' ? 1 : (entry.capacity ?? 1)])),
  };
}

/** Where a stage's outputs were found, for the command's description and errors. */
type OutputsSource = { readonly outputs: StageOutputs; readonly from: string };

/** The stage's outputs, from the first place that holds them: `sst shell`'s link, the last deploy's file, the stage's parameter. */
async function findStageOutputs(options: TargetOptions & { stage: string }, root: string): Promise<OutputsSource> {
  const app = options.app ?? process.env[APP_NAME_ENV] ?? APP_NAME;
  const tried: string[] = [];
  const accept = (json: unknown, from: string): OutputsSource | undefined => {
    const parsed = stageOutputsSchema.safeParse(json);
    if (!parsed.success) {
      tried.push(`${from} does not hold this app's outputs (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
      return undefined;
    }
    if (parsed.data.stage !== options.stage || parsed.data.app !== app) {
      tried.push(`${from} holds app ${parsed.data.app} stage ${parsed.data.stage}`);
      return undefined;
    }
    return { outputs: parsed.data, from };
  };
  const parseJson = (text: string, from: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      tried.push(`${from} is not JSON`);
      return undefined;
    }
  };

  // 1. Under `sst shell --stage X`: the Dispatch link (stacks/index.ts).
  const linked = process.env[LINK_ENV];
  if (linked) {
    const json = parseJson(linked, LINK_ENV);
    const found = json === undefined ? undefined : accept(json, LINK_ENV);
    if (found) return found;
  }
  // 2. The last `sst deploy` in this folder.
  const file = join(root, '.sst', 'outputs.json');
  if (existsSync(file)) {
    const json = parseJson(readFileSync(file, 'utf8'), file);
    const found = json === undefined ? undefined : accept(json, file);
    if (found) return found;
  } else {
    tried.push(`${file} does not exist`);
  }
  // 3. The parameter every deployed stage writes, whichever was deployed last and from wherever.
  const name = resourceNames(options.stage, app).outputsParameter;
  const region = options.region ?? HOME_REGION;
  const from = `SSM parameter ${name} (${region})`;
  try {
    const ssm = new SSMClient({ region, ...(options.profile ? { profile: options.profile } : {}) });
    const answer = await ssm.send(new GetParameterCommand({ Name: name }));
    const json = parseJson(answer.Parameter?.Value ?? '', from);
    const found = json === undefined ? undefined : accept(json, from);
    if (found) return found;
  } catch (error) {
    const reason = (error as Error).name === 'ParameterNotFound' ? 'not found' : `unreadable: ${(error as Error).name}: ${(error as Error).message}`;
    tried.push(`${from} ${reason}`);
  }
  throw new TargetError(
    `no outputs of app ${app} stage ${options.stage} found:\n  - ${tried.join('\n  - ')}\n` +
      `deploy it (\`npx sst deploy --stage ${options.stage}\`), or pass --app/--region/--profile for where it is`,
  );
}

export async function awsTarget(options: TargetOptions & { stage: string }, root = process.cwd()): Promise<Target> {
  const { outputs, from } = await findStageOutputs(options, root);
  const common = { ...(options.profile ? { profile: options.profile } : {}) };
  const home = options.region ?? outputs.homeRegion;
  return {
    kind: 'aws',
    description: `stage ${outputs.stage} of ${outputs.app} on AWS (outputs from ${from})`,
    homeRegion: home,
    masterQueueUrl: outputs.masterQueueUrl,
    masterDeadLetterQueueUrl: outputs.masterDeadLetterQueueUrl,
    dispatchDeadLetterQueueUrl: outputs.dispatchDeadLetterQueueUrl,
    logGroupName: outputs.stateMachineLogGroup,
    tableName: outputs.tableName,
    stateMachineArn: outputs.stateMachineArn,
    regions: Object.entries(outputs.regionalQueueUrls).map(([region, queueUrl]) => {
      const highQueueUrl = outputs.regionalHighQueueUrls?.[region];
      const deadLetterQueueUrl = outputs.regionalDeadLetterQueueUrls[region];
      // The high lane's DLQ is not an output: it sits beside the normal lane's, under its own name.
      const highDeadLetterQueueUrl =
        highQueueUrl && deadLetterQueueUrl
          ? deadLetterQueueUrl.replace(/[^/]+$/, resourceNames(outputs.stage, outputs.app).regionalHighDeadLetterQueue(region))
          : undefined;
      return {
        region,
        queueUrl,
        ...(highQueueUrl ? { highQueueUrl } : {}),
        ...(deadLetterQueueUrl ? { deadLetterQueueUrl } : {}),
        ...(highDeadLetterQueueUrl ? { highDeadLetterQueueUrl } : {}),
      };
    }),
    ...(outputs.masterHighQueueUrl ? { masterHighQueueUrl: outputs.masterHighQueueUrl } : {}),
    ...(outputs.masterHighDeadLetterQueueUrl ? { masterHighDeadLetterQueueUrl: outputs.masterHighDeadLetterQueueUrl } : {}),
    ...withCapacities(outputs.regionQueues),
    sqs: memo((region) => new SQSClient({ region, ...common })),
    dynamo: once(() => new DynamoDBClient({ region: home, ...common })),
    sfn: once(() => new SFNClient({ region: home, ...common })),
    logs: once(() => new CloudWatchLogsClient({ region: home, ...common })),
    alarmTopicArns: outputs.alarmTopicArns,
    cloudwatch: memo((region) => new CloudWatchClient({ region, ...common })),
  };
}

/**
 * An SQS client for a bare queue URL: on AWS with the standard credential chain (the region is read from
 * the URL unless --region says), or on a local server when the URL is a local stack's
 * (http://sqs.<region>.localhost:<port>/..., 127.0.0.1 or localhost).
 */
export function clientForQueueUrl(queueUrl: string, options: TargetOptions): SQSClient {
  const url = new URL(queueUrl);
  const local = /^sqs\.([a-z0-9-]+)\.localhost$/.exec(url.hostname);
  if (local || url.hostname === '127.0.0.1' || url.hostname === 'localhost') {
    return new SQSClient({
      region: options.region ?? local?.[1] ?? HOME_REGION,
      endpoint: `http://127.0.0.1:${url.port || '80'}`,
      credentials: LOCAL_CREDENTIALS,
    });
  }
  const fromUrl = /sqs[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(queueUrl)?.[1];
  const region = options.region ?? fromUrl ?? HOME_REGION;
  return new SQSClient({ region, ...(options.profile ? { profile: options.profile } : {}) });
}

export async function resolveTarget(options: TargetOptions): Promise<Target> {
  return options.stage ? awsTarget({ ...options, stage: options.stage }) : localTarget();
}
