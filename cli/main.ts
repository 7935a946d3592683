#!/usr/bin/env node
/** The operator's tool: one bin, one subcommand per job. `npm run cli -- --help` lists them. */
import { Command, CommanderError } from 'commander';
import { consumeCommand } from './commands/consume.js';
import { demoCommand } from './commands/demo.js';
import { dlqCommand } from './commands/dlq.js';
import { executionsCommand, inspectCommand } from './commands/executions.js';
import { invokeCommand } from './commands/invoke.js';
import { redriveCommand } from './commands/redrive.js';
import { sendCommand } from './commands/send.js';
import { statusCommand } from './commands/status.js';
import { upCommand } from './commands/up.js';

const program = new Command('dispatch')
  .description('multi-region inference dispatch: run it locally, feed it, watch it, inspect it')
  .showHelpAfterError('(add --help for usage)')
  .addCommand(demoCommand())
  .addCommand(upCommand())
  .addCommand(sendCommand())
  .addCommand(consumeCommand())
  .addCommand(executionsCommand())
  .addCommand(inspectCommand())
  .addCommand(statusCommand())
  .addCommand(invokeCommand())
  .addCommand(dlqCommand())
  .addCommand(redriveCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const err = error as Error;
  console.error(`error: ${err.message}`);
  if (process.env.DEBUG) console.error(err.stack);
  process.exit(1);
}
