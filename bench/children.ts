/**
 * The benchmark's own child processes (load generators, offline runs): `node bench/run.mjs
 * __<mode>` with an IPC channel, so each has its own process and event loop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './server-process.js';

const RUN = path.join(REPO_ROOT, 'bench', 'run.mjs');

export interface Child<In, Out> {
  readonly pid: number;
  send(message: In): void;
  /** The next message from the child; rejects if it exits first or sends `{type: 'error'}`. */
  next(timeoutMs?: number): Promise<Out>;
  kill(): void;
  readonly exited: Promise<number | null>;
}

export function startChild<In, Out extends { type: string }>(mode: 'loadgen' | 'offline'): Child<In, Out> {
  const child: ChildProcess = fork(RUN, [`__${mode}`], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: Out[] = [];
  const waiters: { resolve: (m: Out) => void; reject: (e: Error) => void }[] = [];
  let failure: Error | null = null;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const w of waiters.splice(0)) w.reject(failure);
  };
  child.on('message', (message: Out) => {
    if (message.type === 'error') return fail(new Error(`${mode} child: ${(message as unknown as { message: string }).message}`));
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message);
    else queue.push(message);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      // Messages sent just before exiting are delivered first; anything still awaited never comes.
      setImmediate(() => fail(new Error(`${mode} child exited (${code}) without answering`)));
      resolve(code);
    }),
  );
  return {
    pid: child.pid!,
    send: (message) => void child.send(message as object),
    next(timeoutMs = 600_000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      if (failure) return Promise.reject(failure);
      return new Promise<Out>((resolve, reject) => {
        const waiter = {
          resolve: (m: Out) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e: Error) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${mode} child: no answer after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    exited,
  };
}
