// Worker bootstrap: the worker runs TypeScript sources through tsx, like the CLI.
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

registerCjs();
registerEsm();
await import('./streaming-worker.ts');
