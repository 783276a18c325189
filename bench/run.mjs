#!/usr/bin/env node
// `npm run bench`: runs the TypeScript benchmark through tsx, as bin/motionguard.mjs does for the CLI.
// The same entry starts the benchmark's own child processes (load generators, offline runs),
// so every process it measures or drives is a separate Node process with its own event loop.
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

registerCjs();
registerEsm();
const [mode] = process.argv.slice(2);
if (mode === '__loadgen') {
  await import('./loadgen.ts');
} else if (mode === '__offline') {
  await import('./offline.ts');
} else {
  const { main } = await import('./main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
