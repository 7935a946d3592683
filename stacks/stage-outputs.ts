/**
 * What a deployed stage tells its tools: the outputs `sst deploy` prints and writes to
 * .sst/outputs.json, and the `Dispatch` link that `sst shell` puts in SST_RESOURCE_Dispatch.
 * Pure (no SST globals): the CLI may import it to read a stage's outputs.
 */
import { z } from 'zod';

const byRegion = z.record(z.string(), z.string());

export const stageOutputsSchema = z.object({
  app: z.string(),
  stage: z.string(),
  homeRegion: z.string(),
  masterQueueUrl: z.string(),
  masterDeadLetterQueueUrl: z.string(),
  dispatchDeadLetterQueueUrl: z.string(),
  /** Exactly the REGION_QUEUES value the functions get: {"us-west-2": {"url": "...", "capacity": 1}}. */
  regionQueues: z.string(),
  regionalQueueUrls: byRegion,
  regionalDeadLetterQueueUrls: byRegion,
  /** The high-priority lanes (core/lanes.ts): where producers send high requests, and each region's. */
  masterHighQueueUrl: z.string().optional(),
  masterHighDeadLetterQueueUrl: z.string().optional(),
  regionalHighQueueUrls: byRegion.optional(),
  stateMachineArn: z.string(),
  /** Express executions are inspected here (no history API on AWS). */
  stateMachineLogGroup: z.string(),
  tableName: z.string(),
  functionNames: z.object({ intake: z.string(), snapshot: z.string(), select: z.string(), forward: z.string() }),
  alarmTopicArns: byRegion,
  consoleLinks: z.object({
    stateMachine: z.string(),
    executionLogs: z.string(),
    dashboard: z.string(),
    masterQueue: z.string(),
    table: z.string(),
  }),
});

export type StageOutputs = z.infer<typeof stageOutputsSchema>;

/** Parses .sst/outputs.json (or SST_RESOURCE_Dispatch); SST adds keys of its own, which are ignored. */
export function parseStageOutputs(json: unknown): StageOutputs {
  return stageOutputsSchema.parse(json);
}
