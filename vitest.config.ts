import { defineConfig } from 'vitest/config';

/**
 * The test levels, one vitest project each (docs/testing.md). Tests mirror the source tree, so a level is
 * a set of folders: `npm test -- --project core` runs one.
 * - core: the pure domain, no servers; one module graph shared by its files (isolate: false).
 * - shipped: the deployed code (aws, functions, workflows, worker) against the local wire-protocol servers.
 * - stacks: the deployment, synthesized offline under Pulumi mocks.
 * - tools: the CLI, console, local stack, benchmarks' models, chaos and explorer short forms.
 * - system: the whole stack end to end, the import boundaries and the type-check.
 *
 * Most files wait on servers, timers and child processes rather than compute, so more files run at once
 * than the machine has cores.
 */
export default defineConfig({
  test: {
    // Each file starts its own local servers on free ports; files run in parallel on separate workers.
    pool: 'forks',
    maxWorkers: 4,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // GitHub's workflow parser imports its JSON schema without an import attribute, which Node refuses;
    // vite's own transform loads it (test/stacks/pipeline.test.ts).
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    projects: [
      { extends: true, test: { name: 'core', include: ['test/core/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'shipped', include: ['test/{aws,functions,workflows,worker}/**/*.test.ts'] } },
      { extends: true, test: { name: 'stacks', include: ['test/stacks/**/*.test.ts'] } },
      { extends: true, test: { name: 'tools', include: ['test/tools/**/*.test.ts'] } },
      { extends: true, test: { name: 'system', include: ['test/e2e/**/*.test.ts', 'test/*.test.ts'] } },
    ],
  },
});
