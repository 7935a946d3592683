/**
 * Offline synthesis of the SST app, for the infrastructure tests.
 *
 * 1. `ensurePlatform()`: if .sst/platform is missing or stale, runs the offline `sst install`.
 * 2. `synth()`: bundles sst.config.ts the way `sst deploy` does (esbuild, SST's shim/run.js injected,
 *    `aws` and `sst` as globals, $dev defined, $app/$cli from the child's environment) together with
 *    runtime.ts (one bundle for every stage), runs the bundle
 *    in a child Node process under Pulumi mocks, and returns what it recorded.
 *
 * Results are cached in .sst/synth/ by a hash of every input file, so the test files share one
 * synthesis; a lock directory keeps parallel test files from doing the same work twice.
 * SYNTH_DEBUG=1 makes the child print every resource, provider call and CLI call as it happens.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Synth, type SynthResult } from './model.js';
import type { Esbuild } from './runtime.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SST_DIR = path.join(ROOT, '.sst');
const PLATFORM = path.join(SST_DIR, 'platform');
const CACHE = path.join(SST_DIR, 'synth');
/** Inside the platform so the bundle's external imports (@pulumi/*) resolve to the platform's copies. */
const BUNDLES = path.join(PLATFORM, 'synth');
// package-lock.json: the handlers are bundled from node_modules.
const INPUTS = ['sst.config.ts', 'stacks', 'workflows', 'core', 'aws', 'functions', 'package-lock.json', 'test/stacks/harness'];

export const INSTALL_ENV = { SST_SKIP_DEPENDENCY_CHECK: 'true', SST_NO_BUN: '1', SST_TELEMETRY_DISABLED: '1' } as const;

const read = (file: string) => readFileSync(file, 'utf8');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` holding a lock directory; a waiter returns once the holder is done (and then re-checks). */
async function withLock(lock: string, fn: () => Promise<void> | void): Promise<void> {
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock left by a killed run: taken over after 10 minutes.
      if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
    }
  }
  try {
    await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function sstVersion(): string {
  return (JSON.parse(read(path.join(ROOT, 'node_modules/sst/package.json'))) as { version: string }).version;
}

/** The aws provider version pinned in sst.config.ts. */
export function pinnedAwsVersion(): string {
  const match = /aws:\s*\{\s*version:\s*'([^']+)'/.exec(read(path.join(ROOT, 'sst.config.ts')));
  if (!match) throw new Error('sst.config.ts pins no aws provider version');
  return match[1]!;
}

function installedAwsVersion(): string | undefined {
  const file = path.join(PLATFORM, 'node_modules/@pulumi/aws/package.json');
  return existsSync(file) ? (JSON.parse(read(file)) as { version: string }).version : undefined;
}

function platformReady(): boolean {
  const versionFile = path.join(PLATFORM, 'version');
  return (
    existsSync(versionFile) &&
    read(versionFile).trim() === sstVersion() &&
    installedAwsVersion() === pinnedAwsVersion() &&
    existsSync(path.join(PLATFORM, 'node_modules/esbuild/package.json'))
  );
}

/**
 * `sst install` offline: writes .sst/platform (git-ignored). About 25 s with a warm npm cache. Run as a
 * child process the caller does not block on, so it can start at the beginning of the run
 * (global-setup.ts) while other files' tests go on.
 */
export async function ensurePlatform(): Promise<{ installed: boolean; seconds: number }> {
  const started = Date.now();
  let installed = false;
  if (platformReady()) return { installed, seconds: 0 };
  await withLock(path.join(SST_DIR, 'install.lock'), async () => {
    if (platformReady()) return;
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/sst/bin/sst.mjs'), 'install', '--stage', 'ci'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
      env: {
        ...process.env,
        ...INSTALL_ENV,
        // sst runs npm in .sst/platform: make sure it finds this Node 24 first.
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (status !== 0 || !platformReady()) throw new Error(`sst install failed (exit ${status}):\n${output}`);
    installed = true;
  });
  return { installed, seconds: (Date.now() - started) / 1000 };
}

/**
 * What a deployer sets for the pipeline's stage (docs/deploy.md): its synthesis fails without them.
 * Every synthesis gets these unless a test says otherwise (undefined: unset).
 */
export const DEPLOY_ENV: Readonly<Record<string, string | undefined>> = {
  DEPLOY_REPOSITORY: 'example-owner/inference-dispatch',
  DEPLOY_REPOSITORY_ID: '123456789',
  DEPLOY_OIDC_PROVIDER_ARN: undefined,
  // Unset unless a test names stages: a value in the runner's own environment must not reach a synthesis.
  DISPATCH_INSPECTABLE_STAGES: undefined,
  DISPATCH_TABLE_CAPACITY: undefined,
  // On, so that the stage the tests read holds every resource a stage can have (the IAM checks cover the
  // dashboard's too); test/stacks/monitoring.test.ts checks a stage deployed without it.
  DISPATCH_DASHBOARD: 'on',
};

/** The child's environment: the runner's, with the deploy settings set or removed as asked. */
function childEnv(base: NodeJS.ProcessEnv, deployEnv: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const [key, value] of Object.entries(deployEnv)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** The files every synthesis is built from, digested once per process (a file changed mid-run is a new run's). */
let inputsDigest: string | undefined;
function digestInputs(): string {
  if (inputsDigest) return inputsDigest;
  const hash = createHash('sha256').update(`${sstVersion()}\n`);
  const walk = (entry: string) => {
    const full = path.join(ROOT, entry);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const child of readdirSync(full).sort()) walk(path.join(entry, child));
    } else {
      hash.update(`${entry}\n`).update(readFileSync(full));
    }
  };
  INPUTS.forEach(walk);
  inputsDigest = hash.digest('hex');
  return inputsDigest;
}

/** One stage's synthesis: the inputs and everything the deployer chooses. */
function hashInputs(stage: string, appName: string | undefined, dev: boolean, deployEnv: Readonly<Record<string, string | undefined>>): string {
  return createHash('sha256')
    .update(`${digestInputs()}\n${stage}\n${appName ?? ''}\n${dev ? 'dev' : 'deploy'}\n${JSON.stringify(deployEnv)}\n`)
    .digest('hex')
    .slice(0, 16);
}

/** The bundle does not depend on the stage ($app and $cli are read at run time): one per inputs and mode. */
function bundleKey(dev: boolean): string {
  return createHash('sha256').update(`${digestInputs()}\n${dev ? 'dev' : 'deploy'}\n`).digest('hex').slice(0, 16);
}

/** Drops cached results and bundles of other inputs, once they are an hour old. */
function prune(dir: string, keep: string | readonly string[]) {
  if (!existsSync(dir)) return;
  const kept = typeof keep === 'string' ? [keep] : keep;
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    // Another test file's synthesis may be pruning the same directory: what it removed first is gone.
    const mtimeMs = statSync(full, { throwIfNoEntry: false })?.mtimeMs;
    if (mtimeMs !== undefined && !kept.some((k) => name.includes(k)) && Date.now() - mtimeMs > 3_600_000) rmSync(full, { recursive: true, force: true });
  }
}

interface OnResolveBuild {
  onResolve(options: { filter: RegExp }, callback: (args: { importer: string; kind: string; path: string }) => unknown): void;
}

const platformEsbuild = () => createRequire(path.join(PLATFORM, 'package.json'))('esbuild') as Esbuild;

/** What both bundles (app() evaluation and the synthesis) share: one ESM file for the Node running the tests. */
const BUNDLE_BASE = { bundle: true, platform: 'node', format: 'esm', target: 'node22', logLevel: 'silent' } as const;

/** The stage's app config, as `sst` computes it before running the program: app() of sst.config.ts plus defaults. */
async function evaluateApp(key: string, stage: string, appName: string | undefined): Promise<Record<string, unknown>> {
  mkdirSync(BUNDLES, { recursive: true });
  const shim = path.join(BUNDLES, `eval-shim-${key}.mjs`);
  writeFileSync(shim, 'export const $config = (input) => input;\n');
  const outfile = path.join(BUNDLES, `eval-${key}.mjs`);
  const result = await platformEsbuild().build({
    stdin: {
      contents: `import config from ${JSON.stringify(path.join(ROOT, 'sst.config.ts'))};\nconsole.log(JSON.stringify(await config.app({ stage: ${JSON.stringify(stage)} })));`,
      resolveDir: ROOT,
      sourcefile: 'eval.ts',
      loader: 'ts',
    },
    outfile,
    ...BUNDLE_BASE,
    inject: [shim],
  });
  if (result.errors.length > 0) throw new Error(`evaluating app() failed:\n${result.errors.map((e) => e.text).join('\n')}`);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  // As a deployer would: DISPATCH_APP_NAME names a second copy of the app.
  if (appName) env.DISPATCH_APP_NAME = appName;
  else delete env.DISPATCH_APP_NAME;
  const run = spawnSync(process.execPath, [outfile], { cwd: ROOT, encoding: 'utf8', env });
  if (run.status !== 0) throw new Error(`evaluating app() failed:\n${run.stderr}`);
  const app = JSON.parse(run.stdout) as Record<string, unknown>;
  // SST's defaults for what app() leaves out.
  return { removal: 'retain', protect: false, ...app, stage };
}

function cliGlobal(key: string, dev = false) {
  const work = path.join(CACHE, `work-${key}`);
  return {
    command: dev ? 'dev' : 'deploy',
    dev,
    paths: { home: path.join(work, 'home'), root: ROOT, work, platform: PLATFORM },
    state: { version: {} },
  };
}

/**
 * SST defines $app and $cli in the bundle; here they are exports of an injected module that reads them
 * from the child's environment (SYNTH_APP, SYNTH_CLI), so that one bundle serves every stage.
 */
function globalsShim(): string {
  const shim = path.join(BUNDLES, 'globals-shim.mjs');
  writeFileSync(shim, 'export const $app = JSON.parse(process.env.SYNTH_APP);\nexport const $cli = JSON.parse(process.env.SYNTH_CLI);\n');
  return shim;
}

/** The bundle for `dev` (or deploy), made once and shared by every synthesis of these inputs. */
async function sharedBundle(dev: boolean): Promise<string> {
  const key = bundleKey(dev);
  const outfile = path.join(BUNDLES, `synth-${key}.mjs`);
  if (!existsSync(outfile)) {
    await withLock(path.join(CACHE, `lock-bundle-${key}`), async () => {
      if (existsSync(outfile)) return;
      prune(BUNDLES, [bundleKey(true), bundleKey(false)]);
      await bundle(outfile, dev);
    });
  }
  return outfile;
}

async function bundle(outfile: string, dev: boolean): Promise<string> {
  const esbuild = platformEsbuild();
  mkdirSync(BUNDLES, { recursive: true });
  // Written beside BUNDLES, at the same depth (the source map's relative paths hold), then moved in.
  const scratch = path.join(PLATFORM, `synth-tmp-${process.pid}-${Date.now()}`);
  const partial = path.join(scratch, path.basename(outfile));
  const config = path.join(ROOT, 'sst.config.ts');
  const result = await esbuild.build({
    stdin: {
      contents: [
        // What `sst` puts in scope of sst.config.ts and the files it imports: the aws provider and
        // SST's components, as globals (set before run(), which is the first to use them).
        'import * as aws from "@pulumi/aws";',
        `import * as sst from ${JSON.stringify(path.join(PLATFORM, 'src/components/index.ts'))};`,
        'Object.assign(globalThis, { aws, sst });',
        `import { synthesize } from ${JSON.stringify(path.join(ROOT, 'test/stacks/harness/runtime.ts'))};`,
        `import { run } from ${JSON.stringify(path.join(PLATFORM, 'src/auto/run.ts'))};`,
        `import config from ${JSON.stringify(config)};`,
        'await synthesize({ config, run });',
      ].join('\n'),
      resolveDir: ROOT,
      sourcefile: 'synth-entry.ts',
      loader: 'ts',
    },
    outfile: partial,
    ...BUNDLE_BASE,
    mainFields: ['module', 'main'],
    sourcemap: 'linked',
    banner: {
      js: [
        "import { createRequire as topLevelCreateRequire } from 'module';",
        'const require = topLevelCreateRequire(import.meta.url);',
        "import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from 'url';",
        'const __filename = topLevelFileUrlToPath(import.meta.url);',
        "const __dirname = topLevelFileUrlToPath(new topLevelURL('.', import.meta.url));",
      ].join('\n'),
    },
    nodePaths: [path.join(PLATFORM, 'node_modules')],
    // Components read $app while their modules load: the shim's exports are there before any of them.
    inject: [path.join(PLATFORM, 'src/shim/run.js'), globalsShim()],
    define: { $dev: String(dev) },
    plugins: [
      {
        name: 'platform-packages-external',
        setup(build: OnResolveBuild) {
          // Packages the platform imports load at run time from .sst/platform/node_modules, as under
          // `sst deploy`: one @pulumi/pulumi shared with the mocks, and esbuild's native binary found
          // where it was installed. Packages the project's own files import are bundled from its node_modules.
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.importer.startsWith(PLATFORM + path.sep) ? { external: true } : undefined,
          );
        },
      },
      {
        name: 'disallow-top-level-imports',
        setup(build: OnResolveBuild) {
          // As `sst` does: sst.config.ts may only import dynamically, inside run().
          build.onResolve({ filter: /.*/ }, (args) => {
            if (args.importer === config && args.kind === 'import-statement') {
              return { errors: [{ text: `sst.config.ts: top-level import of ${args.path} is not allowed by SST` }] };
            }
            return undefined;
          });
        },
      },
    ],
  });
  if (result.errors.length > 0) throw new Error(`bundling sst.config.ts failed:\n${result.errors.map((e) => e.text).join('\n')}`);
  // Whole or not at all: a reader never finds half a bundle.
  renameSync(`${partial}.map`, `${outfile}.map`);
  renameSync(partial, outfile);
  rmSync(scratch, { recursive: true, force: true });
  return outfile;
}

function runBundle(bundleFile: string, key: string, app: Record<string, unknown>, dev: boolean, deployEnv: Readonly<Record<string, string | undefined>>): Promise<SynthResult> {
  const out = path.join(CACHE, `result-${key}.partial.json`);
  rmSync(out, { force: true });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', '--no-deprecation', bundleFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...childEnv(process.env, deployEnv),
        NODE_OPTIONS: '',
        SYNTH_ROOT: ROOT,
        SYNTH_APP: JSON.stringify(app),
        SYNTH_CLI: JSON.stringify(cliGlobal(key, dev)),
        SYNTH_WORK: cliGlobal(key).paths.work,
        SYNTH_OUT: out,
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!existsSync(out)) {
        reject(new Error(`synthesis exited ${code} without a result:\n${output.slice(-4000)}`));
        return;
      }
      const result = JSON.parse(read(out)) as SynthResult;
      if (result.failure) {
        reject(new Error(`synthesis failed: ${result.failure}\n${output.slice(-4000)}`));
        return;
      }
      resolve(result);
    });
  });
}

export interface SynthOptions {
  readonly stage?: string;
  /** DISPATCH_APP_NAME at deploy time (default: the app's own name). */
  readonly appName?: string;
  /** As `sst dev` deploys it ($dev true: functions live unless they opt out), instead of `sst deploy`. */
  readonly dev?: boolean;
  /** Deploy settings over DEPLOY_ENV (undefined: unset). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The deployment of `stage` (default "ci"), synthesized offline; cached by input hash. */
export async function synth(options: SynthOptions = {}): Promise<Synth> {
  const stage = options.stage ?? 'ci';
  await ensurePlatform();
  const dev = options.dev ?? false;
  const deployEnv = { ...DEPLOY_ENV, ...options.env };
  const key = hashInputs(stage, options.appName, dev, deployEnv);
  const cached = path.join(CACHE, `result-${key}.json`);
  if (!existsSync(cached)) {
    await withLock(path.join(CACHE, `lock-${key}`), async () => {
      if (existsSync(cached)) return;
      prune(CACHE, key);
      const app = await evaluateApp(key, stage, options.appName);
      const result = await runBundle(await sharedBundle(dev), key, app, dev, deployEnv);
      writeFileSync(cached, JSON.stringify(result));
    });
  }
  return new Synth(JSON.parse(read(cached)) as SynthResult);
}
