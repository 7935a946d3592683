/**
 * Each workflow rule (test/stacks/workflow-rules.ts) can fail: the pipeline passes it, and a variant of the
 * pipeline broken in the way the rule forbids is rejected by that rule.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/cli-child.js';
import { checkWorkflow, RULES, type RuleName } from './workflow-rules.js';

const text = readFileSync(join(PROJECT_ROOT, '.github/workflows/ci.yml'), 'utf8');

const CHECKOUT = /uses: actions\/checkout@[0-9a-f]{40} # v[\d.]+/;

/** The text with `from` replaced by `to`; `from` must occur (the first occurrence, or every one with `all`). */
function edit(source: string, from: string | RegExp, to: string, all = false): string {
  const found = typeof from === 'string' ? source.includes(from) : from.test(source);
  if (!found) throw new Error(`the pipeline no longer contains ${String(from)}: update this variant`);
  if (typeof from === 'string') return all ? source.split(from).join(to) : source.replace(from, to);
  return source.replace(all ? new RegExp(from.source, `${from.flags.replace('g', '')}g`) : from, to);
}

/** The section of one job, to edit only there. */
function inJob(job: 'test' | 'deploy', change: (section: string) => string): string {
  const start = text.indexOf(`\n  ${job}:\n`);
  const next = text.indexOf('\n  deploy:\n', start + 1);
  const end = job === 'test' && next > start ? next : text.length;
  return text.slice(0, start) + change(text.slice(start, end)) + text.slice(end);
}

const fired = (variant: string) => [...new Set(checkWorkflow(variant).map((f) => f.rule))];

/** rule, what the variant breaks, the variant, and the other rules the same break also trips. */
const VARIANTS: Array<[RuleName, string, () => string, RuleName[]?]> = [
  ['valid', 'a key GitHub does not know', () => edit(text, '    steps:\n', '    stepz:\n')],
  ['valid', 'a job that needs a job that does not exist', () => edit(text, 'needs: test', 'needs: tset'), ['deploy-gate']],

  ['sha-pinned', 'an action on a tag', () => edit(text, CHECKOUT, 'uses: actions/checkout@v7.0.1')],
  ['sha-pinned', 'an action on a short SHA', () => edit(text, /(uses: actions\/checkout@)([0-9a-f]{12})[0-9a-f]{28}/, '$1$2')],
  ['sha-pinned', 'a pin without its release in a comment', () => edit(text, /(uses: aws-actions\/configure-aws-credentials@[0-9a-f]{40}) # v[\d.]+/, '$1')],
  ['sha-pinned', 'an action on a branch', () => edit(text, /uses: actions\/setup-node@[0-9a-f]{40}/, 'uses: actions/setup-node@main')],
  ['sha-pinned', 'a reusable workflow on a tag', () => `${text}\n  reuse:\n    permissions: {}\n    uses: octo-org/workflows/.github/workflows/build.yml@v1\n`],

  ['least-permissions', 'write-all for the whole workflow', () => edit(text, '\npermissions: {}\n', '\npermissions: write-all\n'), ['id-token-deploy-only']],
  ['least-permissions', 'a write scope for every job', () => edit(text, '\npermissions: {}\n', '\npermissions:\n  contents: write\n')],
  ['least-permissions', 'no default permissions', () => edit(text, '\npermissions: {}\n', '\n')],
  ['least-permissions', 'a job without its own permissions', () => inJob('test', (s) => edit(s, '    permissions:\n      contents: read\n', ''))],

  ['id-token-deploy-only', 'the test job able to mint an OIDC token', () => inJob('test', (s) => edit(s, '      contents: read\n', '      contents: read\n      id-token: write\n'))],
  ['id-token-deploy-only', 'an OIDC token for every job', () => edit(text, '\npermissions: {}\n', '\npermissions:\n  id-token: write\n'), ['least-permissions']],

  ['no-persisted-credentials', 'a checkout that keeps the token', () => inJob('test', (s) => edit(s, 'persist-credentials: false', 'persist-credentials: true'))],
  ['no-persisted-credentials', 'a checkout with the default', () => inJob('deploy', (s) => edit(s, '        with:\n          persist-credentials: false\n', ''))],

  ['no-install-scripts-with-id-token', 'npm ci running install scripts', () => edit(text, 'npm ci --ignore-scripts', 'npm ci')],
  ['no-install-scripts-with-id-token', 'a package added with its scripts', () => edit(text, 'run: npm ci --ignore-scripts --no-audit --no-fund', 'run: npm ci --ignore-scripts && npm install left-pad')],
  ['no-install-scripts-with-id-token', 'npx free to fetch a package', () => edit(text, 'npx --no sst', 'npx sst')],
  ['no-install-scripts-with-id-token', 'scripts turned back on', () => inJob('deploy', (s) => edit(s, '    permissions:\n', '    env:\n      npm_config_ignore_scripts: false\n    permissions:\n'))],
  ['no-install-scripts-with-id-token', 'a package cache restored', () => edit(text, 'package-manager-cache: false', 'package-manager-cache: true')],
  ['no-install-scripts-with-id-token', 'a setup-node npm cache', () => edit(text, 'package-manager-cache: false', 'package-manager-cache: false\n          cache: npm')],

  ['no-script-injection', "a pull request's title in a script", () => edit(text, 'run: CI=true bash .ci/run', 'run: echo "${{ github.event.pull_request.title }}" && CI=true bash .ci/run')],
  ['no-script-injection', 'a branch name in a script', () => edit(text, 'run: CI=true bash .ci/run', 'run: |\n          echo ${{ github.head_ref }}\n          CI=true bash .ci/run')],
  ['no-script-injection', 'an event read by index', () => edit(text, 'run: npx --no sst', "run: echo ${{ github['event']['head_commit']['message'] }}; npx --no sst")],
  ['no-script-injection', "another step's output", () => edit(text, 'run: npx --no sst', 'run: echo ${{ steps.meta.outputs.title }}; npx --no sst')],

  ['no-pull-request-target', 'pull_request_target', () => edit(text, '\n  pull_request:\n', '\n  pull_request_target:\n')],
  ['no-pull-request-target', 'workflow_run', () => edit(text, '\n  pull_request:\n', '\n  pull_request:\n  workflow_run:\n    workflows: [ci]\n')],

  ['deploy-gate', 'a deploy from any branch', () => edit(text, "if: github.event_name == 'push' && github.ref == 'refs/heads/main'", "if: github.event_name == 'push'")],
  ['deploy-gate', 'a deploy from a pull request', () => edit(text, "if: github.event_name == 'push' && github.ref == 'refs/heads/main'", "if: github.event_name == 'push' && github.ref == 'refs/heads/main' || github.event_name == 'pull_request'")],
  ['deploy-gate', 'a deploy without the protected environment', () => edit(text, '    environment: production\n', '')],
  ['deploy-gate', 'a deploy to another environment', () => edit(text, 'environment: production', 'environment: staging')],
  ['deploy-gate', 'a deploy that does not wait for the tests', () => edit(text, '    needs: test\n', '')],
  ['deploy-gate', 'pushes to any branch', () => edit(text, 'branches: [main]', "branches: [main, 'release/**']")],

  ['oidc-only', 'long-lived keys', () => edit(text, 'role-to-assume: ${{ vars.DEPLOY_ROLE_ARN }}', 'aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}')],
];

describe('the workflow rules', () => {
  it('the pipeline passes every rule', () => {
    expect(checkWorkflow(text)).toEqual([]);
  });

  it('every rule has a variant it rejects', () => {
    expect(RULES.filter((rule) => !VARIANTS.some(([r]) => r === rule))).toEqual([]);
  });

  it.each(VARIANTS)('%s rejects %s', (rule, _what, variant, also = []) => {
    expect(fired(variant()).sort()).toEqual([rule, ...also].sort());
  });

  it('a trusted value in a script and an untrusted one through env: pass', () => {
    const variant = edit(text, 'run: CI=true bash .ci/run', 'run: echo "${{ github.sha }} ${{ vars.DEPLOY_ROLE_ARN }} $TITLE" && CI=true bash .ci/run\n        env:\n          TITLE: ${{ github.event.pull_request.title }}');
    expect(checkWorkflow(variant)).toEqual([]);
  });
});
