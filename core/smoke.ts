/**
 * Smoke requests: the requests `smoke` sends through a stage to check a deploy (docs/cli.md, smoke). A
 * producer marks one with the message attribute `dispatch_smoke` on the master queue, valued with the
 * smoke run's id; the intake carries the mark in the envelope (core/placement.ts), and the forward puts
 * the same attribute on the regional copy. So:
 * - workers leave a marked copy to the smoke command that sent it: they neither accept nor process it,
 *   and make it visible again at once (worker/smoke.ts, docs/worker-fence.md);
 * - the intake leaves marked requests out of its dispatch counts (core/metrics.ts) and counts them in
 *   its batch log line.
 * The body is the ordinary request (core/request.ts), so the mark changes nothing in how it is dispatched.
 * ("Canary" means something else here: the half-open probe of a region, core/health.ts.) No AWS import.
 */
import { z } from 'zod';

/** The message attribute, on the master message and on its regional copy. */
export const SMOKE_ATTRIBUTE = 'dispatch_smoke';

/** A smoke run's id: what the attribute holds. Kept to request_id's characters, so it reads safely anywhere. */
export const smokeRunIdSchema = z
  .string()
  .min(1, 'a smoke run id must not be empty')
  .max(64, 'a smoke run id must be at most 64 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'a smoke run id may hold only letters, digits and . _ : -');

/**
 * The smoke run id a message's attributes carry, or undefined: absent, empty, or not a run id (a mark
 * that is not one is ignored rather than trusted: such a request is dispatched and counted as any other).
 */
export function smokeRunOf(attributeValue: string | undefined): string | undefined {
  if (attributeValue === undefined) return undefined;
  const parsed = smokeRunIdSchema.safeParse(attributeValue);
  return parsed.success ? parsed.data : undefined;
}
