/** `up`: start the local stack and keep it running until Ctrl-C. */
import { Command, Option } from 'commander';
import { DEFAULT_REGIONS } from '../../../core/topology.js';
import { startConsole, type ConsoleServer } from '../../console/server.js';
import { workerFleet, type WorkerFleet } from '../../local/fleet/fleet.js';
import { startLocalStack, type LocalStack, type StackDescription } from '../../local/stack.js';
import { positiveInt, nonNegativeInt, port, seconds } from '../options.js';
import { stopOnSignals } from '../shutdown.js';
import { claimStackFile, removeStackFile, STACK_FILE, writeStackFile } from '../stack-file.js';

export interface StackFlags {
  port: number;
  workers: number;
  secondsPerRequest: number;
  pollers: number;
  visibilityTimeout: number;
  logLevel: string;
  policy: 'least-wait' | 'seed-inverse';
}

export const stackOptions = (command: Command) =>
  command
    .option('--port <n>', 'first port (the servers take the next few); 0 picks free ports', port, 0)
    .option('--workers <n>', 'simulated GPU workers per region; 0 leaves requests in the queues for `consume`', nonNegativeInt('--workers'), 0)
    .option('--seconds-per-request <s>', 'inference time of one request on one worker', seconds('--seconds-per-request'), 0.5)
    .option('--pollers <n>', 'concurrent pollers of the master queue (intake concurrency)', positiveInt('--pollers', 50), 2)
    .option('--visibility-timeout <s>', 'master queue visibility timeout (retried messages return after it)', positiveInt('--visibility-timeout', 43_200), 10)
    .addOption(new Option('--log-level <level>', "the functions' log level (their JSON logs go to this terminal)").choices(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('SILENT'))
    .addOption(new Option('--policy <name>', 'selection policy').choices(['least-wait', 'seed-inverse']).default('least-wait'));

export interface ConsoleFlags {
  /** false with --no-console. */
  console: boolean;
  consolePort?: number;
}

export const consoleOptions = (command: Command) =>
  command
    .option('--console-port <n>', "the web console's port (default: the one after the servers' with --port, else any free port)", port)
    .option('--no-console', 'do not serve the web console');

/**
 * The web console of a running stack (local/console), on 127.0.0.1: on --console-port, else on the port
 * after the servers' when they were given one (--port), else on any free port. A console that cannot
 * start stops the stack with it. With `workers`, the console scales them (/api/workers, `workers set`).
 */
export async function startStackConsole(stack: LocalStack, flags: ConsoleFlags, basePort = 0, workers?: WorkerFleet): Promise<ConsoleServer | undefined> {
  if (!flags.console) return undefined;
  const next = basePort ? basePort + 2 + Object.keys(stack.sqsServers).length : 0;
  try {
    return await startConsole({ description: stack.description, port: flags.consolePort ?? next, ...(workers ? { workers } : {}) });
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

export const consoleLine = (server: ConsoleServer) => `web console      ${server.url}`;

export function describeStack(d: StackDescription): string {
  const lines = [
    `DynamoDB         ${d.endpoints.dynamodb}   table ${d.tableName}`,
    `Step Functions   ${d.endpoints.stepFunctions}   ${d.stateMachineArn}`,
    `master queue     ${d.masterQueueUrl}`,
    `master DLQ       ${d.masterDeadLetterQueueUrl}`,
    ...(d.masterHighQueueUrl ? [`master high lane ${d.masterHighQueueUrl}   (send --priority high)`] : []),
    `dispatch DLQ     ${d.dispatchDeadLetterQueueUrl}`,
    ...d.regions.flatMap((r) => [
      `${r.region.padEnd(16)} ${r.queueUrl}   (SQS ${d.endpoints.sqs[r.region]}, capacity ${r.capacity})`,
      ...(r.highQueueUrl ? [`${''.padEnd(16)} ${r.highQueueUrl}   (high lane)`] : []),
    ]),
  ];
  return lines.join('\n');
}

export function upCommand(): Command {
  return consoleOptions(stackOptions(new Command('up').description('start the local stack (DynamoDB, SQS per region, Step Functions, intake, workers) and its web console'))).action(
    async (options: StackFlags & ConsoleFlags) => {
      // One stack per folder: claim its state file first (refused while another live stack owns it).
      const claim = await claimStackFile();
      if (claim.note) console.log(claim.note);
      // From now on Ctrl-C stops the stack cleanly; a second one does not cut the stop short.
      const signals = stopOnSignals({ force: () => removeStackFile() });
      const stack = await startLocalStack({
        basePort: options.port,
        masterVisibilitySeconds: options.visibilityTimeout,
        env: { logLevel: options.logLevel, policy: options.policy },
        pollers: options.pollers,
        workers: Object.fromEntries(
          DEFAULT_REGIONS.map((r) => [r.region, { workers: options.workers, secondsPerRequest: options.secondsPerRequest }]),
        ),
        regions: DEFAULT_REGIONS.map((r) => ({ ...r, capacity: Math.max(1, options.workers) })),
      });
      // The simulated workers, scalable per region while the stack runs (`workers set`, through the console).
      const fleet = workerFleet(stack, { secondsPerRequest: options.secondsPerRequest });
      const web = await startStackConsole(stack, options, options.port, fleet);
      writeStackFile({ ...stack.description, ...(web ? { consoleUrl: web.url } : {}) });
      console.log('local stack running (127.0.0.1 only)\n');
      console.log(describeStack(stack.description));
      if (web) console.log(consoleLine(web));
      console.log(`\nendpoints written to ${STACK_FILE}; in another terminal:`);
      console.log('  npm run cli -- send --count 30        # the producer');
      console.log('  npm run cli -- executions             # dispatch executions');
      console.log('  npm run cli -- consume                # drain regional queues, print the distribution');
      if (web) console.log('  npm run cli -- workers list           # simulated workers; `workers set REGION N` scales them');
      if (web) console.log(`  open ${web.url}        # the web console`);
      console.log('\nCtrl-C stops the stack.');
      await signals.requested;
      console.log('\nstopping ... (Ctrl-C again does not interrupt this)');
      await web?.stop();
      await fleet.stop();
      await stack.stop();
      removeStackFile();
      signals.finished();
      console.log('stopped');
    },
  );
}
