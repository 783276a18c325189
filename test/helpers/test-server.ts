/** Starts the stream server on loopback (port 0) for tests, with a silent logger unless told otherwise. */
import type { StreamingScorer } from '../../src/model/streaming-scorer.js';
import { resolveConfig, type ServerConfig } from '../../src/stream/config.js';
import { Logger } from '../../src/stream/log.js';
import { Metrics } from '../../src/stream/metrics.js';
import { MotionguardServer } from '../../src/stream/server.js';

export interface TestServer {
  readonly server: MotionguardServer;
  readonly http: string;
  readonly ws: string;
  /** Log lines written, parsed. */
  readonly logs: Record<string, unknown>[];
}

export async function startTestServer(
  scorer: StreamingScorer | Promise<StreamingScorer>,
  overrides: Partial<ServerConfig> = {},
): Promise<TestServer> {
  const config: ServerConfig = { ...resolveConfig({ env: {} }), host: '127.0.0.1', port: 0, tickMs: 20, logLevel: 'debug', ...overrides };
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger({ write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) }, config.logLevel);
  const server = await MotionguardServer.start({ config, scorer, logger, metrics: new Metrics() });
  const http = server.url;
  return { server, http, ws: http.replace(/^http/, 'ws'), logs };
}
