/**
 * The server under test, as its own child process: `node bin/motionguard.mjs serve` on a
 * free port, configured by flags and MOTIONGUARD_* variables exactly as a user would.
 * MOTIONGUARD_* variables of the benchmark's own environment are not passed on, so a
 * shell setting cannot silently change what is measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StreamingStrategy } from '../src/model/streaming.js';
import { parsePrometheus, type Scrape } from './prometheus.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO_ROOT, 'bin', 'motionguard.mjs');

export interface ServerSettings {
  readonly strategy: StreamingStrategy;
  readonly workers: number;
  readonly tickMs: number;
  readonly backend: string;
  /** null: the shipped model. */
  readonly modelDir: string | null;
  /** Node options placed before the script (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
}

export interface RunningServer {
  readonly pid: number;
  readonly url: string;
  /** The command line, for the report. */
  readonly command: string;
  readonly readyMs: number;
  exited(): boolean;
  scrape(): Promise<Scrape>;
  /** SIGTERM (graceful), SIGKILL after graceMs; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  stderrTail(): string;
}

export async function startServer(settings: ServerSettings, timeoutMs = 120_000): Promise<RunningServer> {
  const args = [BIN, 'serve', '--port', '0', '--workers', String(settings.workers), '--tick-ms', String(settings.tickMs), '--backend', settings.backend];
  if (settings.modelDir) args.push('--model', settings.modelDir);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MOTIONGUARD_')) env[key] = value;
  env.MOTIONGUARD_STRATEGY = settings.strategy;
  const started = performance.now();
  // stdout carries the JSON log (episodes at info level, as in production); nobody reads it here.
  const nodeArgs = settings.nodeArgs ?? [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const deadline = Date.now() + timeoutMs;
  while (!/motionguard: ready/.test(stderr)) {
    if (exitCode !== undefined) throw new Error(`the server exited (${exitCode}) before it was ready:\n${stderr.slice(-2000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server was not ready after ${timeoutMs} ms:\n${stderr.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const readyMs = performance.now() - started;
  const url = /listening on (http:\/\/\S+)/.exec(stderr)![1]!;
  const command = `MOTIONGUARD_STRATEGY=${settings.strategy} node ${[...nodeArgs, 'bin/motionguard.mjs', ...args.slice(1)].join(' ')}`;
  return {
    pid: child.pid!,
    url,
    command,
    readyMs,
    exited: () => exitCode !== undefined,
    async scrape() {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
      return parsePrometheus(await response.text());
    },
    async stop(graceMs = 10_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    stderrTail: () => stderr.slice(-2000),
  };
}
