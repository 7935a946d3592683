/** The operator's tool: one bin, one subcommand per job. `npm run cli -- --help` lists them. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { capacityCommand } from './commands/capacity.js';
import { consoleCommand } from './commands/console.js';
import { consumeCommand } from './commands/consume.js';
import { demoCommand } from './commands/demo.js';
import { dlqCommand } from './commands/dlq.js';
import { executionsCommand, inspectCommand } from './commands/executions.js';
import { invokeCommand } from './commands/invoke.js';
import { metricsCommand } from './commands/metrics.js';
import { rebalanceCommand } from './commands/rebalance.js';
import { redriveCommand } from './commands/redrive.js';
import { sendCommand } from './commands/send.js';
import { smokeCommand } from './commands/smoke.js';
import { statusCommand } from './commands/status.js';
import { upCommand } from './commands/up.js';
import { workersCommand } from './commands/workers.js';

/** The project's version, from package.json. */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function program(): Command {
  return new Command('dispatch')
    .description('multi-region inference dispatch: run it locally, feed it, watch it, inspect it')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .addCommand(demoCommand())
    .addCommand(upCommand())
    .addCommand(sendCommand())
    .addCommand(consumeCommand())
    .addCommand(executionsCommand())
    .addCommand(inspectCommand())
    .addCommand(statusCommand())
    .addCommand(metricsCommand())
    .addCommand(invokeCommand())
    .addCommand(dlqCommand())
    .addCommand(redriveCommand())
    .addCommand(rebalanceCommand())
    .addCommand(capacityCommand())
    .addCommand(workersCommand())
    .addCommand(smokeCommand())
    .addCommand(consoleCommand());
}

export async function run(argv: readonly string[]): Promise<void> {
  try {
    await program().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    const err = error as Error;
    console.error(`error: ${err.message}`);
    if (process.env.DEBUG) console.error(err.stack);
    process.exit(1);
  }
}
