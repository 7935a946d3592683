#!/usr/bin/env node
/**
 * The CLI's entry (`npm run cli`, tools/cli/bin.mjs, `tsx tools/cli/main.ts` from an IDE). The Node version is
 * checked before anything else is loaded: the commands import the local AWS servers, which need
 * node:sqlite (Node >= 22.12); on an older Node this says so in one line instead of crashing.
 */
import { requireSupportedNode } from './node-version.mjs';

requireSupportedNode();
const { run } = await import('./program.js');
await run(process.argv);
