#!/usr/bin/env node
// Runs the TypeScript sources through tsx so `npx motionguard` works right after `npm ci`.
// Both hooks are needed: tfjs-core's gradient files are extensionless ESM reached via require().
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

registerCjs();
registerEsm();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
