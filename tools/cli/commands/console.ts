/**
 * `console`: the web console, on 127.0.0.1, of the running local stack (its stack file), or of a
 * deployed stage (--stage), read through the stage's own services: executions from the state machine's
 * log group, queues and DLQs through SQS without consuming, records from the table. On a stage it is
 * read-only unless started with --allow-redrive. Serves until Ctrl-C.
 */
import { Command } from 'commander';
import { startConsole, type ConsoleServer } from '../../console/server.js';
import { helpText } from '../layout.js';
import { awsOptions, port, positiveInt } from '../options.js';
import { onPresses } from '../shutdown.js';
import { readStackFile, STACK_FILE } from '../stack-file.js';
import { awsTarget } from '../target.js';
import { consoleLine } from './up.js';

interface ConsoleCommandFlags {
  port: number;
  allowRedrive?: boolean;
  hours: number;
  max: number;
  stage?: string;
  app?: string;
  profile?: string;
  region?: string;
}

const HELP = `
Without --stage it serves the local stack running in this folder (\`npm run cli -- up\`), which it may
change as the stack's own console does. With --stage it reads the stage's own services, and needs
these permissions: logs:StartQuery, logs:GetQueryResults, logs:FilterLogEvents on the state machine's
log group; sqs:ReceiveMessage, sqs:ChangeMessageVisibility, sqs:GetQueueAttributes on its queues;
dynamodb:GetItem, dynamodb:BatchGetItem on its table; states:DescribeStateMachine;
cloudwatch:GetMetricData (the Regions page's figures, a point a minute).
It moves nothing there unless started with --allow-redrive (then also sqs:SendMessage,
sqs:DeleteMessage and dynamodb:UpdateItem, as \`redrive\` needs).`;

/** The console this command serves, started on the flags' target. */
export async function startCommandConsole(flags: ConsoleCommandFlags): Promise<{ server: ConsoleServer; what: string }> {
  if (!flags.stage) {
    if (flags.allowRedrive) {
      throw new Error("--allow-redrive is for a deployed stage (--stage): the local stack's console always may move messages");
    }
    const description = readStackFile(STACK_FILE, ' (or use --stage for a deployed stage)');
    return { server: await startConsole({ description, port: flags.port }), what: 'the local stack' };
  }
  const target = await awsTarget({ stage: flags.stage, ...(flags.app ? { app: flags.app } : {}), ...(flags.profile ? { profile: flags.profile } : {}), ...(flags.region ? { region: flags.region } : {}) });
  const server = await startConsole({
    target,
    stage: flags.stage,
    ...(flags.app ? { app: flags.app } : {}),
    allowRedrive: Boolean(flags.allowRedrive),
    hours: flags.hours,
    maxExecutions: flags.max,
    port: flags.port,
  });
  const mode = flags.allowRedrive ? 'redrive allowed' : 'read-only: --allow-redrive to move messages';
  return { server, what: `stage ${flags.stage} in ${target.homeRegion} (${mode})` };
}

export function consoleCommand(): Command {
  const command = new Command('console')
    .description('serve the web console of the running local stack, or of a deployed stage (--stage; read-only unless --allow-redrive)')
    .option('--port <n>', "the console's port on 127.0.0.1 (0: any free port)", port, 0)
    .option('--allow-redrive', "on a stage: let the Dead letters page move messages back to the master queue")
    .option('--hours <n>', "on a stage: how far back the state machine's log group is read", positiveInt('--hours', 24 * 14), 1)
    .option('--max <n>', 'on a stage: how many of the newest executions are listed (each is read from its log events)', positiveInt('--max', 1000), 50)
    .addHelpText('after', helpText(HELP));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (flags: ConsoleCommandFlags) => {
    const { server, what } = await startCommandConsole(flags);
    console.log(`console of ${what}`);
    console.log(consoleLine(server));
    console.log('\nCtrl-C stops it.');
    // The first press stops the console (a quick close); a second one, if the close hangs, quits at once.
    let dispose = () => {};
    await new Promise<void>((resolve) => {
      dispose = onPresses((press) => {
        if (press === 1) return resolve();
        process.stderr.write('\nCtrl-C again: quitting at once\n');
        process.exit(130);
      });
    });
    await server.stop();
    dispose();
    console.log('stopped');
  });
}
