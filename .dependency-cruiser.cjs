/**
 * The house's import boundaries (docs/architecture.md, Layers), checked in `npm test`
 * (test/unit/boundaries.test.ts):
 * - what ships (core, aws, functions, workflows, stacks, worker) never imports what helps develop and
 *   operate it (cli, local, bench, chaos, explore);
 * - the domain (core) imports no AWS SDK;
 * - nothing outside test/ imports test/;
 * - no cycles.
 */
const SHIPPED = '^(core|aws|functions|workflows|stacks|worker)/';
const TOOLING = '^(cli|local|bench|chaos|explore)/';

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
