/**
 * The time budget by construction (docs/architecture.md, invariant 9): the worst case of the dispatch definition,
 * derived from the definition itself (every Retry's interval, attempts, backoff and cap; every Task's
 * timeout), and the functions' own worst cases from their settings, against the limits that follow.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config.js';
import { analyzeTimeBudget, checkTimeBudget, formatBudget, TimeBudgetError } from '../../workflows/time-budget.js';
import {
  DEFAULT_REGIONS,
  FORWARD_OVERHEAD_MS,
  FORWARD_SEND_WINDOW_MS,
  FUNCTION_TIMEOUTS,
  MAX_SQS_REQUEST_TIMEOUT_MS,
  SNAPSHOT_READ_TIMEOUT_MS,
  SQS_BATCH_SIZE,
  TASK_TIMEOUTS,
  TIMEOUTS,
} from '../../core/topology.js';
import { FUNCTION_SETTINGS } from '../../stacks/settings.js';
import { assertDispatchBudget, dispatchBudgetViolations } from '../../workflows/budget.js';
import { STATE } from '../../workflows/dispatch.js';
import { testDefinition } from '../support/definition-refs.js';

const definitionFor = testDefinition;

/** The deployed environment, read as the functions read it. */
const deployed = parseConfig({ REGION_QUEUES: JSON.stringify({ 'us-east-1': 'https://sqs.us-east-1.amazonaws.com/1/q' }), ...FUNCTION_SETTINGS });

describe('the dispatch time budget', () => {
  const definition = definitionFor(DEFAULT_REGIONS.map((r) => r.region));
  const budget = analyzeTimeBudget(definition, { maxItems: SQS_BATCH_SIZE });

  it('worst case < execution timeout < intake timeout < claim lease < master visibility, lease >= intake + execution', () => {
    const violations = checkTimeBudget({
      worstCaseSeconds: budget.worstCaseSeconds,
      executionTimeoutSeconds: definition.TimeoutSeconds,
      intakeTimeoutSeconds: TIMEOUTS.intakeTimeoutSeconds,
      claimLeaseSeconds: deployed.claimLeaseSeconds,
      masterVisibilitySeconds: TIMEOUTS.masterVisibilitySeconds,
    });
    expect(violations, formatBudget(budget)).toEqual([]);
    // The check the deployment runs at synth says the same.
    expect(dispatchBudgetViolations(definition, deployed.claimLeaseSeconds)).toEqual([]);
    // The numbers, so that a change to any Retry or timeout shows here (the breakdown prints on failure).
    expect(budget.worstCaseSeconds, formatBudget(budget)).toBe(88);
    expect(definition.TimeoutSeconds).toBe(TIMEOUTS.dispatchTimeoutSeconds);
  });

  it('does not grow with the number of regions: the Forward iterations run side by side', () => {
    const five = definitionFor(['us-east-1', 'us-west-2', 'us-west-1', 'eu-west-1', 'ap-south-1']);
    expect(analyzeTimeBudget(five, { maxItems: SQS_BATCH_SIZE }).worstCaseSeconds).toBe(budget.worstCaseSeconds);
    // One wave of the worst iteration: at most as many groups as messages, all at once.
    expect(budget.steps.find((s) => s.state === STATE.forwardAll)).toMatchObject({ type: 'Map', waves: 1 });
  });

  it('counts the Forward Map by its concurrency: iterations one at a time would break the budget', () => {
    const serial = definitionFor(DEFAULT_REGIONS.map((r) => r.region));
    (serial.States[STATE.forwardAll] as { MaxConcurrency: number }).MaxConcurrency = 1;
    const slow = analyzeTimeBudget(serial, { maxItems: SQS_BATCH_SIZE });
    const forwardAll = budget.steps.find((s) => s.state === STATE.forwardAll)?.seconds ?? 0;
    expect(slow.worstCaseSeconds).toBe(budget.worstCaseSeconds + (SQS_BATCH_SIZE - 1) * forwardAll);
    expect(dispatchBudgetViolations(serial).join('\n')).toMatch(/worst-case execution/);
  });

  it('counts every path: the worst one retries a region, fails over and commits for as long as the budget allows', () => {
    const text = formatBudget(budget);
    for (const step of [STATE.putClaim, STATE.snapshot, STATE.select, STATE.forwardAll, STATE.forward, STATE.failover, STATE.markDispatched]) {
      expect(text).toContain(step);
    }
  });

  it('a function stops before its Task stops waiting for it, and the forward sends fit the forward function', () => {
    expect(FUNCTION_TIMEOUTS.snapshotSeconds).toBeLessThan(TASK_TIMEOUTS.snapshotSeconds);
    expect(FUNCTION_TIMEOUTS.selectSeconds).toBeLessThan(TASK_TIMEOUTS.selectSeconds);
    expect(FUNCTION_TIMEOUTS.forwardSeconds).toBeLessThan(TASK_TIMEOUTS.forwardSeconds);
    // The forward function starts no send after its window; each send is one SDK attempt of at most
    // SQS_REQUEST_TIMEOUT_MS; a health write and the runtime take the rest.
    const forwardWorstMs = FORWARD_SEND_WINDOW_MS + deployed.sqsRequestTimeoutMs + FORWARD_OVERHEAD_MS;
    expect(forwardWorstMs).toBeLessThanOrEqual(FUNCTION_TIMEOUTS.forwardSeconds * 1000);
    expect(FORWARD_SEND_WINDOW_MS + MAX_SQS_REQUEST_TIMEOUT_MS + FORWARD_OVERHEAD_MS).toBeLessThanOrEqual(FUNCTION_TIMEOUTS.forwardSeconds * 1000);
    // The snapshot reads every region at once, one attempt each.
    expect(SNAPSHOT_READ_TIMEOUT_MS).toBeLessThan(FUNCTION_TIMEOUTS.snapshotSeconds * 1000);
  });

  it('refuses, at synth, a definition whose worst case would break it', () => {
    const slow = definitionFor(['us-east-1']);
    const forward = (slow.States[STATE.forwardAll] as { ItemProcessor: { States: Record<string, { TimeoutSeconds?: number }> } }).ItemProcessor.States[STATE.forward];
    if (forward) forward.TimeoutSeconds = 30;
    expect(() => assertDispatchBudget(slow)).toThrow(TimeBudgetError);
    expect(dispatchBudgetViolations(slow).join('\n')).toMatch(/worst-case execution \(130 s\)/);
  });

  it('refuses, in the config, values that would break it', () => {
    const queues = JSON.stringify({ 'us-east-1': 'https://sqs.us-east-1.amazonaws.com/1/q' });
    expect(() => parseConfig({ REGION_QUEUES: queues, CLAIM_LEASE_SECONDS: String(TIMEOUTS.masterVisibilitySeconds) })).toThrow(/CLAIM_LEASE_SECONDS/);
    expect(() => parseConfig({ REGION_QUEUES: queues, CLAIM_LEASE_SECONDS: '100' })).toThrow(/CLAIM_LEASE_SECONDS/);
    expect(() => parseConfig({ REGION_QUEUES: queues, SQS_REQUEST_TIMEOUT_MS: String(MAX_SQS_REQUEST_TIMEOUT_MS + 1) })).toThrow(/SQS_REQUEST_TIMEOUT_MS/);
  });
});
