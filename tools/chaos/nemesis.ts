/**
 * The combined nemesis (Jepsen's): per run, a seeded random mix of two or three faults at once, drawn
 * from the catalogue of fault kinds the single scenarios inject one at a time. Faults that would take
 * over the same thing (one region's SQS proxy, DynamoDB's, a crash hook) are never drawn together: the
 * second would hide the first, and its proof could never fire.
 *
 * Each fault arms and disarms itself (its own proxy rule, removed by id, so that two faults on one proxy
 * could not clear each other) and proves it fired from the proxies' stats or the hooks' logs.
 */
import type { Random } from '../../core/random.js';
import type { ScenarioContext } from './harness.js';
import {
  REMOTE,
  appliedLost,
  claims,
  faults,
  intakeCrashes,
  proxy,
  refusedByDown,
  releasedUndeliverable,
  sendFaults,
  workerCrashes,
} from './scenario-kit.js';

export interface Fault {
  /** What it does, in a few words (printed as the draw). */
  readonly name: string;
  /** What it takes over: two faults with a target in common are never drawn together. */
  readonly targets: readonly string[];
  arm(ctx: ScenarioContext): unknown;
  disarm(ctx: ScenarioContext): unknown;
  /** Evidence that it fired: one sentence each; none = it never did. */
  fired(ctx: ScenarioContext): string[];
  /**
   * Crashes drawn per call are armed for the whole load (as the single crash scenarios do): in the fault
   * window alone too few calls would meet them.
   */
  readonly wholeLoad?: boolean;
}

/** One kind of fault of the catalogue; regional kinds are made for one remote region. */
export interface FaultKind {
  readonly kind: string;
  readonly regional: boolean;
  make(region: string): Fault;
}

const seedOf = (ctx: ScenarioContext, purpose: string) => Math.floor(ctx.random(purpose)() * 2 ** 31);
const some = (n: number, what: string) => (n > 0 ? [`${n} ${what}`] : []);

/** A rule on one proxy, armed and removed by its own id. */
function ruled(
  name: string,
  targets: readonly string[],
  on: (ctx: ScenarioContext) => ReturnType<typeof proxy>,
  rule: (ctx: ScenarioContext) => Parameters<ReturnType<typeof proxy>['rules']['add']>[0],
  fired: Fault['fired'],
): Fault {
  let id: string | undefined;
  return {
    name,
    targets,
    arm: (ctx) => void (id = on(ctx).rules.add(rule(ctx))),
    disarm: (ctx) => void (id && on(ctx).rules.remove(id)),
    fired,
  };
}

const sqsTarget = (region: string) => `sqs ${region}`;
const dynamo = (ctx: ScenarioContext) => ctx.stack.faults.dynamodb;
const sfn = (ctx: ScenarioContext) => ctx.stack.faults.stepFunctions;

export const CATALOGUE: readonly FaultKind[] = [
  {
    kind: 'region refuses sends',
    regional: true,
    make: (r) =>
      ruled(`${r} refuses sends (400)`, [sqsTarget(r)], (ctx) => proxy(ctx, r), () => ({ name: 'refuse sends', actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' }), (ctx) =>
        some(sendFaults(ctx, r, 'error'), `SendMessageBatch calls to ${r} refused`),
      ),
  },
  {
    kind: 'region hangs',
    regional: true,
    make: (r) =>
      ruled(
        `${r} hangs`,
        [sqsTarget(r)],
        (ctx) => proxy(ctx, r),
        () => ({ name: 'hang', actions: ['SendMessageBatch', 'ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility'], mode: 'hang' }),
        (ctx) => some(sendFaults(ctx, r, 'hang'), `SendMessageBatch calls to ${r} held unanswered`),
      ),
  },
  {
    kind: 'region slow',
    regional: true,
    make: (r) =>
      ruled(`${r} answers sends 1 s late`, [sqsTarget(r)], (ctx) => proxy(ctx, r), () => ({ name: 'slow sends', actions: ['SendMessageBatch'], mode: 'delay', ms: 1000 }), (ctx) =>
        some(faults(proxy(ctx, r), { action: 'SendMessageBatch', mode: 'delay' }).filter((f) => f.applied).length, `SendMessageBatch calls to ${r} applied 1 s late`),
      ),
  },
  {
    kind: 'region loses answers',
    regional: true,
    make: (r) =>
      ruled(
        `${r} loses send answers (p 0.6)`,
        [sqsTarget(r)],
        (ctx) => proxy(ctx, r),
        (ctx) => ({ name: 'lose answers', actions: ['SendMessageBatch'], mode: 'lose-answer', then: 'reset', probability: 0.6, seed: seedOf(ctx, `lose answers ${r}`) }),
        (ctx) => some(sendFaults(ctx, r, 'lose-answer'), `SendMessageBatch calls applied by ${r} with the answer lost`),
      ),
  },
  {
    kind: 'region down',
    regional: true,
    make: (r) => ({
      name: `${r} down`,
      targets: [sqsTarget(r)],
      arm: (ctx) => proxy(ctx, r).setDown(true),
      disarm: (ctx) => proxy(ctx, r).setDown(false),
      fired: (ctx) => some(refusedByDown(ctx, r), `depth readings or forwards refused by ${r}`),
    }),
  },
  {
    kind: 'DynamoDB throttling',
    regional: false,
    make: () =>
      ruled(
        'DynamoDB throttles writes (p 0.5)',
        ['dynamodb'],
        dynamo,
        (ctx) => ({ name: 'throttle writes', actions: ['PutItem', 'UpdateItem', 'DeleteItem'], mode: 'error', error: 'throttle', probability: 0.5, seed: seedOf(ctx, 'throttle writes') }),
        (ctx) => some(faults(dynamo(ctx), { mode: 'error' }).length, 'DynamoDB writes throttled'),
      ),
  },
  {
    kind: 'DynamoDB down',
    regional: false,
    make: () => ({
      name: 'DynamoDB down',
      targets: ['dynamodb'],
      arm: (ctx) => dynamo(ctx).setDown(true),
      disarm: (ctx) => dynamo(ctx).setDown(false),
      fired: (ctx) => some(claims(ctx, 'error'), 'claims that found the table unavailable'),
    }),
  },
  {
    kind: 'DynamoDB loses answers',
    regional: false,
    make: () =>
      ruled(
        'DynamoDB loses write answers (p 0.3)',
        ['dynamodb'],
        dynamo,
        (ctx) => ({ name: 'lose write answers', actions: ['PutItem', 'UpdateItem', 'DeleteItem'], mode: 'lose-answer', then: 'error', probability: 0.3, seed: seedOf(ctx, 'dynamodb answers') }),
        (ctx) => some(appliedLost(dynamo(ctx)), 'DynamoDB writes applied with the answer lost'),
      ),
  },
  {
    kind: 'executions throttled',
    regional: false,
    make: () =>
      ruled(
        'StartSyncExecution throttled (p 0.8)',
        ['stepfunctions'],
        sfn,
        (ctx) => ({ name: 'throttle starts', actions: ['StartSyncExecution'], mode: 'error', error: 'throttle', probability: 0.8, seed: seedOf(ctx, 'sfn throttle') }),
        (ctx) => some(faults(sfn(ctx), { action: 'StartSyncExecution', mode: 'error' }).length, 'StartSyncExecution calls throttled'),
      ),
  },
  {
    kind: 'execution answers lost',
    regional: false,
    make: () =>
      ruled(
        'StartSyncExecution answers lost (p 0.5)',
        ['stepfunctions'],
        sfn,
        (ctx) => ({ name: 'lose execution answers', actions: ['StartSyncExecution'], mode: 'lose-answer', then: 'error', probability: 0.5, seed: seedOf(ctx, 'sfn answers') }),
        (ctx) => some(appliedLost(sfn(ctx), 'StartSyncExecution'), 'executions run with their answer lost'),
      ),
  },
  {
    kind: 'forward crashes',
    regional: false,
    make: () => ({
      name: 'forwards crash after sending (p 0.3)',
      wholeLoad: true,
      targets: ['forward'],
      arm: (ctx) => void (ctx.hooks.forwardCrash = { probability: 0.3, random: ctx.random('forward crash') }),
      disarm: (ctx) => void (ctx.hooks.forwardCrash = undefined),
      fired: (ctx) => some(ctx.hooks.crashes().forward, 'forwards crashed after sending'),
    }),
  },
  {
    kind: 'intake crashes',
    regional: false,
    make: () => ({
      name: 'the intake crashes on first deliveries (p 0.3)',
      wholeLoad: true,
      targets: ['intake'],
      // First deliveries only: a message meets at most one crash (three in a row are a poison message, by design).
      arm: (ctx) => void (ctx.hooks.intakeCrash = { probability: 0.3, random: ctx.random('intake crash'), firstDeliveriesOnly: true }),
      disarm: (ctx) => void (ctx.hooks.intakeCrash = undefined),
      fired: (ctx) => some(intakeCrashes(ctx).length, 'intake invocations crashed'),
    }),
  },
  {
    kind: 'worker crashes',
    regional: false,
    make: () => ({
      name: 'workers die while processing (p 0.2, once per copy)',
      wholeLoad: true,
      targets: ['workers'],
      arm: (ctx) => {
        const random = ctx.random('worker crash');
        const crashed = new Set<string>();
        ctx.setWorkerCrash((copy) => {
          const id = copy.token ?? copy.messageId;
          if (crashed.has(id) || random() >= 0.2) return false;
          crashed.add(id);
          return true;
        });
      },
      disarm: (ctx) => ctx.setWorkerCrash(undefined),
      fired: (ctx) => some(workerCrashes(ctx), 'workers died while processing'),
    }),
  },
  {
    kind: 'DLQ answers lost',
    regional: false,
    make: () => {
      const ids: string[] = [];
      const queueUrl = (ctx: ScenarioContext) => ctx.stack.description.regions.find((r) => r.region === 'us-east-1')?.queueUrl ?? '';
      return {
        name: 'every region refuses sends and the dispatch DLQ loses its answers',
        targets: ['us-east-1', ...REMOTE].map(sqsTarget),
        arm: async (ctx) => {
          const east = proxy(ctx, 'us-east-1');
          const url = queueUrl(ctx);
          const dlqUrl = ctx.stack.description.dispatchDeadLetterQueueUrl;
          ids.push(east.rules.add({ name: 'refuse regional sends', actions: ['SendMessageBatch'], mode: 'error', error: 'throttle', when: (body) => (body as { QueueUrl?: string })?.QueueUrl === url }));
          ids.push(east.rules.add({ name: 'lose DLQ answers', actions: ['SendMessage'], mode: 'lose-answer', then: 'error', when: (body) => (body as { QueueUrl?: string })?.QueueUrl === dlqUrl }));
          await Promise.all(REMOTE.map((r) => proxy(ctx, r).setDown(true)));
        },
        disarm: async (ctx) => {
          for (const id of ids.splice(0)) proxy(ctx, 'us-east-1').rules.remove(id);
          await Promise.all(REMOTE.map((r) => proxy(ctx, r).setDown(false)));
        },
        fired: (ctx) => {
          const lost = appliedLost(proxy(ctx, 'us-east-1'), 'SendMessage');
          return lost && releasedUndeliverable(ctx) ? [`${lost} dead-letter sends applied with the answer lost`] : [];
        },
      };
    },
  },
];

/**
 * Two or three faults (the count drawn too), kinds drawn without replacement, a regional kind for a
 * remote region whose proxy no drawn fault holds yet. Pure: the same draws give the same mix.
 */
export function drawMix(random: Random, catalogue: readonly FaultKind[] = CATALOGUE): Fault[] {
  const count = random() < 0.5 ? 2 : 3;
  const shuffle = <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  };
  const taken = new Set<string>();
  const mix: Fault[] = [];
  for (const kind of shuffle(catalogue)) {
    if (mix.length === count) break;
    const candidates = kind.regional ? shuffle(REMOTE).map((r) => kind.make(r)) : [kind.make('')];
    const fault = candidates.find((f) => f.targets.every((t) => !taken.has(t)));
    if (!fault) continue;
    fault.targets.forEach((t) => taken.add(t));
    mix.push(fault);
  }
  return mix;
}
