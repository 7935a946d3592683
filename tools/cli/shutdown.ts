/**
 * Ctrl-C, counted by presses. One press can reach the CLI more than once: the terminal signals the whole
 * foreground process group, and the wrappers in it pass the signal on as well: `npm run` forwards every
 * SIGINT it gets to its child (and a tsx binary, where one runs the CLI, relays one more when the child
 * has not reported it within 30 ms, then SIGKILLs it 30 ms later: so package.json runs the CLI with
 * `node --import tsx`, no tsx binary in between). So signals that come
 * less than PRESS_WINDOW_MS after the first of a burst are one press; presses a person makes a fifth of
 * a second apart still count as two.
 *
 * For a command that serves until stopped (`up`): the first press asks it to stop; a second one, while
 * it is stopping, does not cut the stop short (Node's default would kill the process mid-stop, leaving
 * .local/stack.json behind); it says what is happening and how to force the exit; a third one forces it:
 * the `force` cleanup runs (the state file is removed), then the process exits 130.
 */
/** Signals closer than this to the first of their burst are copies of one press (milliseconds). */
export const PRESS_WINDOW_MS = 150;

/**
 * The window in force: PRESS_WINDOW_MS, or DISPATCH_PRESS_WINDOW_MS when set to a whole number of ms (0: every
 * signal is a press, for a caller that sends signals itself, one per press, as a test does).
 */
export function pressWindowMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DISPATCH_PRESS_WINDOW_MS?.trim();
  return raw && /^\d+$/.test(raw) ? Number(raw) : PRESS_WINDOW_MS;
}

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface StopOnSignalsOptions {
  /** Runs before a forced exit; must be synchronous (the process exits right after). */
  readonly force?: () => void;
  readonly what?: string;
  readonly signals?: readonly NodeJS.Signals[];
  readonly source?: SignalSource;
  readonly log?: (line: string) => void;
  readonly exit?: (code: number) => void;
  /** Signals within this many ms of the first of a burst count as one press (default PRESS_WINDOW_MS). */
  readonly windowMs?: number;
  /** The clock (ms), for tests. */
  readonly now?: () => number;
}

export interface PressOptions {
  readonly signals?: readonly NodeJS.Signals[];
  readonly source?: SignalSource;
  readonly windowMs?: number;
  readonly now?: () => number;
}

/**
 * Calls `onPress` once per Ctrl-C press (PRESS_WINDOW_MS above), with the press's number (1, 2, ...) and
 * the signal; returns a function that removes the handlers (a later Ctrl-C is Node's again).
 */
export function onPresses(onPress: (press: number, signal: NodeJS.Signals) => void, options: PressOptions = {}): () => void {
  const source = options.source ?? process;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const windowMs = options.windowMs ?? pressWindowMs();
  const now = options.now ?? (() => performance.now());
  let presses = 0;
  let burstStart = Number.NEGATIVE_INFINITY;
  const handler = (signal: NodeJS.Signals) => {
    const t = now();
    if (t - burstStart < windowMs) return; // another copy of the press at hand
    burstStart = t;
    presses++;
    onPress(presses, signal);
  };
  for (const signal of signals) source.on(signal, handler);
  return () => {
    for (const signal of signals) source.removeListener(signal, handler);
  };
}

/**
 * For a command that works message by message (`redrive`, `rebalance`): the first Ctrl-C aborts
 * `controller` (the message at hand is finished, what is held released); the second quits at once, after
 * saying what that may leave (`leftAtOnce`). Returns a function that removes the handlers.
 */
export function abortOnPress(controller: AbortController, leftAtOnce: string, write = (text: string) => void process.stderr.write(text)): () => void {
  return onPresses(
    (press) => {
      if (press === 1) {
        write('\ninterrupted: finishing the message at hand, then releasing what is held (Ctrl-C again to quit at once)\n');
        controller.abort();
      } else {
        write(`\nCtrl-C again: quitting at once; ${leftAtOnce}\n`);
        process.exit(130);
      }
    },
    { signals: ['SIGINT'] },
  );
}

export interface SignalGuard {
  /** Resolves at the first signal, with its name. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Signals received so far. */
  readonly count: number;
  /**
   * The stop is done and the process is about to end: later signals are taken quietly (Node's default
   * would turn a clean exit 0 into a death by signal in the moment before the process ends).
   */
  finished(): void;
  /** Removes the handlers (a later Ctrl-C is Node's again). */
  dispose(): void;
}

export function stopOnSignals(options: StopOnSignalsOptions = {}): SignalGuard {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const what = options.what ?? 'the stack';
  let count = 0;
  let done = false;
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((done) => (resolve = done));
  const dispose = onPresses(
    (press, signal) => {
      if (done) return;
      count = press;
      if (press === 1) {
        resolve(signal);
      } else if (press === 2) {
        log(`\n${signal} again: still stopping ${what} (closing its servers, then removing its state file); press Ctrl-C once more to force the exit now`);
      } else {
        try {
          options.force?.();
        } finally {
          log(`\n${signal} a third time: forced exit; ${what} did not finish stopping (its ports are freed as the process ends)`);
          exit(130);
        }
      }
    },
    {
      ...(options.signals ? { signals: options.signals } : {}),
      ...(options.source ? { source: options.source } : {}),
      ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
      ...(options.now ? { now: options.now } : {}),
    },
  );
  return {
    requested,
    get count() {
      return count;
    },
    finished() {
      done = true;
    },
    dispose,
  };
}
