/** Queue-depth readings of the regional queues, as the snapshot function returns them. No AWS import. */
import { z } from 'zod';

export const readingSchema = z.union([
  z.object({
    region: z.string(),
    known: z.literal(true),
    /** ApproximateNumberOfMessages: waiting for a worker. */
    visible: z.number().int().nonnegative(),
    /** ApproximateNumberOfMessagesNotVisible: being processed. */
    inFlight: z.number().int().nonnegative(),
    /** ApproximateNumberOfMessagesDelayed. */
    delayed: z.number().int().nonnegative(),
    readAt: z.number(),
  }),
  z.object({ region: z.string(), known: z.literal(false), error: z.string() }),
]);
export type Reading = z.infer<typeof readingSchema>;

export const snapshotSchema = z.object({ readings: z.array(readingSchema) });
export type Snapshot = z.infer<typeof snapshotSchema>;

/** Messages a region already holds that a new one would wait behind. */
export const backlog = (reading: Extract<Reading, { known: true }>) => reading.visible + reading.inFlight + reading.delayed;
