import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file starts its own local servers on free ports; files run in parallel on separate workers.
    pool: 'forks',
    testTimeout: 30_000,
    // GitHub's workflow parser imports its JSON schema without an import attribute, which Node refuses;
    // vite's own transform loads it (test/infra/pipeline.test.ts).
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    hookTimeout: 60_000,
  },
});
