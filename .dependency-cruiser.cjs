/**
 * The house's import boundaries (docs/architecture.md, Layers), checked in `npm test`
 * (test/boundaries.test.ts):
 * - what ships (core, aws, functions, workflows, stacks, worker) never imports what helps develop and
 *   operate it (tools/);
 * - the CLI and the console share only the operations layer (tools/ops): the console never imports the
 *   CLI, and the CLI reaches the console only through the server it starts (`up`);
 * - the domain (core) imports no AWS SDK;
 * - nothing outside test/ imports test/;
 * - no cycles.
 */
const SHIPPED = '^(core|aws|functions|workflows|stacks|worker)/';
const TOOLING = '^tools/';

module.exports = {
  forbidden: [
    {
      name: 'shipped-imports-tooling',
      comment: 'Deployed code must not depend on the tools that help develop and operate it.',
      severity: 'error',
      from: { path: SHIPPED },
      to: { path: TOOLING },
    },
    {
      name: 'domain-imports-aws-sdk',
      comment: 'core/ is the pure domain: SDK calls live in aws/ and functions/.',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: 'node_modules/@aws-sdk/' },
    },
    {
      name: 'console-imports-cli',
      comment: 'What the console shares with the CLI lives in tools/ops.',
      severity: 'error',
      from: { path: '^tools/console/' },
      to: { path: '^tools/cli/' },
    },
    {
      name: 'cli-imports-console',
      comment: 'The CLI starts the console (its server); everything else they share lives in tools/ops.',
      severity: 'error',
      from: { path: '^tools/cli/' },
      to: { path: '^tools/console/', pathNot: '^tools/console/server\\.ts$' },
    },
    {
      name: 'imports-test',
      comment: 'Tests may import anything; nothing imports tests.',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one idea: split or merge them.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.sst|dist|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mts', '.js', '.mjs', '.json'] },
  },
};
