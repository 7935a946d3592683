/**
 * Smoke copies (core/smoke.ts): a copy marked `dispatch_smoke` belongs to the smoke command that sent it,
 * which reads it from the queue and deletes it to check the deploy. A worker neither accepts it (no fence
 * write) nor processes it: it makes the copy visible again at once (its `extendVisibility` with 0) and
 * leaves it. `fenced` and `fenceMiddleware` do this before anything else; a loop of one's own asks
 * `smokeRunOfCopy(message)` first.
 *
 * Each receive still counts towards the queue's maxReceiveCount: a copy that workers receive and hand
 * back often enough moves to the regional DLQ, where the smoke command finds it and says so.
 */
import { SMOKE_ATTRIBUTE, smokeRunOf } from '../core/smoke.js';
import { FenceError } from './errors.js';
import type { FenceableMessage } from './identity.js';
import type { ExtendVisibility } from './visibility.js';

/** The smoke run a copy is marked with, or undefined for an ordinary copy. */
export function smokeRunOfCopy(message: FenceableMessage): string | undefined {
  const lambda = 'messageId' in message || 'messageAttributes' in message;
  const value = lambda ? message.messageAttributes?.[SMOKE_ATTRIBUTE]?.stringValue : message.MessageAttributes?.[SMOKE_ATTRIBUTE]?.StringValue;
  return smokeRunOf(value ?? undefined);
}

/**
 * A smoke copy, left to the smoke command: not accepted, not processed, not to be deleted. `handedBack`
 * says whether it was made visible again at once (else it comes back after its visibility timeout).
 */
export class SmokeCopyError extends FenceError {
  override name = 'SmokeCopyError';
  constructor(
    readonly runId: string,
    readonly handedBack: boolean,
    readonly handBackError?: unknown,
  ) {
    super(
      `smoke copy of run ${runId}: left to the smoke command, not processed${handedBack ? ' (visible again at once)' : ' (comes back after its visibility timeout)'}`,
    );
  }
}

/** Makes a smoke copy visible again at once; says whether that worked (never throws). */
export async function handBackSmokeCopy<M extends FenceableMessage>(message: M, extendVisibility: ExtendVisibility<M> | undefined): Promise<{ handedBack: boolean; error?: unknown }> {
  if (!extendVisibility) return { handedBack: false };
  try {
    await extendVisibility(message, 0);
    return { handedBack: true };
  } catch (error) {
    return { handedBack: false, error };
  }
}
