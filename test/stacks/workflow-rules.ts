/**
 * Static rules for the GitHub Actions workflows (.github/workflows/*.yml), after GitHub's hardening guidance
 * for Actions and OIDC. Each rule reads the workflow as GitHub's own parser (@actions/workflow-parser)
 * reads it and returns its findings; `checkWorkflow` runs them all. test/stacks/pipeline-rules.test.ts
 * shows each rule rejecting a broken variant of the pipeline.
 */
import {
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
} from '@actions/workflow-parser';
import { PIPELINE } from '../../stacks/pipeline.js';

/** A workflow's text as plain data: mappings, sequences, scalars; `${{ }}` values keep their source text. */
export type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

export interface Finding {
  readonly rule: RuleName;
  readonly message: string;
}

export const RULES = [
  'valid',
  'sha-pinned',
  'least-permissions',
  'id-token-deploy-only',
  'no-persisted-credentials',
  'no-install-scripts-with-id-token',
  'no-script-injection',
  'no-pull-request-target',
  'deploy-gate',
  'oidc-only',
] as const;
export type RuleName = (typeof RULES)[number];

export interface RuleOptions {
  /** The only job that may hold an OIDC token: it deploys production from main. */
  readonly deployJob: string;
  /** The GitHub environment the deploy job runs in (the deploy role's trust names it). */
  readonly environment: string;
  /** The job the deploy waits for. */
  readonly testJob: string;
}

/** The pipeline's jobs; the environment is the one the deploy role trusts. */
export const PIPELINE_RULES: RuleOptions = { deployJob: 'deploy', environment: PIPELINE.environment, testJob: 'test' };

export interface ParsedWorkflow {
  readonly text: string;
  readonly errors: string[];
  readonly tree: { [key: string]: Plain };
}

export function parse(text: string, name = 'workflow.yml'): ParsedWorkflow {
  const result = parseWorkflow({ name, content: text }, new NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  const tree = result.value ? plain(result.value) : {};
  return { text, errors, tree: tree !== null && typeof tree === 'object' && !Array.isArray(tree) ? tree : {} };
}

type Token = Parameters<typeof isMapping>[0];

function plain(token: Token): Plain {
  if (isMapping(token)) {
    const out: { [key: string]: Plain } = {};
    for (const { key, value } of token) out[String(plain(key))] = plain(value);
    return out;
  }
  if (isSequence(token)) {
    const out: Plain[] = [];
    for (let i = 0; i < token.count; i++) out.push(plain(token.get(i)));
    return out;
  }
  if (isBasicExpression(token)) return token.source ?? `\${{ ${token.expression} }}`;
  if (isString(token) || isBoolean(token) || isNumber(token)) return token.value;
  return null;
}

const asMap = (value: Plain | undefined): { [key: string]: Plain } =>
  value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : {};
const asList = (value: Plain | undefined): Plain[] => (Array.isArray(value) ? value : []);

interface Job {
  readonly id: string;
  readonly body: { [key: string]: Plain };
  readonly steps: Array<{ [key: string]: Plain }>;
}

function jobs(workflow: ParsedWorkflow): Job[] {
  return Object.entries(asMap(workflow.tree.jobs)).map(([id, value]) => {
    const body = asMap(value);
    return { id, body, steps: asList(body.steps).map(asMap) };
  });
}

/** The events the workflow runs on, whichever of the three forms `on:` takes. */
function events(workflow: ParsedWorkflow): string[] {
  const on = workflow.tree.on;
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.map(String);
  return Object.keys(asMap(on));
}

/** A job's (or the workflow's) permissions: scope → level, or one of the shorthands read-all/write-all. */
function permissions(value: Plain | undefined): { [scope: string]: string } | string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return Object.fromEntries(Object.entries(asMap(value)).map(([scope, level]) => [scope, String(level)]));
}

const holdsIdToken = (job: Job) => {
  const p = permissions(job.body.permissions);
  return p === 'write-all' || (typeof p === 'object' && p['id-token'] === 'write');
};

/** Every `uses:`: steps' actions and jobs' reusable workflows. */
function uses(workflow: ParsedWorkflow): Array<{ where: string; ref: string }> {
  return jobs(workflow).flatMap((job) => [
    ...(typeof job.body.uses === 'string' ? [{ where: `job ${job.id}`, ref: job.body.uses }] : []),
    ...job.steps.flatMap((step, i) => (typeof step.uses === 'string' ? [{ where: `job ${job.id}, step ${i + 1}`, ref: step.uses }] : [])),
  ]);
}

const SHA = /^[0-9a-f]{40}$/;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const rules: Record<RuleName, (w: ParsedWorkflow, o: RuleOptions) => string[]> = {
  /** GitHub's schema accepts the file, and every job a job waits for exists. */
  valid: (w) => {
    const ids = new Set(jobs(w).map((j) => j.id));
    const needs = jobs(w).flatMap((job) =>
      (typeof job.body.needs === 'string' ? [job.body.needs] : asList(job.body.needs).map(String))
        .filter((need) => !ids.has(need))
        .map((need) => `job ${job.id} needs ${need}, which is not a job of this workflow`),
    );
    return [...w.errors, ...needs];
  },

  /**
   * Every action is pinned to a full commit SHA (a tag or branch can be moved to other code), with the
   * release it is in a comment on the same line, so that a reader and an update can tell which it is.
   */
  'sha-pinned': (w) =>
    uses(w).flatMap(({ where, ref }) => {
      if (ref.startsWith('./')) return [];
      if (ref.startsWith('docker://')) return /@sha256:[0-9a-f]{64}$/.test(ref) ? [] : [`${where}: ${ref} is an image not pinned by digest`];
      const at = ref.lastIndexOf('@');
      const version = at < 0 ? '' : ref.slice(at + 1);
      if (!SHA.test(version)) return [`${where}: ${ref} is not pinned to a full commit SHA`];
      const line = new RegExp(`uses:\\s*["']?${escape(ref)}["']?\\s+#\\s*v\\d+(\\.\\d+)*\\s*$`, 'm');
      return line.test(w.text) ? [] : [`${where}: ${ref} has no "# vX.Y.Z" comment naming its release`];
    }),

  /**
   * The default token is read-only at most (`{}` or `contents: read`), and every job states its own
   * permissions, none of them a write-all/read-all shorthand.
   */
  'least-permissions': (w) => {
    const found: string[] = [];
    const top = permissions(w.tree.permissions);
    if (top === undefined) found.push('the workflow sets no default permissions (the token would get the repository default)');
    else if (typeof top === 'string') found.push(`the workflow's permissions are ${top}`);
    else {
      for (const [scope, level] of Object.entries(top)) {
        if (!(scope === 'contents' && level === 'read')) found.push(`the workflow grants ${scope}: ${level} to every job`);
      }
    }
    for (const job of jobs(w)) {
      const p = permissions(job.body.permissions);
      if (p === undefined) found.push(`job ${job.id} does not state its permissions`);
      else if (typeof p === 'string') found.push(`job ${job.id} has permissions ${p}`);
    }
    return found;
  },

  /** Only the deploy job can ask for an OIDC token; the workflow's default never grants one. */
  'id-token-deploy-only': (w, o) => {
    const found: string[] = [];
    const top = permissions(w.tree.permissions);
    if (top === 'write-all' || (typeof top === 'object' && top['id-token'] !== undefined)) found.push('the workflow grants id-token to every job');
    for (const job of jobs(w)) {
      if (job.id !== o.deployJob && holdsIdToken(job)) found.push(`job ${job.id} holds id-token: write`);
    }
    return found;
  },

  /** No checkout leaves the job's token in the git config for later steps (and their dependencies) to read. */
  'no-persisted-credentials': (w) =>
    jobs(w).flatMap((job) =>
      job.steps.flatMap((step, i) => {
        if (typeof step.uses !== 'string' || !/^actions\/checkout@/.test(step.uses)) return [];
        const persist = asMap(step.with)['persist-credentials'];
        return persist === false || persist === 'false' ? [] : [`job ${job.id}, step ${i + 1}: checkout without persist-credentials: false`];
      }),
    ),

  /**
   * A job that holds an OIDC token runs no dependency's install scripts: every package install passes
   * --ignore-scripts, nothing turns them back on, and no package cache (which another run could have
   * written) is restored into it.
   */
  'no-install-scripts-with-id-token': (w) =>
    jobs(w)
      .filter(holdsIdToken)
      .flatMap((job) => {
        const found: string[] = [];
        const envs = [asMap(w.tree.env), asMap(job.body.env), ...job.steps.map((s) => asMap(s.env))];
        for (const env of envs) {
          for (const [name, value] of Object.entries(env)) {
            if (/^npm_config_ignore_scripts$/i.test(name) && String(value) !== 'true') found.push(`job ${job.id}: ${name}=${String(value)}`);
          }
        }
        job.steps.forEach((step, i) => {
          const where = `job ${job.id}, step ${i + 1}`;
          if (typeof step.run === 'string') {
            for (const command of step.run.split(/&&|\|\||;|\n/)) {
              const c = command.trim();
              if (/^(npm|pnpm|yarn|bun)\s+(ci|i|install|add|rebuild|install-ci-test|it)\b/.test(c) || /^yarn\s*$/.test(c)) {
                if (!/(^|\s)--ignore-scripts(\s|$)/.test(c) || /--ignore-scripts[= ]false/.test(c)) found.push(`${where}: "${c}" runs install scripts`);
              }
              if (/^(npx|npm\s+(exec|x))\s/.test(c) && !/^(npx|npm\s+(exec|x))\s+(--no|--yes=false)\s/.test(c)) {
                found.push(`${where}: "${c}" would fetch and install a package missing from the lockfile (add --no)`);
              }
            }
          }
          if (typeof step.uses === 'string' && /^actions\/setup-node@/.test(step.uses)) {
            const withs = asMap(step.with);
            if (withs.cache !== undefined || !(withs['package-manager-cache'] === false || withs['package-manager-cache'] === 'false')) {
              found.push(`${where}: setup-node may restore a package cache (set package-manager-cache: false, no cache:)`);
            }
          }
          if (typeof step.uses === 'string' && /^actions\/cache(\/restore)?@/.test(step.uses)) found.push(`${where}: restores a cache`);
        });
        return found;
      }),

  /**
   * No `${{ }}` in a `run:` script reads a value from outside the repository's control (an event's
   * titles, bodies, branch names, inputs, other steps' outputs): it would be pasted into the script as
   * code. Such values go through `env:`, where the shell sees them as data.
   */
  'no-script-injection': (w) =>
    jobs(w).flatMap((job) =>
      job.steps.flatMap((step, i) => {
        if (typeof step.run !== 'string') return [];
        const untrusted = [...step.run.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].flatMap((m) => contextReferences(m[1]!).filter((r) => !TRUSTED.some((t) => t.test(r))));
        return untrusted.map((r) => `job ${job.id}, step ${i + 1}: run: interpolates ${r}; pass it through env: instead`);
      }),
    ),

  /** pull_request_target (and workflow_run) run a fork's change with the repository's token and secrets. */
  'no-pull-request-target': (w) =>
    events(w)
      .filter((e) => e === 'pull_request_target' || e === 'workflow_run')
      .map((e) => `the workflow runs on ${e}`),

  /**
   * The deploy job runs only on a push to main, after the tests, in the protected environment whose name
   * the deploy role trusts; the workflow's push trigger is limited to main.
   */
  'deploy-gate': (w, o) => {
    const deploy = jobs(w).find((j) => j.id === o.deployJob);
    if (!deploy) return [`no job ${o.deployJob}`];
    const found: string[] = [];
    const environment = typeof deploy.body.environment === 'string' ? deploy.body.environment : asMap(deploy.body.environment).name;
    if (environment !== o.environment) found.push(`job ${deploy.id} does not run in the ${o.environment} environment`);
    const needs = typeof deploy.body.needs === 'string' ? [deploy.body.needs] : asList(deploy.body.needs).map(String);
    if (!needs.includes(o.testJob)) found.push(`job ${deploy.id} does not wait for ${o.testJob}`);
    const condition = String(deploy.body.if ?? '')
      .replace(/^\$\{\{([\s\S]*)\}\}$/, '$1')
      .replace(/\s+/g, ' ')
      .trim();
    const gates = condition.split(' && ').map((c) => c.replace(/^\(|\)$/g, '').trim()).sort();
    if (/\|\||!/.test(condition) || gates.join(' && ') !== ["github.event_name == 'push'", "github.ref == 'refs/heads/main'"].join(' && ')) {
      found.push(`job ${deploy.id} is not limited to a push to main (if: ${condition || 'none'})`);
    }
    const push = asMap(asMap(w.tree.on).push);
    const branches = asList(push.branches).map(String);
    if (events(w).includes('push') && (branches.length !== 1 || branches[0] !== 'main' || push.tags !== undefined)) {
      found.push(`the workflow runs on pushes other than to main (branches: ${branches.join(', ') || 'any'})`);
    }
    return found;
  },

  /** AWS credentials come from the OIDC token and a role, never from long-lived keys. */
  'oidc-only': (w) => {
    const found: string[] = [];
    if (/aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN/.test(w.text)) found.push('the workflow names long-lived AWS keys');
    for (const job of jobs(w)) {
      job.steps.forEach((step, i) => {
        if (typeof step.uses !== 'string' || !/^aws-actions\/configure-aws-credentials@/.test(step.uses)) return;
        const role = asMap(step.with)['role-to-assume'];
        if (typeof role !== 'string' || role === '') found.push(`job ${job.id}, step ${i + 1}: configure-aws-credentials without role-to-assume`);
        if (!holdsIdToken(job)) found.push(`job ${job.id}, step ${i + 1}: configure-aws-credentials in a job without an OIDC token`);
      });
    }
    return found;
  },
};

/** Contexts a run: script may interpolate: set by GitHub or by the repository's admins, not by a contributor. */
const TRUSTED = [
  /^github\.(sha|run_id|run_number|run_attempt|repository|repository_id|repository_owner|repository_owner_id|workspace|event_name|job|action_path|server_url|api_url)$/,
  /^runner\.(os|arch|temp|tool_cache|name)$/,
  /^vars\.[A-Za-z_][\w]*$/,
];

/** The context references in an expression: `github.event.pull_request.title`, `inputs.name`, `steps.x.outputs.y`. */
function contextReferences(expression: string): string[] {
  const withoutStrings = expression.replace(/'(?:[^']|'')*'/g, "''");
  return [...withoutStrings.matchAll(/\b(github|inputs|env|steps|needs|matrix|secrets|vars|runner|job|jobs|strategy)\b((?:\s*\.\s*[A-Za-z_*][\w-]*|\s*\[[^\]]*\])*)/g)].map((m) =>
    (m[1]! + m[2]!).replace(/\s+/g, ''),
  );
}

/** Every rule's findings for one workflow text. */
export function checkWorkflow(text: string, options: RuleOptions = PIPELINE_RULES, name = 'workflow.yml'): Finding[] {
  const workflow = parse(text, name);
  return RULES.flatMap((rule) => rules[rule](workflow, options).map((message) => ({ rule, message })));
}
