/**
 * The child-process side of the offline synthesis (see synth.ts). Bundled by esbuild together with
 * sst.config.ts and SST's platform, then run by Node 24 with no AWS and no Pulumi engine:
 * - Pulumi mocks record every resource (type, name, inputs, provider) and answer the few provider
 *   functions the program calls (caller identity, partition, region, IAM policy documents);
 * - a loopback HTTP server answers the two calls SST components make to the CLI:
 *   Provider.Aws.Bootstrap (asset bucket) and Runtime.Build (it really bundles each handler);
 * - SST's run() runs inside a Pulumi stack, like `sst deploy` would run it.
 * The result (resources with inputs and mock outputs, invokes, RPC calls, stack outputs) is written
 * as JSON to SYNTH_OUT.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { MOCK_ACCOUNT, type SynthCall, type SynthResource, type SynthResult, type SynthRpc } from './model.js';

interface MockResourceArgs {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider?: string;
  custom?: boolean;
  id?: string;
}
interface MockCallArgs {
  token: string;
  inputs: Record<string, unknown>;
  provider?: string;
}
interface PulumiRuntime {
  setMocks(
    mocks: {
      newResource(args: MockResourceArgs): { id: string | undefined; state: Record<string, unknown> };
      call(args: MockCallArgs): Record<string, unknown>;
    },
    project?: string,
    stack?: string,
    preview?: boolean,
  ): Promise<void>;
  runInPulumiStack(init: () => Promise<Record<string, unknown> | undefined>): Promise<Record<string, unknown> | undefined>;
  waitForRPCs(): Promise<void>;
  getMonitor(): { registerResource(request: RegisterRequest, callback: unknown): unknown } | undefined;
}

/** The parts of Pulumi's RegisterResourceRequest read here. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
}

/** The part of esbuild's API used here (the platform's own esbuild, installed by `sst install`). */
export interface Esbuild {
  build(options: Record<string, unknown>): Promise<{
    errors: { text: string }[];
    metafile?: { outputs: Record<string, { exports: string[] }> };
  }>;
}

interface SstConfig {
  run(): Promise<Record<string, unknown> | void>;
}

export interface SynthesizeArgs {
  readonly config: SstConfig;
  readonly run: (program: () => Promise<unknown>) => Promise<Record<string, unknown>>;
}

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`synth runtime: ${name} is not set`);
  return value;
};

export async function synthesize({ config, run }: SynthesizeArgs): Promise<void> {
  const root = env('SYNTH_ROOT');
  const work = env('SYNTH_WORK');
  const out = env('SYNTH_OUT');
  const platform = path.join(root, '.sst', 'platform');
  const requireFromPlatform = createRequire(path.join(platform, 'package.json'));
  const pulumi = requireFromPlatform('@pulumi/pulumi') as { runtime: PulumiRuntime };
  const esbuild = requireFromPlatform('esbuild') as Esbuild;

  // What `sst` computed from app() (synth.ts evaluates it first, as the CLI does).
  const app = JSON.parse(env('SYNTH_APP')) as { name: string; stage: string; providers?: { aws?: { region?: string } } };
  const homeRegion = app.providers?.aws?.region;
  if (!homeRegion) throw new Error('synth runtime: sst.config.ts names no aws region');

  const debug = process.env.SYNTH_DEBUG ? (...items: unknown[]) => console.error('[synth]', ...items) : () => {};
  const resources: SynthResource[] = [];
  const calls: SynthCall[] = [];
  const rpcs: SynthRpc[] = [];
  const missingHandlers: string[] = [];
  /** Dependencies (URNs) per "type::name", seen by the monitor: the mocks are not told them. */
  const dependencies = new Map<string, string[]>();
  const providers = new Map<string, { name: string; region: string | undefined }>();
  let counter = 0;

  /** A provider reference is "<urn>::<id>"; the id is what the mock gave the provider resource. */
  const providerOf = (ref: string | undefined) => {
    if (!ref) return null;
    const id = ref.slice(ref.lastIndexOf('::') + 2);
    const known = providers.get(id);
    if (!known) throw new Error(`synth runtime: unknown provider reference ${ref}`);
    return known;
  };
  const regionOf = (ref: string | undefined) => providerOf(ref)?.region ?? homeRegion;

  const mocks = {
    newResource(args: MockResourceArgs) {
      debug('resource', args.type, args.name);
      const provider = providerOf(args.provider);
      const region = (args.inputs.region as string | undefined) ?? provider?.region ?? homeRegion;
      const state = mockState(args.type, args.name, args.inputs, region);
      const id = (state.id as string | undefined) ?? `${args.name}-id-${++counter}`;
      if (args.type.startsWith('pulumi:providers:')) {
        providers.set(id, { name: args.name, region: args.inputs.region as string | undefined });
      }
      resources.push({
        type: args.type,
        name: args.name,
        id,
        custom: args.custom ?? true,
        provider: provider ? { name: provider.name, region: provider.region ?? null } : null,
        region,
        dependsOn: dependencies.get(`${args.type}::${args.name}`) ?? [],
        inputs: plain(args.inputs) as Record<string, unknown>,
        state: plain(state) as Record<string, unknown>,
      });
      return { id, state };
    },
    call(args: MockCallArgs) {
      debug('call', args.token);
      const region = regionOf(args.provider);
      calls.push({ token: args.token, inputs: plain(args.inputs) as Record<string, unknown>, region });
      return mockCall(args.token, args.inputs, region);
    },
  };

  const server = createServer((req, res) => void answerRpc(req, res));
  async function answerRpc(req: IncomingMessage, res: ServerResponse) {
    let body = '';
    for await (const chunk of req) body += chunk;
    const { method, params } = JSON.parse(body) as { method: string; params: [Record<string, unknown>] };
    const input = params[0];
    debug('rpc', method);
    rpcs.push({ method, input: plain(input) as Record<string, unknown> });
    let reply: { result?: unknown; error?: string };
    try {
      reply = { result: await rpc(method, input) };
    } catch (error) {
      reply = { error: error instanceof Error ? error.message : String(error) };
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: null, ...reply }));
  }
  async function rpc(method: string, input: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'Provider.Aws.Bootstrap': {
        const region = input.region as string;
        return {
          asset: `sst-asset-mock-${region}`,
          assetEcrRegistryId: MOCK_ACCOUNT,
          assetEcrUrl: `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/sst-asset`,
          state: `sst-state-mock-${region}`,
          appsyncHttp: '',
          appsyncRealtime: '',
        };
      }
      case 'Provider.Aws.Appsync':
        // `sst dev` only: the AppSync Events endpoints a live function's stub talks to.
        return { http: 'mock.appsync-api.us-east-1.amazonaws.com', realtime: 'mock.appsync-realtime-api.us-east-1.amazonaws.com' };
      case 'Runtime.AddTarget':
        // `sst dev` only: registers a live function with the running dev session (recorded in rpcs).
        return {};
      case 'Runtime.Build':
        return buildHandler(input);
      default:
        // The wording SST's rpc client turns into MethodNotFoundError.
        throw new Error(`rpc: can't find method ${method}`);
    }
  }

  /** Bundles the handler as SST would for Node (ESM, one file per handler), so a missing or broken handler fails here. */
  async function buildHandler(input: Record<string, unknown>) {
    const handler = input.handler as string;
    const functionID = input.functionID as string;
    const dot = handler.lastIndexOf('.');
    const file = handler.slice(0, dot);
    const exported = handler.slice(dot + 1);
    const source = ['.ts', '.mts', '.js', '.mjs'].map((ext) => path.join(root, file + ext)).find((f) => existsSync(f));
    const outDir = path.join(work, 'artifacts', `${functionID}-src`);
    mkdirSync(path.dirname(path.join(outDir, file)), { recursive: true });
    if (!source) {
      // Recorded for the tests (which report it), so the rest of the deployment can still be checked.
      missingHandlers.push(handler);
      writeFileSync(path.join(outDir, `${file}.mjs`), `export const ${exported} = () => { throw new Error('missing'); };\n`);
      return { handler, out: outDir, errors: [], sourcemaps: [] };
    }
    const built = await esbuild.build({
      entryPoints: [source],
      outfile: path.join(outDir, `${file}.mjs`),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      mainFields: ['module', 'main'],
      banner: { js: "import { createRequire as topLevelCreateRequire } from 'module'; const require = topLevelCreateRequire(import.meta.url);" },
      metafile: true,
      logLevel: 'silent',
    }).catch((error: { errors?: { text: string }[] }) => ({ errors: error.errors ?? [{ text: String(error) }], metafile: undefined }));
    if (built.errors.length > 0) {
      return { handler, out: outDir, errors: built.errors.map((e) => `${handler}: ${e.text}`), sourcemaps: [] };
    }
    const exports = Object.values(built.metafile?.outputs ?? {})[0]?.exports ?? [];
    if (!exports.includes(exported)) {
      return { handler, out: outDir, errors: [`${handler}: ${source} does not export "${exported}"`], sourcemaps: [] };
    }
    return { handler, out: outDir, errors: [], sourcemaps: [] };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.SST_SERVER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mkdirSync(work, { recursive: true });

  let outputs: unknown;
  let failure: string | undefined;
  const write = () => {
    const result: SynthResult = {
      app: app as SynthResult['app'],
      homeRegion,
      resources,
      calls,
      rpcs,
      missingHandlers,
      outputs: plain(outputs) ?? null,
      failure: failure ?? null,
    };
    writeFileSync(out, JSON.stringify(result, null, 1));
  };
  // An error inside an apply() rejects outside any await of ours (the Pulumi language host would report it).
  const fail = (error: unknown) => {
    failure = error instanceof Error ? (error.stack ?? error.message) : String(error);
    write();
    process.exit(1);
  };
  process.on('unhandledRejection', fail);
  process.on('uncaughtException', fail);
  try {
    await pulumi.runtime.setMocks(mocks, app.name, app.stage, false);
    const monitor = pulumi.runtime.getMonitor();
    if (!monitor) throw new Error('synth runtime: no mock monitor');
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request, callback) => {
      dependencies.set(`${request.getType()}::${request.getName()}`, request.getDependenciesList());
      return register(request, callback);
    };
    outputs = await pulumi.runtime.runInPulumiStack(async () => (await run(config.run)) as Record<string, unknown>);
    await pulumi.runtime.waitForRPCs();
  } catch (error) {
    failure = error instanceof Error ? (error.stack ?? error.message) : String(error);
  } finally {
    server.close();
  }
  write();
}

/** Outputs the mocks give each resource: its inputs plus the attributes AWS would compute (ARN, URL, name). */
function mockState(type: string, name: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  const physical = (inputs.name as string | undefined) ?? name;
  const arn = (service: string, resource: string, r: string = region) => `arn:aws:${service}:${r}:${MOCK_ACCOUNT}:${resource}`;
  switch (type) {
    case 'aws:sqs/queue:Queue': {
      const url = `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT}/${physical}`;
      return { ...inputs, name: physical, arn: arn('sqs', physical), url, id: url };
    }
    case 'aws:dynamodb/table:Table':
      return { ...inputs, name: physical, arn: arn('dynamodb', `table/${physical}`) };
    case 'aws:lambda/function:Function': {
      const fnArn = arn('lambda', `function:${physical}`);
      return {
        ...inputs,
        name: physical,
        arn: fnArn,
        qualifiedArn: `${fnArn}:$LATEST`,
        invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${fnArn}/invocations`,
      };
    }
    case 'aws:iam/role:Role':
      return { ...inputs, name: physical, arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${physical}` };
    case 'aws:iam/policy:Policy':
      return { ...inputs, name: physical, arn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/${physical}` };
    case 'aws:kms/key:Key': {
      // A key's id is chosen by KMS; the logical name stands in for it.
      const keyId = `mock-${name}`;
      return { ...inputs, keyId, arn: arn('kms', `key/${keyId}`), id: keyId };
    }
    case 'aws:sfn/stateMachine:StateMachine':
      return { ...inputs, name: physical, arn: arn('states', `stateMachine:${physical}`) };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { ...inputs, name: physical, arn: arn('logs', `log-group:${physical}`) };
    case 'aws:sns/topic:Topic':
      return { ...inputs, name: physical, arn: arn('sns', physical) };
    case 'aws:cloudwatch/dashboard:Dashboard':
      return { ...inputs, dashboardArn: `arn:aws:cloudwatch::${MOCK_ACCOUNT}:dashboard/${inputs.dashboardName as string}` };
    case 'aws:cloudwatch/metricAlarm:MetricAlarm':
      return { ...inputs, arn: arn('cloudwatch', `alarm:${physical}`) };
    case 'random:index/randomBytes:RandomBytes':
      return { ...inputs, base64: Buffer.alloc(Number(inputs.length ?? 32), 7).toString('base64'), hex: '07' };
    default:
      return { ...inputs, name: physical };
  }
}

function mockCall(token: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  switch (token) {
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/synth`, userId: 'SYNTH', id: MOCK_ACCOUNT };
    case 'aws:index/getPartition:getPartition':
      return { partition: 'aws', dnsSuffix: 'amazonaws.com', reverseDnsPrefix: 'com.amazonaws', id: 'aws' };
    case 'aws:index/getRegion:getRegion':
      return { region, name: region, id: region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
    case 'aws:iam/getPolicyDocument:getPolicyDocument':
      // Echoes the statements as the provider does: SST skips the inline policy when they are absent.
      return { ...inputs, json: policyDocument(inputs), minifiedJson: policyDocument(inputs), id: 'policy' };
    default:
      // Fail closed: a new provider function needs a deliberate answer here.
      throw new Error(`synth runtime: no mock for provider function ${token}`);
  }
}

interface StatementInput {
  sid?: string;
  effect?: string;
  actions?: string[];
  resources?: string[];
  principals?: { type: string; identifiers: string[] }[];
  conditions?: { test: string; variable: string; values: string[] }[];
}

/** Renders aws.iam.getPolicyDocument's statements as the IAM JSON it would return. */
function policyDocument(inputs: Record<string, unknown>): string {
  const statements = (inputs.statements as StatementInput[] | undefined) ?? [];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      ...(s.sid ? { Sid: s.sid } : {}),
      Effect: s.effect ?? 'Allow',
      ...(s.actions ? { Action: s.actions } : {}),
      ...(s.resources ? { Resource: s.resources } : {}),
      ...(s.principals
        ? { Principal: Object.fromEntries(s.principals.map((p) => [p.type, p.identifiers])) }
        : {}),
      ...(s.conditions?.length
        ? {
            Condition: s.conditions.reduce<Record<string, Record<string, string[]>>>((acc, c) => {
              (acc[c.test] ??= {})[c.variable] = c.values;
              return acc;
            }, {}),
          }
        : {}),
    })),
  });
}

/** JSON-safe copy: assets and archives become a marker, functions and promises vanish. */
function plain(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (seen.has(value)) return '[cycle]';
  seen.add(value);
  const marked = value as Record<string, unknown>;
  if (marked.__pulumiAsset || marked.__pulumiArchive) return '[asset]';
  if (value instanceof Promise) return '[promise]';
  if (Array.isArray(value)) return value.map((item) => plain(item, seen));
  return Object.fromEntries(Object.entries(marked).map(([key, item]) => [key, plain(item, seen)]));
}
