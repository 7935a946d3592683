/**
 * The record lifetime against the queues (docs/architecture.md, invariant 11): an idempotency record must outlive
 * every copy that can refer to it, that is the longest retention of any queue that can hold a copy plus
 * the redrive window. Checked when the stack is built, like the time budget (workflows/budget.ts): a
 * configuration that breaks it is refused, naming the settings.
 */
import { RECORD_LIFETIME_SETTINGS, recordLifetimeFloor, SQS_MAX_RETENTION_SECONDS } from '../core/topology.js';

/** One queue that can hold a copy of a request, and how long it keeps one. */
export interface QueueRetention {
  readonly queue: string;
  readonly seconds: number;
}

export interface LifetimeInput {
  /** Absent: derived (the longest retention plus the window). */
  readonly recordLifetimeSeconds?: number;
  readonly redriveWindowSeconds: number;
  readonly retentions: readonly QueueRetention[];
  /** How the settings are called where they were set (default: the functions' variables). */
  readonly names?: { readonly recordLifetime: string; readonly redriveWindow: string };
}

export class RecordLifetimeError extends Error {
  override name = 'RecordLifetimeError';
}

const days = (seconds: number) => `${+(seconds / 86_400).toFixed(2)} days`;
const span = (seconds: number) => `${seconds} s (${days(seconds)})`;

function longest(retentions: readonly QueueRetention[]): QueueRetention {
  if (retentions.length === 0) throw new RecordLifetimeError('record lifetime: no queue retention given');
  return retentions.reduce((a, b) => (b.seconds > a.seconds ? b : a));
}

/** The lifetime the input asks for: the configured one, else the shortest that holds. */
function lifetimeOf(input: LifetimeInput): number {
  return input.recordLifetimeSeconds ?? recordLifetimeFloor(input.retentions.map((r) => r.seconds), input.redriveWindowSeconds);
}

/** Sentences naming each broken rule; empty when the lifetime holds. */
export function recordLifetimeViolations(input: LifetimeInput): string[] {
  const names = input.names ?? RECORD_LIFETIME_SETTINGS;
  const violations: string[] = [];
  for (const r of input.retentions) {
    // Not a lifetime rule, but the floor below assumes no queue keeps more than SQS allows.
    if (r.seconds > SQS_MAX_RETENTION_SECONDS) violations.push(`queue ${r.queue} keeps messages ${span(r.seconds)}, more than SQS allows (${span(SQS_MAX_RETENTION_SECONDS)})`);
  }
  if (!Number.isInteger(input.redriveWindowSeconds) || input.redriveWindowSeconds < 0) {
    violations.push(`${names.redriveWindow} = ${input.redriveWindowSeconds} must be a whole number of seconds >= 0`);
  }
  const top = longest(input.retentions);
  const floor = recordLifetimeFloor([top.seconds], input.redriveWindowSeconds);
  const lifetime = lifetimeOf(input);
  if (lifetime < floor) {
    violations.push(
      `record lifetime ${names.recordLifetime} = ${span(lifetime)} is shorter than the longest queue retention ` +
        `(${top.queue}: ${span(top.seconds)}) + ${names.redriveWindow} (${span(input.redriveWindowSeconds)}) = ${span(floor)}: ` +
        `a record must outlive every copy that can refer to it, or a redriven copy of a completed request is dispatched again`,
    );
  }
  return violations;
}

/** Throws RecordLifetimeError when the lifetime does not hold: the deployment refuses such a stage. */
export function assertRecordLifetime(input: LifetimeInput): void {
  const violations = recordLifetimeViolations(input);
  if (violations.length) throw new RecordLifetimeError(`record lifetime refused:\n  ${violations.join('\n  ')}`);
}

/** The lifetime to deploy: the configured one once checked, else derived from the retentions and the window. */
export function resolveRecordLifetime(input: LifetimeInput): number {
  assertRecordLifetime(input);
  return lifetimeOf(input);
}
