/**
 * Progress on stderr, for commands whose stdout is their result (a report, or JSON): a cli-progress bar
 * when stderr is a terminal, else a plain line every few seconds (so nothing for a short run).
 * The total is an estimate (SQS's approximate counts) and grows when the count passes it.
 */
import cliProgress from 'cli-progress';

export interface StderrProgress {
  update(value: number, estimate?: number): void;
  stop(): void;
}

export function stderrProgress(label: string): StderrProgress {
  let total = 1;
  const grow = (value: number, estimate = 0) => {
    const next = Math.max(total, value, estimate);
    const changed = next !== total;
    total = next;
    return changed;
  };
  if (process.stderr.isTTY) {
    let bar: cliProgress.SingleBar | undefined;
    return {
      update(value, estimate) {
        if (grow(value, estimate)) bar?.setTotal(total);
        if (!bar) {
          bar = new cliProgress.SingleBar(
            { format: `${label} [{bar}] {value}/{total}`, hideCursor: true, clearOnComplete: true, stream: process.stderr },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, value);
        }
        bar.update(value);
      },
      stop: () => bar?.stop(),
    };
  }
  let last = Date.now();
  return {
    update(value, estimate) {
      grow(value, estimate);
      if (Date.now() - last >= 2000) {
        last = Date.now();
        process.stderr.write(`${label} ${value} (about ${total})\n`);
      }
    },
    stop() {},
  };
}

export interface StderrStepProgress {
  /** Progress of the step named `label`; a new label ends the previous step's bar and starts its own. */
  update(label: string, value: number, estimate?: number): void;
  stop(): void;
}

/** One bar per step of an operation that reads several things in turn (DLQs, then executions, ...). */
export function stderrStepProgress(): StderrStepProgress {
  let current: { label: string; bar: StderrProgress } | undefined;
  return {
    update(label, value, estimate) {
      if (current?.label !== label) {
        current?.bar.stop();
        current = { label, bar: stderrProgress(label) };
      }
      current.bar.update(value, estimate);
    },
    stop() {
      current?.bar.stop();
      current = undefined;
    },
  };
}
