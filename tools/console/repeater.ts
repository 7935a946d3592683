/**
 * A piece of work run now and again `intervalMs` after each run ends (never two at once), until
 * stop(), which waits for a run in flight. A run that fails is left to the work to record: the next
 * one comes all the same. The Regions page's samplers (console/queues.ts RegionSampler,
 * console/cloudwatch-figures.ts CloudWatchFigures) run on one.
 */
export class Repeater {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    const tick = () => {
      const running = this.work().then(
        () => undefined,
        () => undefined,
      );
      this.running = running;
      void running.then(() => {
        if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
