/**
 * The chaos suite, short form: the short suite of tools/chaos/scenarios.ts (every scenario but the
 * long-only ones; combined-1 is the combined nemesis's one mix here), each on its own embedded stack, each
 * checked by the total-queue checker (tools/chaos/checker.ts). Every request is accounted for: none lost,
 * none processed twice, every extra copy attributed to a named window, and the scenario's fault proven to
 * have fired (a scenario whose fault never happened proves nothing, so it fails).
 *
 * The suite is cut into parts by what fails (one region; the stores where requests end up, the DLQ and
 * the table; the functions and Step Functions; a fleet that reports itself and steals; the rest), one
 * test file each, so the parts run side by side on separate workers. The last part takes every scenario
 * the others do not name, so a new scenario is never left out.
 *
 * Reproduce one: npm run chaos -- --short --scenario NAME --seed SEED (CHAOS_SEED sets the seed here).
 */
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../../../tools/chaos/harness.js';
import { runScenario } from '../../../tools/chaos/harness.js';
import { SHORT_SUITE } from '../../../tools/chaos/scenarios.js';

const SEED = Number(process.env.CHAOS_SEED ?? 1);

export type ChaosPart = 'regions' | 'stores' | 'functions' | 'stealing' | 'rest';

const PART_OF: readonly [ChaosPart, RegExp][] = [
  ['regions', /^region-/],
  // Where requests end up when regions fail: the dispatch DLQ, and the table.
  ['stores', /^(all-regions-|dead-letter-|dynamodb-)/],
  ['functions', /^(sfn-|intake-|forward-|worker-)/],
  // Workers that report presence and steal (issue 20).
  ['stealing', /^(fleet-vanishes|stealing-)/],
];

export function partOf(scenario: Pick<Scenario, 'name'>): ChaosPart {
  return PART_OF.find(([, pattern]) => pattern.test(scenario.name))?.[0] ?? 'rest';
}

export function describeChaosPart(part: ChaosPart): void {
  const scenarios = SHORT_SUITE.filter((s) => partOf(s) === part);
  describe(`chaos, short form: ${part}`, () => {
    it('has scenarios', () => expect(scenarios.length).toBeGreaterThan(0));
    for (const scenario of scenarios) {
      it(
        `${scenario.name}: ${scenario.injects}`,
        async () => {
          const report = await runScenario(scenario, { seed: SEED, form: 'short' });
          const c = report.check;
          const drew = report.drawn ? ` (drew ${report.drawn})` : '';
          const where = `${scenario.name}, seed ${SEED}${drew} (rerun: npm run chaos -- --short --scenario ${scenario.name} --seed ${SEED})`;
          const problems = report.problems.join('\n  ');
          expect(report.fired.ok, `the fault never fired in ${where}: ${scenario.injects}`).toBe(true);
          expect(c.lost.length, `requests LOST in ${where}:\n  ${problems}`).toBe(0);
          expect(c.acceptedTwice.length, `requests processed MORE THAN ONCE in ${where}:\n  ${problems}`).toBe(0);
          expect(c.unexplained.length, `copies no named window explains in ${where}:\n  ${problems}`).toBe(0);
          expect(c.sameExecution, `failed over or dead-lettered after an unanswered attempt in the same execution, in ${where}`).toEqual([]);
          expect(c.dispatchedAndDeadLettered, `requests both in a region and in the dispatch DLQ in ${where}`).toEqual([]);
          expect(c.deadLetteredCompleted, `DEAD_LETTERED requests completed by a worker in ${where}`).toEqual([]);
          expect(c.badInput, `bad input not handled as the corpus says in ${where}`).toEqual([]);
          expect(c.pending, `requests still pending when ${where} ended`).toEqual([]);
          expect(report.problems, where).toEqual([]);
          // Every valid request ends processed once or dead-lettered with its reason.
          expect(c.acceptedOnce + c.deadLetteredWithReason, where).toBeGreaterThanOrEqual(c.uniqueRequests);
        },
        60_000,
      );
    }
  });
}
