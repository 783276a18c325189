/**
 * The monitor page in a real browser (Chromium, headless, driven by playwright-core) against the
 * REAL server with the shipped model: the page is built with Vite, served at /monitor, and made
 * to stream two synthetic walkers through its own replay controls, one with a strong sustained
 * fault (limbSwap); the fault must appear in the alert feed, the clean walker never; a BVH file
 * is parsed in the page and streamed too (a broken one refused with its line). A
 * screenshot is kept in test-artifacts/. Skips (saying so) where /usr/bin/chromium is absent.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStreamingScorer } from '../src/model/streaming.js';
import { walkerBvh } from '../src/synth/walker.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const CHROMIUM = process.env.MOTIONGUARD_CHROMIUM ?? '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
const ROOT = path.resolve(import.meta.dirname, '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
/** 14 s of walking; the fault spans frames [45, 135), 3 s. */
const FRAMES = 420;

if (!HAS_CHROMIUM) {
  console.warn(`clients-webxr-browser: SKIPPED: no Chromium at ${CHROMIUM} (install it: apt-get install -y chromium; or set MOTIONGUARD_CHROMIUM)`);
}

describe.skipIf(!HAS_CHROMIUM)('the monitor page in Chromium, with the real model', () => {
  let dist: string;
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dist = await mkdtemp(path.join(os.tmpdir(), 'motionguard-monitor-'));
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', path.join(ROOT, 'clients/webxr/vite.config.ts'), '--outDir', dist, '--emptyOutDir'], {
      cwd: ROOT,
      timeout: 300_000,
    });
    t = await startTestServer(openStreamingScorer({ workers: 0 }), { tickMs: 50, logLevel: 'info', monitorDir: dist });
    await t.server.ready;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await t?.server.close();
    if (dist) await rm(dist, { recursive: true, force: true });
  });

  const stream = async (avatar: string, options: { kind: string; heading: number }): Promise<void> => {
    await page.selectOption('#source', 'walker');
    await page.fill('#seconds', String(FRAMES / 30));
    await page.fill('#heading', String(options.heading));
    await page.fill('#avatar', avatar);
    await page.selectOption('#kind', options.kind);
    await page.fill('#anomaly-start', '1.5');
    await page.fill('#anomaly-frames', '90');
    await page.fill('#severity', '1');
    await page.fill('#seed', '3');
    await page.click('#stream');
    await page.locator(`#replays li[data-avatar="${avatar}"]`).waitFor();
  };

  it('shows the alert of a faulty walker streamed from its replay controls, and none for a clean one', async () => {
    await page.goto(`${t.http}/monitor`);
    expect(new URL(page.url()).pathname).toBe('/monitor/');
    await page.locator('#status-alerts[data-state="ready"]').waitFor({ timeout: 60_000 });
    await page.locator('#status-ingest[data-state="ready"]').waitFor({ timeout: 60_000 });
    await expect(page.locator('#thresholds').textContent()).resolves.toContain('frame threshold');

    await stream('walker/faulty', { kind: 'limbSwap', heading: 0 });
    await stream('walker/clean', { kind: 'none', heading: 30 });

    // A BVH file parsed in the page: a broken one is refused with its line, a good one streams.
    await page.selectOption('#source', 'bvh');
    await page.fill('#avatar', 'bvh/broken');
    await page.selectOption('#kind', 'none');
    await page.setInputFiles('#bvh-file', { name: 'broken.bvh', mimeType: 'text/plain', buffer: Buffer.from('HIERARCHY\nROOT Hips\n{\n') });
    await page.click('#stream');
    await expect.poll(() => page.locator('#replay-error').textContent(), { timeout: 30_000 }).toMatch(/broken\.bvh:\d+/);
    await page.setInputFiles('#bvh-file', { name: 'walk.bvh', mimeType: 'text/plain', buffer: Buffer.from(walkerBvh({ frames: 120, heading: -40 })) });
    await page.fill('#avatar', 'bvh/walk');
    await page.click('#stream');
    await page.locator('#strips .strip[data-avatar="bvh/walk"]').waitFor({ timeout: 120_000 });
    expect(await page.locator('#replay-error').isHidden()).toBe(true);

    const alert = page.locator('#feed li[data-avatar="walker/faulty"][data-state="start"]');
    await alert.waitFor({ timeout: 300_000 });
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('walker/faulty');
    expect(text).toMatch(/Hand|Foot|Toes|Arm|Leg/);

    // Both clips streamed and every frame of the clean one scored: only then is "no alert" a result.
    for (const avatar of ['walker/faulty', 'walker/clean']) {
      await page.locator(`#replays li[data-avatar="${avatar}"][data-state="done"]`).waitFor({ timeout: 300_000 });
    }
    await page.waitForFunction(
      (last) => Number(document.querySelector<HTMLElement>('#strips .strip[data-avatar="walker/clean"]')?.dataset.seq ?? -1) >= last,
      FRAMES - 1,
      { timeout: 300_000, polling: 200 },
    );
    expect(await page.locator('#feed li[data-avatar="walker/clean"]').count()).toBe(0);
    expect(await page.locator('#strips .strip[data-avatar="walker/faulty"]').count()).toBe(1);
    expect(await page.locator('#scene-note').isHidden()).toBe(true);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'clients-webxr-monitor.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
    // The server saw the page's own frames as a publisher: no protocol errors.
    expect(t.logs.filter((l) => l.level === 'error')).toEqual([]);
  }, 900_000);
});
