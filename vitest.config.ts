import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The test levels, one vitest project each (docs/testing.md). Tests mirror the source tree, so a level is
 * a set of folders: `npm test -- --project core` runs one.
 * - core: the pure domain, no servers.
 * - shipped: the deployed code (aws, functions, workflows, worker) against the local wire-protocol servers.
 * - stacks: the deployment, synthesized offline under Pulumi mocks.
 * - tools: the CLI, ops, console, local stack, benchmarks' models, chaos and explorer short forms.
 * - system: the whole stack end to end, the import boundaries and the type-check.
 */
const PROJECTS = ['core', 'shipped', 'stacks', 'tools', 'system'] as const;

/** The levels whose files run longest start first, so that no long file is left to run alone at the end. */
const START_ORDER: readonly string[] = ['tools', 'system', 'shipped', 'stacks', 'core'];

class LongestLevelsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Within a level: vitest's own order (failed, then slowest first, from its cache of earlier runs).
    const sorted = await super.sort(files);
    return sorted.sort((a, b) => START_ORDER.indexOf(a.project.name) - START_ORDER.indexOf(b.project.name));
  }
}

const include: Record<(typeof PROJECTS)[number], string[]> = {
  core: ['test/core/**/*.test.ts'],
  shipped: ['test/{aws,functions,workflows,worker}/**/*.test.ts'],
  stacks: ['test/stacks/**/*.test.ts'],
  tools: ['test/tools/**/*.test.ts'],
  system: ['test/e2e/**/*.test.ts', 'test/*.test.ts'],
};

export default defineConfig({
  test: {
    // Each file starts its own local servers on free ports; files run in parallel on separate workers.
    pool: 'forks',
    // Most files wait on servers, timers and child processes rather than compute: more files run at once
    // than the machine has cores.
    maxWorkers: 4,
    // Files share a worker's loaded modules (the SDK, the local stack) instead of loading them again: no
    // module keeps state between files (handlers are built per stack; tests restore what they set).
    isolate: false,
    sequence: { sequencer: LongestLevelsFirst },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // GitHub's workflow parser imports its JSON schema without an import attribute, which Node refuses;
    // vite's own transform loads it (test/stacks/pipeline.test.ts).
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    projects: PROJECTS.map((name) => ({
      extends: true,
      // The stacks level starts SST's platform install (clean clones) as the run starts.
      test: { name, include: include[name], ...(name === 'stacks' ? { globalSetup: ['test/stacks/harness/global-setup.ts'] } : {}) },
    })),
  },
});
