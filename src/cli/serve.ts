/**
 * `motionguard serve`: the streaming server on one port until SIGINT/SIGTERM. Configuration:
 * defaults < --config FILE (or $MOTIONGUARD_CONFIG) < MOTIONGUARD_* environment < flags.
 */
import { parseArgs } from 'node:util';
import { openStreamingScorer } from '../model/streaming.js';
import { CONFIG_KEYS, DEFAULT_CONFIG, envName, scoringOverrides, loadConfig } from '../stream/config.js';
import { createLogger } from '../stream/log.js';
import { ALERTS_PATH, AVATARS_PATH, INGEST_PATH } from '../stream/protocol.js';
import { startServer } from '../stream/server.js';

export const SERVE_USAGE = `motionguard serve [--port N] [--host H] [--config FILE] [--model DIR] [--backend B] [--workers N] [--tick-ms N]
                  [--log-level debug|info|warn|error|silent] [--log-file FILE]`;

export async function commandServe(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      config: { type: 'string' },
      model: { type: 'string' },
      backend: { type: 'string' },
      workers: { type: 'string' },
      'tick-ms': { type: 'string' },
      'log-level': { type: 'string' },
      'log-file': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `${SERVE_USAGE}\n\nEvery setting is also a key of the JSON config file and an environment variable\n` +
        `(MOTIONGUARD_<KEY in upper snake case>); flags win over the environment, which wins over the file:\n` +
        `${CONFIG_KEYS.map((key) => `  ${key.padEnd(24)} ${envName(key).padEnd(40)} default ${JSON.stringify(DEFAULT_CONFIG[key])}`).join('\n')}\n` +
        `Protocol: docs/protocol.md\n`,
    );
    return 0;
  }
  const config = await loadConfig({
    configFile: values.config,
    flags: {
      port: values.port,
      host: values.host,
      model: values.model,
      backend: values.backend,
      workers: values.workers,
      tickMs: values['tick-ms'],
      logLevel: values['log-level'],
      logFile: values['log-file'],
    },
  });
  const logger = createLogger({ level: config.logLevel, file: config.logFile });
  const scorer = openStreamingScorer({
    modelDir: config.model ?? undefined,
    backend: config.backend ?? undefined,
    workers: config.workers ?? undefined,
    strategy: config.strategy ?? undefined,
    scoring: scoringOverrides(config),
  });
  let server;
  try {
    server = await startServer({ config, scorer, logger });
  } catch (error) {
    // Not listening (port taken...): the model may still be loading; close it when it is up.
    scorer.then((s) => s.close()).catch(() => undefined);
    await logger.close();
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`, { cause: error });
  }
  const ws = server.url.replace(/^http/, 'ws');
  process.stderr.write(
    `motionguard: listening on ${server.url}\n` +
      `  publishers  ${ws}${INGEST_PATH}\n  subscribers ${ws}${ALERTS_PATH}\n` +
      `  metrics     ${server.url}/metrics   avatars ${server.url}${AVATARS_PATH}   probes /healthz /readyz\n` +
      `motionguard: loading the model...\n`,
  );
  logger.info('listening', { url: server.url, config });

  let signals = 0;
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    onSignal = (signal) => {
      if (++signals > 1) {
        process.stderr.write(`motionguard: ${signal} again, exiting now\n`);
        process.exit(130);
      }
      process.stderr.write(`motionguard: ${signal}: shutting down (scoring pending frames, ending open episodes)...\n`);
      void server.close().then(resolve);
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    try {
      await server.ready;
      if (signals === 0) process.stderr.write(`motionguard: ready (model loaded; ticks every ${config.tickMs} ms)\n`);
    } catch (error) {
      // A signal while the model loads is an ordinary stop; anything else is a failure.
      if (signals === 0) {
        await server.close();
        throw new Error(`the model could not be loaded: ${(error as Error).message}`, { cause: error });
      }
    }
    await stopped;
    process.stderr.write('motionguard: stopped\n');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await logger.close();
  }
}
