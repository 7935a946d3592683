/**
 * The dispatch definition against the deployment's time budget (docs/architecture.md, invariant 9): its worst case,
 * derived from the definition itself, must fit the execution timeout, which must fit the intake's, the
 * claim lease and the master queue's visibility timeout in that order.
 */
import { analyzeTimeBudget, assertTimeBudget, checkTimeBudget, type AslDefinition, type TimeBudget } from './time-budget.js';
import { SQS_BATCH_SIZE, TIMEOUTS } from '../core/topology.js';

export function dispatchBudget(definition: AslDefinition): TimeBudget {
  return analyzeTimeBudget(definition, { maxItems: SQS_BATCH_SIZE });
}

const budgetInput = (definition: AslDefinition & { TimeoutSeconds: number }, claimLeaseSeconds: number) => ({
  worstCaseSeconds: dispatchBudget(definition).worstCaseSeconds,
  executionTimeoutSeconds: definition.TimeoutSeconds,
  intakeTimeoutSeconds: TIMEOUTS.intakeTimeoutSeconds,
  claimLeaseSeconds,
  masterVisibilitySeconds: TIMEOUTS.masterVisibilitySeconds,
});

/** Sentences naming each broken rule; empty when the budget holds. */
export function dispatchBudgetViolations(
  definition: AslDefinition & { TimeoutSeconds: number },
  claimLeaseSeconds: number = TIMEOUTS.claimLeaseSeconds,
): string[] {
  return checkTimeBudget(budgetInput(definition, claimLeaseSeconds));
}

/** Throws TimeBudgetError when the budget does not hold: the deployment refuses such a definition. */
export function assertDispatchBudget(
  definition: AslDefinition & { TimeoutSeconds: number },
  claimLeaseSeconds: number = TIMEOUTS.claimLeaseSeconds,
): void {
  assertTimeBudget(budgetInput(definition, claimLeaseSeconds));
}
