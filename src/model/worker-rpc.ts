/**
 * Request/response over one worker thread: each request gets an id, each response names it,
 * and a worker that dies rejects everything still pending. Used by the offline terms pool
 * and the streaming pool (each worker owns a wasm instance: wasm threads do not work in Node).
 */
import { Worker } from 'node:worker_threads';

export type WorkerReply<Result> = { readonly id: number; readonly result: Result } | { readonly id: number; readonly error: string };

export class WorkerRpc<Request extends object, Result> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(script: URL, workerData: unknown, label: string) {
    this.worker = new Worker(script, { workerData });
    this.worker.on('message', (reply: WorkerReply<Result>) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiter.reject(new Error(`${label}: ${reply.error}`));
      else waiter.resolve(reply.result);
    });
    this.worker.on('error', (error) => {
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  /** Sends `request` (with an id added) and resolves with the worker's result. */
  call(request: Request): Promise<Result> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
