/**
 * Structured logging: one JSON object per line ({time, level, msg, ...fields}) to stdout, a
 * file, or any writable, filtered by level. Episodes are logged here so operators can audit them.
 */
import { createWriteStream } from 'node:fs';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LogSink {
  write(line: string): unknown;
}

export type LogFields = Readonly<Record<string, unknown>>;

export class Logger {
  constructor(
    private readonly sink: LogSink,
    readonly level: LogLevel = 'info',
    private readonly base: LogFields = {},
    private readonly onClose: () => Promise<void> = async () => {},
    private readonly now: () => number = Date.now,
  ) {}

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return RANK[level] >= RANK[this.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  /** A logger that adds `fields` to every line (same sink and level). */
  child(fields: LogFields): Logger {
    return new Logger(this.sink, this.level, { ...this.base, ...fields }, async () => {}, this.now);
  }

  /** Flushes and closes a file sink; a no-op for stdout. */
  close(): Promise<void> {
    return this.onClose();
  }

  private write(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const record = { time: new Date(this.now()).toISOString(), level, msg, ...this.base, ...fields };
    this.sink.write(`${JSON.stringify(record, replacer)}\n`);
  }
}

/** Errors as {name, message}; non-finite numbers as strings (JSON has no NaN). */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Append to this file instead of writing to stdout. */
  readonly file?: string | null;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!options.file) return new Logger(process.stdout, level);
  const stream = createWriteStream(options.file, { flags: 'a' });
  stream.on('error', (error) => process.stderr.write(`motionguard: cannot write log file ${options.file}: ${error.message}\n`));
  return new Logger(stream, level, {}, () => new Promise<void>((resolve) => stream.end(() => resolve())));
}

/** A logger that writes nothing. */
export const silentLogger = new Logger({ write: () => true }, 'silent');
