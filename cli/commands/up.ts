/** `up`: start the local stack and keep it running until Ctrl-C. */
import { Command, Option } from 'commander';
import { DEFAULT_REGIONS } from '../../core/topology.js';
import { startLocalStack, type StackDescription } from '../../local/stack.js';
import { positiveInt, nonNegativeInt, port, seconds } from '../options.js';
import { removeStackFile, STACK_FILE, writeStackFile } from '../stack-file.js';

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

export function describeStack(d: StackDescription): string {
  const lines = [
    `DynamoDB         ${d.endpoints.dynamodb}   table ${d.tableName}`,
    `Step Functions   ${d.endpoints.stepFunctions}   ${d.stateMachineArn}`,
    `master queue     ${d.masterQueueUrl}`,
    `master DLQ       ${d.masterDeadLetterQueueUrl}`,
    `dispatch DLQ     ${d.dispatchDeadLetterQueueUrl}`,
    ...d.regions.map((r) => `${r.region.padEnd(16)} ${r.queueUrl}   (SQS ${d.endpoints.sqs[r.region]}, capacity ${r.capacity})`),
  ];
  return lines.join('\n');
}

export function upCommand(): Command {
  return stackOptions(new Command('up').description('start the local stack (DynamoDB, SQS per region, Step Functions, intake, workers)')).action(
    async (options: StackFlags) => {
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
      writeStackFile(stack.description);
      console.log('local stack running (127.0.0.1 only)\n');
      console.log(describeStack(stack.description));
      console.log(`\nendpoints written to ${STACK_FILE}; in another terminal:`);
      console.log('  npm run cli -- send --count 30        # the producer');
      console.log('  npm run cli -- executions             # dispatch executions');
      console.log('  npm run cli -- consume                # drain regional queues, print the distribution');
      console.log('\nCtrl-C stops the stack.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      console.log('\nstopping ...');
      await stack.stop();
      removeStackFile();
      console.log('stopped');
    },
  );
}
