/// <reference path="./.sst/platform/config.d.ts" />
/**
 * The deployment: one app, home region us-east-1 (core/topology.ts HOME_REGION), other regions through
 * their own providers (stacks/regions.ts). `npx sst deploy --stage dev` creates everything; see docs/deploy.md.
 */
export default $config({
  app(input) {
    return {
      // The first part of every resource name (core/topology.ts resourceNames): a second copy of this
      // app in one account takes another name (DISPATCH_APP_NAME=...), so no name is shared.
      name: process.env.DISPATCH_APP_NAME || 'inference-dispatch',
      home: 'aws',
      // Keep production data (the idempotency table, the queues) if the stage is removed.
      removal: input?.stage === 'production' ? 'retain' : 'remove',
      protect: input?.stage === 'production',
      // Pinned: the offline synthesis in test/stacks relies on this provider's resource shapes.
      providers: { aws: { version: '7.20.0', region: 'us-east-1' } },
    };
  },
  async run() {
    // SST forbids top-level imports in this file; stacks/ holds the resources.
    const { deployStage } = await import('./stacks/index.js');
    return deployStage();
  },
});
