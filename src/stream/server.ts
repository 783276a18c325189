/**
 * The streaming server: one process, one port. WebSocket ingest for publishers and alerts for
 * subscribers (both protocol v1), Prometheus metrics, health and readiness probes, and a JSON
 * view of the avatars. The scorer may still be loading when the server starts listening:
 * /healthz answers at once, /readyz and the WebSocket paths answer 503 until the model is up.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import nodePath from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { StreamingScorer } from '../model/streaming-scorer.js';
import { AlertHub } from './alerts.js';
import { DEFAULT_MONITOR_DIR, type ServerConfig } from './config.js';
import type { Connection } from './connection.js';
import { Detector, detectorSettingsFrom } from './detector.js';
import { IngestSession } from './ingest.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { ALERTS_PATH, AVATARS_PATH, CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, INGEST_PATH, type Limits, type MessageFormat } from './protocol.js';
import { startTicker, type Ticker } from './ticker.js';

export interface ServerOptions {
  readonly config: ServerConfig;
  /** The scorer, or its promise (the server listens while the model loads). The server closes it. */
  readonly scorer: StreamingScorer | Promise<StreamingScorer>;
  /** Default: a logger made from config.logLevel and config.logFile (closed with the server). */
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

type Phase = 'loading' | 'ready' | 'failed' | 'stopping' | 'stopped';

/** ws's own limit, far above the protocol's soft limit, so an oversized message gets a `payload_too_large` reply rather than a dropped connection. */
export function hardPayloadLimit(limits: Limits): number {
  return Math.max(4 * limits.maxMessageBytes, limits.maxMessageBytes + (1 << 20));
}

/** The monitor page (clients/webxr, built with Vite) and its assets. */
const MONITOR_PATH = '/monitor';
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.bvh': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.glb': 'model/gltf-binary',
  '.gltf': 'model/gltf+json',
};

/** How long shutdown waits for clients to complete the close handshake. */
const CLOSE_GRACE_MS = 2000;

function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function adapt(ws: WebSocket): Connection {
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}

export class MotionguardServer {
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Resolves once the scorer is open and ticks run; rejects when the scorer cannot open. */
  readonly ready: Promise<void>;

  private phase: Phase = 'loading';
  private detectorValue: Detector | null = null;
  private scorer: StreamingScorer | null = null;
  private hub: AlertHub | null = null;
  private ticker: Ticker | null = null;
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private readonly ownsLogger: boolean;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly config: ServerConfig,
    scorer: StreamingScorer | Promise<StreamingScorer>,
    logger: Logger | undefined,
    metrics: Metrics | undefined,
  ) {
    this.metrics = metrics ?? new Metrics();
    this.ownsLogger = logger === undefined;
    this.logger = logger ?? createLogger({ level: config.logLevel, file: config.logFile });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: hardPayloadLimit(config), perMessageDeflate: false });
    this.http = http.createServer((req, res) => void this.route(req, res));
    this.http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.ready = Promise.resolve(scorer).then(
      (opened) => {
        try {
          this.open(opened);
        } catch (error) {
          if (this.phase === 'loading') {
            this.phase = 'failed';
            this.logger.error('the detector could not start', { error });
          }
          void opened.close();
          throw error;
        }
      },
      (error: unknown) => {
        if (this.phase === 'loading') {
          this.phase = 'failed';
          this.logger.error('the scorer could not be opened', { error });
        }
        throw error;
      },
    );
    // The caller may never await `ready`; its failure is logged above.
    this.ready.catch(() => undefined);
  }

  /** Listens on config.host:config.port (0 = any free port); resolves once listening. */
  static async start(options: ServerOptions): Promise<MotionguardServer> {
    const server = new MotionguardServer(options.config, options.scorer, options.logger, options.metrics);
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(options.config.port, options.config.host, () => {
        server.http.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  get port(): number {
    const address = this.http.address();
    return typeof address === 'object' && address ? address.port : this.config.port;
  }

  get host(): string {
    return this.config.host;
  }

  /** http://host:port (IPv6 hosts bracketed). */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}`;
  }

  get isReady(): boolean {
    return this.phase === 'ready';
  }

  /** The pipeline, once ready. */
  get detector(): Detector | null {
    return this.detectorValue;
  }

  /**
   * Graceful shutdown: stop ticking, score what is pending, end open episodes (subscribers
   * get their `end`), close every connection with 1001, close the scorer.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private open(scorer: StreamingScorer): void {
    const { config, metrics, logger } = this;
    if (this.phase !== 'loading') throw new Error('the server was stopped before the model finished loading');
    this.scorer = scorer;
    const detector = new Detector({
      scorer,
      ...detectorSettingsFrom(config),
      maxAvatars: config.maxAvatars,
      metrics,
      logger,
    });
    this.detectorValue = detector;
    this.hub = new AlertHub({ detector, limits: config, maxConsecutiveErrors: config.maxConsecutiveErrors, maxSubscribers: config.maxSubscribers, metrics, logger });
    this.ticker = startTicker({
      tickMs: config.tickMs,
      tick: () => detector.tick(),
      onCoalesced: () => metrics.ticks.labels('coalesced').inc(),
      onError: (error) => logger.error('tick failed', { error }),
    });
    this.phase = 'ready';
    logger.info('ready', { fps: detector.fps, windowFrames: detector.windowFrames, thresholds: detector.thresholds, tickMs: config.tickMs });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(405, { error: 'method not allowed' });
    }
    try {
      if (path === MONITOR_PATH || path.startsWith(`${MONITOR_PATH}/`)) return await this.serveMonitor(req, res, path);
      switch (path) {
        case '/healthz':
          return json(200, { status: 'ok' });
        case '/readyz':
          return json(this.isReady ? 200 : 503, { status: this.phase });
        case '/metrics': {
          const text = await this.metrics.text();
          res.writeHead(200, { 'content-type': this.metrics.contentType });
          res.end(text);
          return;
        }
        case AVATARS_PATH: {
          const detector = this.detectorValue;
          if (!detector || !this.isReady) return json(503, { status: this.phase });
          return json(200, { time: Date.now(), fps: detector.fps, windowFrames: detector.windowFrames, thresholds: detector.thresholds, avatars: detector.snapshot() });
        }
        case INGEST_PATH:
        case ALERTS_PATH:
          res.setHeader('upgrade', 'websocket');
          return json(426, { error: 'this path speaks WebSocket' });
        default:
          return json(404, { error: 'not found', paths: ['/healthz', '/readyz', '/metrics', AVATARS_PATH, `${INGEST_PATH} (ws)`, `${ALERTS_PATH} (ws)`, MONITOR_PATH] });
      }
    } catch (error) {
      this.logger.error('request failed', { path, error });
      if (!res.headersSent) json(500, { error: 'internal error' });
      else res.end();
    }
  }

  /** Static files of the built monitor under /monitor/ (index.html for the folder itself); nothing outside config.monitorDir is ever read. */
  private async serveMonitor(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    const text = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : `${body}\n`);
    };
    // Relative, so the page's relative asset URLs also work behind a proxy that adds a path prefix.
    if (path === MONITOR_PATH) return text(301, 'moved to monitor/', { location: `monitor/${new URL(req.url ?? '/', 'http://localhost').search}` });
    const dir = nodePath.resolve(this.config.monitorDir ?? DEFAULT_MONITOR_DIR);
    let relative: string;
    try {
      relative = decodeURIComponent(path.slice(MONITOR_PATH.length + 1)) || 'index.html';
    } catch {
      return text(400, 'bad path encoding');
    }
    const notFound = (): void => text(404, `not found: ${path}`);
    if (relative.includes('\0') || relative.split(/[\\/]/).some((segment) => segment === '..')) return notFound();
    let file = nodePath.resolve(dir, relative);
    try {
      const root = await realpath(dir);
      file = await realpath(file);
      if (!file.startsWith(`${root}${nodePath.sep}`) || !(await stat(file)).isFile()) return notFound();
    } catch {
      const built = await stat(nodePath.join(dir, 'index.html')).then((s) => s.isFile(), () => false);
      if (!built) return text(503, `the monitor has not been built: run \`npx vite build --config clients/webxr/vite.config.ts\` (no index.html in ${dir})`);
      return notFound();
    }
    const body = await readFile(file);
    const immutable = relative.startsWith('assets/');
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[nodePath.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': body.byteLength,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    // A client may reset the connection after our refusal: without a listener that error would crash the process.
    socket.on('error', () => {});
    if (url.pathname !== INGEST_PATH && url.pathname !== ALERTS_PATH) return refuse(404, 'Not Found');
    if (!this.isReady) return refuse(503, 'Service Unavailable');
    const formatParam = url.searchParams.get('format');
    if (formatParam !== null && formatParam !== 'json' && formatParam !== 'msgpack') return refuse(400, 'Bad Request');
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('error', (error) => this.logger.debug('websocket error', { path: url.pathname, remote, error }));
      if (url.pathname === INGEST_PATH) this.acceptPublisher(ws, remote);
      else this.acceptSubscriber(ws, remote, formatParam as MessageFormat | null);
    });
  }

  private acceptPublisher(ws: WebSocket, remote: string): void {
    const { config, metrics, logger } = this;
    const session = new IngestSession(adapt(ws), { detector: this.detectorValue!, limits: config, maxConsecutiveErrors: config.maxConsecutiveErrors, metrics, logger });
    metrics.publishers.inc();
    logger.debug('publisher connected', { remote });
    this.onMessages(ws, remote, (data, isBinary) => session.receive(data, isBinary));
    ws.on('close', (code) => {
      metrics.publishers.dec();
      logger.debug('publisher disconnected', { remote, code, avatars: session.avatarCount });
    });
  }

  private acceptSubscriber(ws: WebSocket, remote: string, format: MessageFormat | null): void {
    const hub = this.hub!;
    const session = hub.attach(adapt(ws), format);
    if (!session) return;
    this.logger.debug('subscriber connected', { remote });
    this.onMessages(ws, remote, (data, isBinary) => session.receive(data, isBinary));
    ws.on('close', () => hub.detach(session));
  }

  /** Routes a socket's messages to its session while the server runs; a bug in handling one closes that connection (1011), not the server. */
  private onMessages(ws: WebSocket, remote: string, receive: (data: Uint8Array | string, isBinary: boolean) => void): void {
    ws.on('message', (data, isBinary) => {
      if (this.phase !== 'ready') return;
      const bytes = toBytes(data);
      try {
        receive(isBinary ? bytes : bytes.toString('utf8'), isBinary);
      } catch (error) {
        this.logger.error('message handling failed; closing the connection', { remote, error });
        ws.close(CLOSE_INTERNAL_ERROR, 'internal error');
      }
    });
  }

  private async shutdown(): Promise<void> {
    const wasReady = this.isReady;
    this.phase = 'stopping';
    this.logger.info('shutting down');
    this.ticker?.stop();
    const detector = this.detectorValue;
    if (detector && wasReady) {
      try {
        await detector.tick();
      } catch (error) {
        this.logger.error('final tick failed', { error });
      }
      await detector.finishAll('shutdown');
      const left = detector.pendingFrames;
      if (left > 0) this.metrics.framesDropped.labels('shutdown').inc(left);
    }
    this.hub?.close(CLOSE_GOING_AWAY, 'server shutting down');
    for (const ws of this.sockets) ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    await this.waitForSockets();
    await new Promise<void>((resolve) => {
      this.wss.close(() => resolve());
    });
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    detector?.close();
    try {
      await this.scorer?.close();
    } catch (error) {
      this.logger.error('closing the scorer failed', { error });
    }
    this.phase = 'stopped';
    this.logger.info('stopped');
    if (this.ownsLogger) await this.logger.close();
  }

  private async waitForSockets(): Promise<void> {
    if (this.sockets.size === 0) return;
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const ws of this.sockets) ws.terminate();
  }
}

/** Starts a server (see MotionguardServer.start). */
export function startServer(options: ServerOptions): Promise<MotionguardServer> {
  return MotionguardServer.start(options);
}
