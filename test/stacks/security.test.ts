/**
 * Security of the deployment, read from the synthesized stack (docs/deploy.md, Security): every queue
 * and the table encrypted at rest; every queue and the table refusing requests not made over TLS,
 * through a policy in the resource's own region; the execution log group as documented; and no secret
 * in any function's environment. Each check runs over every resource of its type that the synthesis
 * produces, so a queue or a function added without the property fails it.
 * (Role policies and what resource policies may say: iam.test.ts. What the functions log: function-logs.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS, resourceNames } from '../../core/topology.js';
import type { SynthResource } from './harness/model.js';
import { useSynth } from './harness/use-synth.js';

const synth = useSynth();
const names = resourceNames('ci');
const queues = () => synth().ofType('aws:sqs/queue:Queue');
const table = () => synth().byState('aws:dynamodb/table:Table', 'name', names.idempotencyTable);
const absent = (value: unknown) => value === undefined || value === null;

describe('encryption at rest', () => {
  it(`every queue the deployment creates (${5 + 4 * DEFAULT_REGIONS.length} now: two master lanes, their DLQs, the dispatch DLQ, two lanes and their DLQs per region): SQS-managed keys (SSE-SQS), no KMS key`, () => {
    expect(queues().length).toBe(5 + 4 * DEFAULT_REGIONS.length);
    const wrong = queues()
      .filter((q) => q.inputs.sqsManagedSseEnabled !== true || !absent(q.inputs.kmsMasterKeyId))
      .map((q) => `${q.state.name as string}: sqsManagedSseEnabled ${String(q.inputs.sqsManagedSseEnabled)}, kmsMasterKeyId ${String(q.inputs.kmsMasterKeyId)}`);
    expect(wrong).toEqual([]);
  });

  it('every table: server-side encryption with the AWS managed key (enabled, no customer managed key)', () => {
    const tables = synth().ofType('aws:dynamodb/table:Table');
    expect(tables.map((t) => t.state.name)).toEqual([names.idempotencyTable]);
    for (const t of tables) expect(t.inputs.serverSideEncryption, t.state.name as string).toEqual({ enabled: true });
  });

  it("the execution log group (the one place bodies are logged): CloudWatch Logs' own encryption, kept 30 days", () => {
    const group = synth().byState('aws:cloudwatch/logGroup:LogGroup', 'name', `/aws/vendedlogs/states/${names.stateMachine}`);
    expect(absent(group.inputs.kmsKeyId)).toBe(true);
    expect(group.inputs.retentionInDays).toBe(30);
  });
});

describe('requests not made over TLS are refused', () => {
  const policiesOf = (type: string, key: string, value: unknown) => synth().ofType(type).filter((p) => p.inputs[key] === value);

  it('every queue has its own queue policy, created in the queue\'s region through the same provider', () => {
    const wrong: string[] = [];
    for (const q of queues()) {
      const policies = policiesOf('aws:sqs/queuePolicy:QueuePolicy', 'queueUrl', q.state.url);
      const where = (r: SynthResource) => `${r.region} via ${r.provider?.name ?? 'the default provider'}`;
      if (policies.length !== 1) wrong.push(`${q.state.name as string}: ${policies.length} policies`);
      else if (where(policies[0]!) !== where(q)) wrong.push(`${q.state.name as string}: queue in ${where(q)}, policy in ${where(policies[0]!)}`);
    }
    expect(wrong).toEqual([]);
    // And no policy for anything else.
    expect(synth().ofType('aws:sqs/queuePolicy:QueuePolicy')).toHaveLength(queues().length);
  });

  it('the table has its resource policy, in the home region with the default provider', () => {
    const policies = policiesOf('aws:dynamodb/resourcePolicy:ResourcePolicy', 'resourceArn', table().state.arn);
    expect(policies).toHaveLength(1);
    expect([policies[0]!.region, policies[0]!.provider]).toEqual([table().region, null]);
    // Not confirmRemoveSelfResourceAccess: the policy must never lock out whoever deploys it.
    expect(absent(policies[0]!.inputs.confirmRemoveSelfResourceAccess)).toBe(true);
  });

  it('each of those policies is the TLS-only Deny (its exact statement: iam.test.ts)', () => {
    for (const { policy, statements } of synth().resourcePolicies()) {
      expect(statements.map((s) => [s.sid, s.effect]), policy.name).toEqual([['DenyInsecureTransport', 'Deny']]);
    }
  });
});

describe('no secret in any function environment', () => {
  /** Names that say "secret"; SST_KEY is the one key, named and checked below. */
  const SECRET_NAME = /secret|passw|token|credential|private.?key|api.?key|^AWS_/i;
  const SECRET_VALUE: [string, RegExp][] = [
    ['an AWS access key id', /\b(AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b/],
    ['an AWS secret access key (40 characters of base64)', /(^|[^A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}([^A-Za-z0-9/+=]|$)/],
    ['a private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
    ['a URL with a password', /:\/\/[^/\s:@]+:[^/\s@]+@/],
    ['a JSON web token', /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./],
    ['a word that says secret', /secret|password|token/i],
  ];
  /** What a value may be: a number, an ARN, an https URL, a name or a word, or JSON holding only those. */
  const ALLOWED_SCALAR = [/^\d+$/, /^arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d{12}:[A-Za-z0-9:/_.-]+$/, /^https:\/\/[a-z0-9.-]+(\/[A-Za-z0-9/_.-]*)?$/, /^[A-Za-z0-9_.-]{1,64}$/];

  const fns = () => synth().ofType('aws:lambda/function:Function');
  const env = (fn: SynthResource) => (fn.inputs.environment as { variables: Record<string, string> }).variables;

  /** Leaves of a value: the value itself, or every string and number of it when it is JSON. */
  const leaves = (value: string): string[] => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return [value];
    }
    if (parsed === null || typeof parsed !== 'object') return [value];
    const found: string[] = [];
    const visit = (item: unknown) => {
      if (Array.isArray(item)) item.forEach(visit);
      else if (item !== null && typeof item === 'object') Object.entries(item).forEach(([k, v]) => (found.push(k), visit(v)));
      else found.push(String(item));
    };
    visit(parsed);
    return found;
  };

  it('no variable is named like a secret', () => {
    const named = fns().flatMap((fn) => Object.keys(env(fn)).filter((k) => SECRET_NAME.test(k)).map((k) => `${fn.name}: ${k}`));
    expect(named).toEqual([]);
  });

  it('no value looks like a credential, and every value is a number, an ARN, a URL, a name, or JSON of those (SST_KEY aside)', () => {
    const wrong: string[] = [];
    for (const fn of fns()) {
      for (const [key, value] of Object.entries(env(fn))) {
        if (key === 'SST_KEY') continue;
        for (const leaf of leaves(value)) {
          const looks = SECRET_VALUE.find(([, pattern]) => pattern.test(leaf));
          if (looks) wrong.push(`${fn.name}: ${key} looks like ${looks[0]}`);
          else if (!ALLOWED_SCALAR.some((pattern) => pattern.test(leaf))) wrong.push(`${fn.name}: ${key} holds ${JSON.stringify(leaf.slice(0, 40))}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('SST_KEY, the one key, only decrypts SST\'s bundle of linked resources, and no function links anything', () => {
    // SST puts in every function the key of resource.enc, the encrypted values of the resources the
    // function links (`link`). The functions link none: the bundle holds nothing, secret or not.
    const builds = new Map(synth().result.rpcs.filter((r) => r.method === 'Runtime.Build').map((r) => [r.input.handler as string, r.input]));
    for (const fn of fns()) {
      const build = builds.get(fn.inputs.handler as string);
      expect(build, fn.name).toBeDefined();
      expect(build!.links, fn.name).toEqual({});
      expect(env(fn).SST_KEY, fn.name).toBe(build!.encryptionKey);
      expect(env(fn).SST_KEY_FILE, fn.name).toBe('resource.enc');
    }
  });

  it('nothing switches on logging of whole events (Powertools would log every body)', () => {
    for (const fn of fns()) {
      expect(env(fn).POWERTOOLS_LOGGER_LOG_EVENT, fn.name).toBeUndefined();
    }
  });
});
