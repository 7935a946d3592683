/**
 * The synthesized deployment as the tests read it: every resource with its inputs, the region its
 * provider puts it in, and the IAM policies, normalized. Shared by the child runtime (types) and the tests.
 */
export const MOCK_ACCOUNT = '123456789012';

export interface SynthResource {
  readonly type: string;
  readonly name: string;
  /** The id the mocks gave it (what other resources receive from `.id`). */
  readonly id: string;
  readonly custom: boolean;
  /** The explicit provider it was created with; null for the default provider. */
  readonly provider: { readonly name: string; readonly region: string | null } | null;
  /** Where it would be created: its provider's region, or the home region for the default provider. */
  readonly region: string;
  /** URNs of the resources it waits for (dependsOn and the resources its inputs come from). */
  readonly dependsOn: string[];
  readonly inputs: Record<string, unknown>;
  /** Inputs plus the attributes the mocks computed (arn, url, name, id). */
  readonly state: Record<string, unknown>;
}

export interface SynthCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
  readonly region: string;
}

export interface SynthRpc {
  readonly method: string;
  readonly input: Record<string, unknown>;
}

export interface SynthResult {
  readonly app: Record<string, unknown> & { name: string; stage: string };
  readonly homeRegion: string;
  readonly resources: SynthResource[];
  readonly calls: SynthCall[];
  readonly rpcs: SynthRpc[];
  /** Handlers whose file did not exist: a stub was deployed in their place. */
  readonly missingHandlers: string[];
  readonly outputs: unknown;
  readonly failure: string | null;
}

export interface Statement {
  readonly sid: string | undefined;
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly notActions: string[];
  readonly notResources: string[];
  readonly condition: unknown;
  /** Principal as written (resource policies only): "*", or { AWS: ..., Service: ... }; undefined in role policies. */
  readonly principal: unknown;
  readonly notPrincipal: unknown;
}

/** A resource policy (a queue's, the table's) with the resource it is attached to. */
export interface ResourcePolicy {
  readonly policy: SynthResource;
  readonly target: SynthResource;
  readonly statements: Statement[];
}

export interface RolePolicies {
  readonly role: SynthResource;
  readonly statements: Statement[];
  readonly managedPolicyArns: string[];
}

const list = (value: unknown): string[] => (value === undefined || value === null ? [] : Array.isArray(value) ? (value as string[]) : [value as string]);

export function parsePolicy(json: string): Statement[] {
  const doc = JSON.parse(json) as { Statement: Record<string, unknown>[] | Record<string, unknown> };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return statements.map((s) => ({
    sid: s.Sid as string | undefined,
    effect: s.Effect as string,
    actions: list(s.Action),
    resources: list(s.Resource),
    notActions: list(s.NotAction),
    notResources: list(s.NotResource),
    condition: s.Condition,
    principal: s.Principal,
    notPrincipal: s.NotPrincipal,
  }));
}

export class Synth {
  constructor(readonly result: SynthResult) {}

  get resources(): SynthResource[] {
    return this.result.resources;
  }

  ofType(type: string): SynthResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** The one resource of this type and logical name; throws naming what exists otherwise. */
  get(type: string, name: string): SynthResource {
    const found = this.ofType(type).filter((r) => r.name === name);
    if (found.length !== 1) {
      throw new Error(`expected one ${type} named ${name}, found ${found.length}; have: ${this.ofType(type).map((r) => r.name).join(', ')}`);
    }
    return found[0]!;
  }

  /** The resource whose mock state has this attribute value (e.g. the queue with this URL). */
  byState(type: string, key: string, value: unknown): SynthResource {
    const found = this.ofType(type).filter((r) => r.state[key] === value);
    if (found.length !== 1) throw new Error(`expected one ${type} with ${key} = ${String(value)}, found ${found.length}`);
    return found[0]!;
  }

  /**
   * Every role with its statements: inline (Role.inlinePolicies and RolePolicy resources) and those of
   * the deployment's managed policies attached to it; and the ARNs of every managed policy attached.
   */
  rolePolicies(): RolePolicies[] {
    return this.ofType('aws:iam/role:Role').map((role) => {
      const inline = ((role.inputs.inlinePolicies as { policy?: string }[] | undefined) ?? [])
        .filter((p) => typeof p.policy === 'string' && p.policy !== '')
        .flatMap((p) => parsePolicy(p.policy!));
      const attached = this.ofType('aws:iam/rolePolicy:RolePolicy')
        .filter((p) => p.inputs.role === role.id || p.inputs.role === role.state.name)
        .flatMap((p) => parsePolicy(p.inputs.policy as string));
      const attachments = this.ofType('aws:iam/rolePolicyAttachment:RolePolicyAttachment')
        .filter((a) => a.inputs.role === role.id || a.inputs.role === role.state.name)
        .map((a) => a.inputs.policyArn as string);
      const managedPolicyArns = [...list(role.inputs.managedPolicyArns), ...attachments];
      // The deployment's own managed policies count as the role's statements (AWS managed ones are not read here).
      const managed = this.ofType('aws:iam/policy:Policy')
        .filter((p) => managedPolicyArns.includes(p.state.arn as string))
        .flatMap((p) => parsePolicy(p.inputs.policy as string));
      return { role, statements: [...inline, ...attached, ...managed], managedPolicyArns };
    });
  }

  /**
   * Every resource policy of the deployment with the resource it protects: queue policies (matched by
   * queue URL) and DynamoDB resource policies (matched by ARN). Throws on a policy whose resource is not
   * in the deployment, and on a resource-policy type it does not know, so a new kind gets read here.
   */
  resourcePolicies(): ResourcePolicy[] {
    const known = ['aws:sqs/queuePolicy:QueuePolicy', 'aws:dynamodb/resourcePolicy:ResourcePolicy'];
    const unknown = this.resources.filter((r) => /[Pp]olicy:/.test(r.type) && !r.type.startsWith('aws:iam/') && !known.includes(r.type));
    if (unknown.length) throw new Error(`resource policies of unknown type: ${unknown.map((r) => `${r.type} ${r.name}`).join(', ')}`);
    const queues = this.ofType('aws:sqs/queuePolicy:QueuePolicy').map((policy) => ({
      policy,
      target: this.byState('aws:sqs/queue:Queue', 'url', policy.inputs.queueUrl),
      statements: parsePolicy(policy.inputs.policy as string),
    }));
    const tables = this.ofType('aws:dynamodb/resourcePolicy:ResourcePolicy').map((policy) => ({
      policy,
      target: this.byState('aws:dynamodb/table:Table', 'arn', policy.inputs.resourceArn),
      statements: parsePolicy(policy.inputs.policy as string),
    }));
    return [...queues, ...tables];
  }

  /** The policies of the role a Lambda function runs as. */
  functionPolicies(fn: SynthResource): RolePolicies {
    const found = this.rolePolicies().find((p) => p.role.state.arn === fn.inputs.role);
    if (!found) throw new Error(`no role for function ${fn.name}`);
    return found;
  }
}

/** Any policy of the deployment, whatever holds it: a role's, a managed policy, a key's, a resource's. */
export interface AnyPolicy {
  readonly kind: 'role' | 'managed' | 'key' | 'resource';
  /** The role, managed policy, key, queue or table it belongs to. */
  readonly owner: SynthResource;
  readonly statements: Statement[];
}

/** Managed policies (aws.iam.Policy) and key policies (aws.kms.Key), beside roles and resource policies. */
export function managedPolicies(synth: Synth): AnyPolicy[] {
  return synth.ofType('aws:iam/policy:Policy').map((owner) => ({ kind: 'managed', owner, statements: parsePolicy(owner.inputs.policy as string) }));
}

export function keyPolicies(synth: Synth): AnyPolicy[] {
  return synth.ofType('aws:kms/key:Key').map((owner) => {
    if (typeof owner.inputs.policy !== 'string') throw new Error(`key ${owner.name} has no policy of its own (the account's default would apply)`);
    return { kind: 'key', owner, statements: parsePolicy(owner.inputs.policy) };
  });
}

/** Every policy the synthesis holds. */
export function allPolicies(synth: Synth): AnyPolicy[] {
  return [
    ...synth.rolePolicies().map((p): AnyPolicy => ({ kind: 'role', owner: p.role, statements: p.statements })),
    ...managedPolicies(synth),
    ...keyPolicies(synth),
    ...synth.resourcePolicies().map((p): AnyPolicy => ({ kind: 'resource', owner: p.target, statements: p.statements })),
  ];
}

/** (action, resource) pairs of the Allow statements, for exact comparisons. */
export function grants(statements: readonly Statement[]): string[] {
  return statements
    .filter((s) => s.effect === 'Allow')
    .flatMap((s) => s.actions.flatMap((a) => s.resources.map((r) => `${a} on ${r}`)))
    .sort();
}
