/**
 * Progress on long work: a cli-progress bar on a terminal; on a pipe or in CI, a plain line now and then
 * (bars redrawn in a log are noise).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

export function progress(label: string, total: number): Progress {
  if (process.stdout.isTTY && total > 1) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {eta_formatted}`, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (value, extra) => bar.update(value, extra), stop: () => bar.stop() };
  }
  let lastLine = 0;
  return {
    update(value) {
      if (total > 1 && (Date.now() - lastLine > 2000 || value === total)) {
        lastLine = Date.now();
        console.log(`${label} ${value}/${total}`);
      }
    },
    stop() {},
  };
}
