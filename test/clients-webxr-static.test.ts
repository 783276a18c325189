/**
 * The server's /monitor: the built page and its assets from config.monitorDir with their content
 * types, a clear 503 while the page is not built, 404 for what is not there, and nothing
 * outside the directory ever served, however the path is spelled.
 */
import http from 'node:http';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MONITOR_DIR, resolveConfig } from '../src/stream/config.js';
import { FakeScorer } from './helpers/fake-scorer.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

/** A raw GET (fetch would normalise `..` away before it reaches the server). */
function get(base: string, rawPath: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: rawPath, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /monitor', () => {
  let root: string;
  let built: TestServer;
  let unbuilt: TestServer;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'motionguard-static-'));
    const dist = path.join(root, 'dist');
    await mkdir(path.join(dist, 'assets'), { recursive: true });
    await writeFile(path.join(dist, 'index.html'), '<!doctype html><title>monitor</title>');
    await writeFile(path.join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
    await writeFile(path.join(dist, 'assets', 'index-abc.css'), 'body{}');
    await writeFile(path.join(dist, 'assets', 'data.bin'), 'x');
    await writeFile(path.join(root, 'secret.txt'), 'SECRET');
    await symlink(path.join(root, 'secret.txt'), path.join(dist, 'link.txt'));
    built = await startTestServer(new FakeScorer(), { monitorDir: dist, logLevel: 'warn' });
    unbuilt = await startTestServer(new FakeScorer(), { monitorDir: path.join(root, 'nothing-here'), logLevel: 'warn' });
  });

  afterAll(async () => {
    await built?.server.close();
    await unbuilt?.server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('defaults to the package clients/webxr/dist', () => {
    expect(resolveConfig({ env: {} }).monitorDir).toBeNull();
    expect(DEFAULT_MONITOR_DIR).toBe(path.resolve(import.meta.dirname, '../clients/webxr/dist'));
    expect(resolveConfig({ env: { MOTIONGUARD_MONITOR_DIR: '/srv/monitor' } }).monitorDir).toBe('/srv/monitor');
  });

  it('redirects /monitor to /monitor/ and serves the page and its assets with their content types', async () => {
    const redirect = await get(built.http, '/monitor?x=1');
    expect(redirect.status).toBe(301);
    expect(new URL(redirect.headers.location!, `${built.http}/monitor?x=1`).href).toBe(`${built.http}/monitor/?x=1`);

    const page = await get(built.http, '/monitor/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('<title>monitor</title>');
    expect((await get(built.http, '/monitor/index.html')).body).toBe(page.body);

    const js = await get(built.http, '/monitor/assets/index-abc.js');
    expect(js).toMatchObject({ status: 200, body: 'console.log(1)' });
    expect(js.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'public, max-age=31536000, immutable' });
    expect((await get(built.http, '/monitor/assets/index-abc.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get(built.http, '/monitor/assets/data.bin')).headers['content-type']).toBe('application/octet-stream');
    const head = await get(built.http, '/monitor/assets/index-abc.js', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('14');
    expect((await get(built.http, '/monitor/', 'POST')).status).toBe(405);
  });

  it('answers 404 for files that are not there, and never serves anything outside the directory', async () => {
    expect(await get(built.http, '/monitor/assets/missing.js')).toMatchObject({ status: 404 });
    expect((await get(built.http, '/monitor/assets/missing.js')).body).toContain('not found');
    expect((await get(built.http, '/monitor/assets')).status).toBe(404);
    for (const attempt of ['/monitor/../secret.txt', '/monitor/%2e%2e/secret.txt', '/monitor/..%2fsecret.txt', '/monitor/assets/..%2f..%2fsecret.txt', '/monitor/..%5csecret.txt', '/monitor/%2e%2e%2f%2e%2e%2f..%2fetc%2fpasswd', '/monitor/link.txt', '/monitor/secret.txt%00.js']) {
      const response = await get(built.http, attempt);
      expect(response.status, attempt).toBeGreaterThanOrEqual(400);
      expect(response.body, attempt).not.toContain('SECRET');
    }
    expect((await get(built.http, '/monitor/%E0%A4%A')).status).toBe(400);
  });

  it('says clearly that the page has not been built (503), how to build it, and that the rest of the server works', async () => {
    const response = await get(unbuilt.http, '/monitor/');
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.body).toMatch(/not been built.*vite build --config clients\/webxr\/vite\.config\.ts/);
    expect((await get(unbuilt.http, '/monitor/assets/x.js')).status).toBe(503);
    expect((await get(unbuilt.http, '/healthz')).status).toBe(200);
    const notFound = await get(unbuilt.http, '/nope');
    expect(JSON.parse(notFound.body).paths).toContain('/monitor');
  });
});
