/**
 * Fault rules: which requests to break and how. A rule has a JSON form (validated by zod, since a chaos
 * command reads scenarios from files) plus, from code only, an optional body predicate function.
 *
 * Rules are tried in the order they were added; the first one that fires decides the request, and the
 * rules after it do not count that request. A rule counts every request it matches (action, `match`,
 * `when`): it skips the first `after` of them, then fires with `probability` (a seeded draw, one per
 * eligible request) until it has fired `times` times.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { errorSpecSchema } from './errors.js';
import { deriveSeed, mulberry32 } from './prng.js';

const scopeFields = {
  /** A label, repeated in the fault log. */
  name: z.string().min(1).optional(),
  /** API actions, bare (`PutItem`) or as in x-amz-target (`DynamoDB_20120810.PutItem`); absent or `*` = all. */
  actions: z.array(z.string().min(1)).min(1).optional(),
  /** JSON the request body must contain (deep subset; an array pattern's items must each match some item). */
  match: z.json().optional(),
  /** Matching requests to let through before the rule may fire. */
  after: z.number().int().min(0).optional(),
  /** Fires at most this many times (then stays listed, inert, until removed). */
  times: z.number().int().min(1).optional(),
  /** Chance to fire for each eligible request, drawn from the rule's seeded PRNG. */
  probability: z.number().min(0).max(1).optional(),
  /** The rule's PRNG seed; derived from the proxy's seed and the rule's position when absent. */
  seed: z.number().int().optional(),
};

const refuseRule = z
  .object({
    mode: z.literal('refuse'),
    /** `request` (default): reset after the request arrived; `connection`: close new sockets at once. */
    at: z.enum(['request', 'connection']).optional(),
    ...scopeFields,
  })
  .strict();
const errorRule = z.object({ mode: z.literal('error'), error: errorSpecSchema.optional(), ...scopeFields }).strict();
const hangRule = z.object({ mode: z.literal('hang'), ...scopeFields }).strict();
const delayRule = z.object({ mode: z.literal('delay'), ms: z.number().int().min(0).max(900_000), ...scopeFields }).strict();
const loseAnswerRule = z
  .object({
    mode: z.literal('lose-answer'),
    /** What the caller gets once the target has answered: a reset socket (default), nothing, or a 500. */
    then: z.enum(['reset', 'hang', 'error']).optional(),
    /** With `then: 'error'`: the error to answer (the service's internal error by default). */
    error: errorSpecSchema.optional(),
    ...scopeFields,
  })
  .strict();

export const faultRuleSpecSchema = z
  .discriminatedUnion('mode', [refuseRule, errorRule, hangRule, delayRule, loseAnswerRule])
  .superRefine((rule, ctx) => {
    if (rule.mode === 'refuse' && rule.at === 'connection' && (rule.actions !== undefined || rule.match !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a connection-level refusal happens before any request: it cannot select actions or bodies' });
    }
  });
export const faultRuleSpecsSchema = z.array(faultRuleSpecSchema);

/** A rule in its JSON form. */
export type FaultRuleSpec = z.infer<typeof faultRuleSpecSchema>;
export type FaultMode = FaultRuleSpec['mode'];
export const FAULT_MODES: readonly FaultMode[] = ['refuse', 'error', 'hang', 'delay', 'lose-answer'];

export interface RequestInfo {
  /** Bare action name (`PutItem`); '' when the request has no x-amz-target. */
  readonly action: string;
  /** The whole x-amz-target header. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  /** The body parsed as JSON (undefined when it is not JSON), parsed on first use. */
  body(): unknown;
}

/** From code only: a predicate on the parsed body (not serialisable, so not in the JSON form). */
export type FaultRule = FaultRuleSpec & { readonly when?: (body: unknown, request: RequestInfo) => boolean };

export interface RuleState {
  readonly id: string;
  readonly rule: FaultRuleSpec;
  /** Requests (or connections) the rule matched. */
  readonly matched: number;
  /** Times it fired. */
  readonly fired: number;
}

export interface Decision {
  readonly id: string;
  readonly rule: FaultRuleSpec;
}

interface Active {
  readonly id: string;
  readonly rule: FaultRuleSpec;
  readonly when: FaultRule['when'];
  readonly random: () => number;
  matched: number;
  fired: number;
}

/** Deep subset: every key of an object pattern matches; every item of an array pattern matches some item. */
export function contains(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && pattern.every((p) => value.some((v) => contains(p, v)));
  }
  if (pattern !== null && typeof pattern === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    return Object.entries(pattern).every(([key, p]) => contains(p, (value as Record<string, unknown>)[key]));
  }
  return Object.is(pattern, value);
}

const isConnectionRule = (rule: FaultRuleSpec) => rule.mode === 'refuse' && rule.at === 'connection';

export class FaultRuleSet {
  readonly #rules = new Map<string, Active>();
  #ordinal = 0;

  constructor(private readonly seed: number) {}

  /** Validates the rule (throws a ZodError naming the bad field) and appends it. */
  add(rule: FaultRule): string {
    const { when, ...spec } = rule;
    const parsed = faultRuleSpecSchema.parse(spec);
    const ordinal = this.#ordinal++;
    const id = `rule-${ordinal + 1}`;
    const random = mulberry32(parsed.seed ?? deriveSeed(this.seed, ordinal));
    this.#rules.set(id, { id, rule: parsed, when, random, matched: 0, fired: 0 });
    return id;
  }

  remove(id: string): boolean {
    return this.#rules.delete(id);
  }

  clear(): string[] {
    const ids = [...this.#rules.keys()];
    this.#rules.clear();
    return ids;
  }

  list(): RuleState[] {
    return [...this.#rules.values()].map(({ id, rule, matched, fired }) => ({ id, rule, matched, fired }));
  }

  /** The rule that breaks this request, if any. */
  decide(request: RequestInfo): Decision | undefined {
    for (const active of this.#rules.values()) {
      if (isConnectionRule(active.rule) || !this.#matches(active, request)) continue;
      if (this.#draw(active)) return { id: active.id, rule: active.rule };
    }
    return undefined;
  }

  /** The connection-level refusal that closes this new socket, if any. */
  decideConnection(): Decision | undefined {
    for (const active of this.#rules.values()) {
      if (!isConnectionRule(active.rule)) continue;
      active.matched++;
      if (this.#draw(active)) return { id: active.id, rule: active.rule };
    }
    return undefined;
  }

  /** True while a connection-level refusal can still fire: keep-alive sockets should then be closed. */
  refusesConnections(): boolean {
    return [...this.#rules.values()].some((a) => isConnectionRule(a.rule) && (a.rule.times === undefined || a.fired < a.rule.times));
  }

  #matches(active: Active, request: RequestInfo): boolean {
    const { actions, match } = active.rule;
    if (actions && !actions.some((a) => a === '*' || a === request.action || a === request.target)) return false;
    if (match !== undefined && !contains(match, request.body())) return false;
    if (active.when) {
      try {
        if (!active.when(request.body(), request)) return false;
      } catch {
        return false; // a predicate that throws selects nothing rather than breaking the proxy
      }
    }
    active.matched++;
    return true;
  }

  #draw(active: Active): boolean {
    const { after = 0, times, probability } = active.rule;
    if (active.matched <= after) return false;
    if (times !== undefined && active.fired >= times) return false;
    if (probability !== undefined && active.random() >= probability) return false;
    active.fired++;
    return true;
  }
}
