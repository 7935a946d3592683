/**
 * The CI/CD pipeline (.github/workflows/ci.yml), validated offline with GitHub's own workflow parser
 * (@actions/workflow-parser, the schema the Actions service uses), and checked for what it must do:
 * test every change on the README's machine, deploy production from main only, with OIDC, never keys.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/cli-child.js';

const FILE = '.github/workflows/ci.yml';
const text = readFileSync(join(PROJECT_ROOT, FILE), 'utf8');

function parse(content: string) {
  const result = parseWorkflow({ name: FILE, content }, new NoOperationTraceWriter());
  return { errors: result.context.errors.getErrors().map((e) => e.message), result };
}

interface Step {
  readonly uses?: { value: string };
  readonly run?: { value: string };
}

describe('the pipeline file', () => {
  it('is a valid workflow for GitHub Actions (and a broken one is caught)', () => {
    expect(parse(text).errors).toEqual([]);
    expect(parse(text.replace('    steps:\n      - uses: actions/checkout@v4\n      - name: test', '    stepz:\n      - uses: actions/checkout@v4\n      - name: test')).errors).toEqual([
      expect.stringMatching(/Unexpected value 'stepz'/),
    ]);
  });

  it('tests every change with the README\'s test command, on Debian with system Node 20', async () => {
    const { result } = parse(text);
    const workflow = await convertWorkflowTemplate(result.context, result.value!);
    const jobs = Object.fromEntries((workflow.jobs as Array<{ id: { value: string } }>).map((j) => [j.id.value, j]));
    expect(Object.keys(jobs).sort()).toEqual(['deploy', 'test']);
    expect(Object.keys(workflow.events).sort()).toEqual(['pull_request', 'push']);
    expect(text).toMatch(/test:\n\s+runs-on: ubuntu-latest\n(\s+#.*\n)*\s+container: node:20-bookworm/);
    const testSteps = (jobs.test as unknown as { steps: Step[] }).steps;
    expect(testSteps.map((s) => s.run?.value).filter(Boolean)).toEqual(['CI=true bash .ci/run']);
    // .ci/run is the README's test command.
    expect(readFileSync(join(PROJECT_ROOT, '.ci/run'), 'utf8')).toMatch(/npm test/);
  });

  it('deploys production from main only, after the tests, with short-lived credentials from the OIDC role', async () => {
    const { result } = parse(text);
    const workflow = await convertWorkflowTemplate(result.context, result.value!);
    const deploy = (workflow.jobs as Array<Record<string, unknown> & { id: { value: string } }>).find((j) => j.id.value === 'deploy') as unknown as {
      needs: Array<{ value: string }>;
      if: { expr: string };
      steps: Step[];
    };
    expect(deploy.needs.map((n) => n.value)).toEqual(['test']);
    expect(deploy.if.expr).toBe("success() && (github.event_name == 'push' && github.ref == 'refs/heads/main')");
    // The converted template drops permissions (the parser has validated them): read them from the job's text.
    const deployText = text.slice(text.indexOf('\n  deploy:'));
    expect(deployText).toMatch(/\n    permissions:\n      contents: read\n      id-token: write\n/);
    // The workflow's default token is read-only; only the deploy job may ask for an OIDC token.
    expect(text.slice(0, text.indexOf('\njobs:'))).toMatch(/\npermissions:\n  contents: read\n/);
    expect(deploy.steps.map((s) => s.uses?.value).filter(Boolean)).toEqual(['actions/checkout@v4', 'aws-actions/configure-aws-credentials@v4']);
    expect(deploy.steps.map((s) => s.run?.value).filter(Boolean)).toEqual(['npm ci --no-audit --no-fund', 'npx sst deploy --stage production']);
    // Never long-lived keys: the role is assumed with the job's OIDC token.
    expect(text).toContain('role-to-assume: ${{ vars.DEPLOY_ROLE_ARN }}');
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
    expect(text).toMatch(/environment: production/);
  });
});
