#!/usr/bin/env node
// The `dispatch` bin: runs the TypeScript CLI through tsx's loader (no build step). The Node version is
// checked first, before anything that needs a newer Node is loaded (hence the dynamic imports).
import { requireSupportedNode } from './node-version.mjs';

requireSupportedNode();
const { register } = await import('tsx/esm/api');
register();
await import('./main.ts');
