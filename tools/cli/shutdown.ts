/**
 * Ctrl-C for a command that serves until stopped (`up`): the first SIGINT or SIGTERM asks it to stop;
 * a second one, while it is stopping, does not cut the stop short (Node's default would kill the process
 * mid-stop, leaving .local/stack.json behind); it says what is happening and how to force the exit; a
 * third one forces it: the `force` cleanup runs (the state file is removed), then the process exits 130.
 */
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
  const source = options.source ?? process;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const what = options.what ?? 'the stack';
  let count = 0;
  let done = false;
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((done) => (resolve = done));
  const handler = (signal: NodeJS.Signals) => {
    if (done) return;
    count++;
    if (count === 1) {
      resolve(signal);
    } else if (count === 2) {
      log(`\n${signal} again: still stopping ${what} (closing its servers, then removing its state file); press Ctrl-C once more to force the exit now`);
    } else {
      try {
        options.force?.();
      } finally {
        log(`\n${signal} a third time: forced exit; ${what} did not finish stopping (its ports are freed as the process ends)`);
        exit(130);
      }
    }
  };
  for (const signal of signals) source.on(signal, handler);
  return {
    requested,
    get count() {
      return count;
    },
    finished() {
      done = true;
    },
    dispose() {
      for (const signal of signals) source.removeListener(signal, handler);
    },
  };
}
