import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve('bin/motionguard.mjs');
const run = promisify(execFile);

describe('motionguard serve', () => {
  it('listens, prints where, becomes ready with the shipped model, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--workers', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 110_000;
      while (!/motionguard: ready/.test(stderr)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not become ready:\n${stderr.slice(0, 2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const url = stderr.match(/listening on (http:\/\/\S+)/)![1]!;
      expect(stderr).toContain(`${url.replace('http', 'ws')}/v1/ingest`);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/motionguard_active_avatars 0/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/motionguard: stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses an invalid configuration with a clear message', async () => {
    const failed = await run(process.execPath, [BIN, 'serve', '--port', 'eighty', '--tick-ms', '1'], { env: { ...process.env, MOTIONGUARD_MAX_AVATARS: '0' } }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect('code' in failed && failed.code).toBe(1);
    expect(failed.stderr).toMatch(/invalid configuration/);
    expect(failed.stderr).toMatch(/--port: must be an integer in \[0, 65535\], got 'eighty'/);
    expect(failed.stderr).toMatch(/--tick-ms: must be an integer in \[5, 60000\]/);
    expect(failed.stderr).toMatch(/MOTIONGUARD_MAX_AVATARS: must be an integer/);
  });

  it('rejects unknown flags as usage errors', async () => {
    const failed = await run(process.execPath, [BIN, 'serve', '--prot', '1']).catch((error: { code: number; stderr: string }) => error);
    expect('code' in failed && failed.code).toBe(2);
    expect(failed.stderr).toMatch(/usage: .*--prot/);
  });
});
