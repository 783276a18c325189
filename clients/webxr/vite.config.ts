/**
 * Builds the monitor page (monitor/index.html) into dist/, which the server serves at /monitor/.
 * `npx vite build --config clients/webxr/vite.config.ts` (from the repository root);
 * `--outDir DIR` builds elsewhere (the browser test does). Relative asset URLs (base './'),
 * so the page works under any path prefix.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('./monitor'),
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // three.js alone is ~700 kB minified; one chunk is fine for a monitoring page.
    chunkSizeWarningLimit: 2000,
  },
  // `npx vite --config clients/webxr/vite.config.ts` serves the page with hot reload; its WebSockets go to a server on :8080.
  server: { fs: { allow: [here('../..')] }, proxy: { '/v1': { target: 'http://127.0.0.1:8080', ws: true } } },
});
