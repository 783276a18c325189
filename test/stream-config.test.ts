import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, envName, loadConfig, scoringOverrides, resolveConfig } from '../src/stream/config.js';

describe('config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'motionguard-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('defaults: port 8080, ticks of 100 ms, the protocol limits', () => {
    const config = resolveConfig({ env: {} });
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config).toMatchObject({ port: 8080, tickMs: 100, endAfterSeconds: 2, evictAfterSeconds: 10, minFrames: 30, maxMessageBytes: 1 << 20 });
  });

  it('merges defaults < file < environment < flags', () => {
    const config = resolveConfig({
      file: { name: 'c.json', values: { port: 9000, tickMs: 50, host: '0.0.0.0', model: 'models/x' } },
      env: { MOTIONGUARD_PORT: '9100', MOTIONGUARD_TICK_MS: '40', UNRELATED: 'x' },
      flags: { port: '9200' },
    });
    expect(config).toMatchObject({ port: 9200, tickMs: 40, host: '0.0.0.0', model: 'models/x' });
  });

  it('takes the hold and body priors as on, off or the model\'s (null), and nothing else', () => {
    expect(resolveConfig({ env: {} }).holdPrior).toBeNull();
    expect(scoringOverrides(resolveConfig({ env: {} }))).toEqual({ holdPrior: undefined, bodyPrior: undefined });
    const off = resolveConfig({ env: { MOTIONGUARD_HOLD_PRIOR: 'off', MOTIONGUARD_BODY_PRIOR: 'off' } });
    expect(off.holdPrior).toBe('off');
    expect(scoringOverrides(off)).toEqual({ holdPrior: false, bodyPrior: false });
    expect(scoringOverrides(resolveConfig({ file: { name: 'c.json', values: { holdPrior: 'on', bodyPrior: 'on' } }, env: {} }))).toEqual({ holdPrior: true, bodyPrior: true });
    expect(() => resolveConfig({ env: { MOTIONGUARD_HOLD_PRIOR: 'false' } })).toThrow(/MOTIONGUARD_HOLD_PRIOR: must be one of on, off/);
    expect(() => resolveConfig({ env: { MOTIONGUARD_BODY_PRIOR: 'no' } })).toThrow(/MOTIONGUARD_BODY_PRIOR: must be one of on, off/);
  });

  it('maps keys to environment names', () => {
    expect(envName('tickMs')).toBe('MOTIONGUARD_TICK_MS');
    expect(envName('maxAvatarsPerConnection')).toBe('MOTIONGUARD_MAX_AVATARS_PER_CONNECTION');
    expect(resolveConfig({ env: { MOTIONGUARD_MAX_AVATAR_ID_LENGTH: '64', MOTIONGUARD_LOG_LEVEL: 'warn' } })).toMatchObject({ maxAvatarIdLength: 64, logLevel: 'warn' });
  });

  it('rejects unknown keys and wrong values, naming each source, all at once', () => {
    let error: unknown;
    try {
      resolveConfig({
        file: { name: 'c.json', values: { prot: 1, tickMs: '100', backend: 'gpu', workers: null } },
        env: { MOTIONGUARD_PORT: 'eighty' },
        flags: { tickMs: '-5' },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/c\.json: unknown key 'prot'/);
    expect(message).toMatch(/c\.json: tickMs must be an integer in \[5, 60000\], got "100"/);
    expect(message).toMatch(/c\.json: backend must be one of tensorflow, wasm, cpu/);
    expect(message).toMatch(/MOTIONGUARD_PORT: must be an integer in \[0, 65535\], got 'eighty'/);
    expect(message).toMatch(/--tick-ms: must be an integer/);
    expect(message).not.toMatch(/workers must/); // null is allowed for workers
  });

  it('rejects a file that is not an object', () => {
    expect(() => resolveConfig({ file: { name: 'c.json', values: [1] } })).toThrow(/must hold a JSON object/);
  });

  it('loads a JSON file given by flag or by $MOTIONGUARD_CONFIG, with clear errors', async () => {
    const file = path.join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ port: 0, maxFramesPerMessage: 64 }));
    expect(await loadConfig({ configFile: file, env: {} })).toMatchObject({ port: 0, maxFramesPerMessage: 64 });
    expect(await loadConfig({ env: { MOTIONGUARD_CONFIG: file } })).toMatchObject({ maxFramesPerMessage: 64 });
    const broken = path.join(dir, 'broken.json');
    await writeFile(broken, '{"port": ');
    await expect(loadConfig({ configFile: broken, env: {} })).rejects.toThrow(/broken\.json: not valid JSON/);
    await expect(loadConfig({ configFile: path.join(dir, 'missing.json'), env: {} })).rejects.toThrow(/cannot read config file/);
  });
});
