/**
 * The chaos suite, short form: the short suite of chaos/scenarios.ts (every scenario but the long-only
 * ones; combined-1 is the combined nemesis's one mix here), each on its own embedded stack, one after
 * another, each checked by the total-queue checker (chaos/checker.ts). Every request is accounted for:
 * none lost, none processed twice, every extra copy attributed to a named window, and the scenario's
 * fault proven to have fired (a scenario whose fault never happened proves nothing, so it fails).
 *
 * Reproduce one: npm run chaos -- --short --scenario NAME --seed SEED (CHAOS_SEED sets the seed here).
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../tools/chaos/harness.js';
import { SHORT_SUITE } from '../../../tools/chaos/scenarios.js';

const SEED = Number(process.env.CHAOS_SEED ?? 1);

describe('chaos, short form', () => {
  for (const scenario of SHORT_SUITE) {
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
