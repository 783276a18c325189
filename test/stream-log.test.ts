import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Logger, createLogger } from '../src/stream/log.js';

function memory(level: ConstructorParameters<typeof Logger>[1]) {
  const lines: string[] = [];
  const logger = new Logger({ write: (line: string) => lines.push(line) }, level, {}, async () => {}, () => Date.UTC(2026, 0, 2, 3, 4, 5));
  return { logger, lines };
}

describe('logger', () => {
  it('writes one JSON object per line with time, level and message', () => {
    const { logger, lines } = memory('info');
    logger.info('episode start', { avatar: 'a', fraction: 0.2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({ time: '2026-01-02T03:04:05.000Z', level: 'info', msg: 'episode start', avatar: 'a', fraction: 0.2 });
  });

  it('filters by level', () => {
    const { logger, lines } = memory('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['w', 'e']);
    const silent = memory('silent');
    silent.logger.error('e');
    expect(silent.lines).toEqual([]);
  });

  it('serialises errors and non-finite numbers, and adds child fields', () => {
    const { logger, lines } = memory('debug');
    logger.child({ component: 'ingest' }).error('failed', { error: new Error('boom'), score: Number.NaN });
    expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'ingest', error: { name: 'Error', message: 'boom' }, score: 'NaN' });
  });

  it('appends to a file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'motionguard-log-'));
    try {
      const file = path.join(dir, 'episodes.log');
      const logger = createLogger({ level: 'info', file });
      logger.info('one');
      logger.info('two');
      await logger.close();
      const text = await readFile(file, 'utf8');
      expect(text.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['one', 'two']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
