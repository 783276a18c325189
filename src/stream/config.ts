/**
 * Server configuration: one defaults object, merged as defaults < JSON file < environment
 * (MOTIONGUARD_<KEY>) < command-line flags, and validated once with every problem named
 * (where the bad value came from included). Unknown keys in the file are rejected.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BACKEND_NAMES, type BackendName } from '../model/backend.js';
import type { ScoringOverrides } from '../model/model-dir.js';
import { STREAMING_STRATEGIES, type StreamingStrategy } from '../model/streaming.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { DEFAULT_END_FRACTION_RATIO, DEFAULT_SUSTAINED_RUN_FRAMES } from './online-rule.js';
import { DEFAULT_LIMITS, type Limits } from './protocol.js';

export interface ServerConfig extends Limits {
  readonly host: string;
  readonly port: number;
  /** Model directory; null = the shipped default model. */
  readonly model: string | null;
  /** null = $MOTIONGUARD_BACKEND or wasm (the model's own default). */
  readonly backend: BackendName | null;
  /** Inference worker threads; null = one per core up to 2. */
  readonly workers: number | null;
  /** Streaming scorer strategy; null = the model's default. */
  readonly strategy: StreamingStrategy | null;
  /**
   * The hold prior (a hand or foot bit-still on its segment) on or off; null = the model's
   * setting. 'off' for avatars whose rig freezes a limb in normal use (legs animated only
   * while walking), or for streams that quantise positions (a resting hand repeats its
   * distances exactly).
   */
  readonly holdPrior: 'on' | 'off' | null;
  /**
   * The body prior (a body off or in the floor longer than a jump lasts, or jumped to
   * another place or heading) on or off; null = the model's setting. 'off' for streams in
   * world space where avatars change level (stairs, lifts) or teleport by design.
   */
  readonly bodyPrior: 'on' | 'off' | null;
  readonly tickMs: number;
  readonly minFrames: number;
  /** The online rule's fraction floor; null = the model's (ScoringConfig.onlineFractionFloorFrames). */
  readonly fractionFloorFrames: number | null;
  readonly spikeHoldFrames: number;
  readonly endAfterSeconds: number;
  /** While alerting, the fraction arm holds down to this share of the fraction threshold. */
  readonly endFractionRatio: number;
  /** The fraction arm starts an episode only after a run of over-threshold frames this long. */
  readonly sustainedRunSeconds: number;
  readonly evictAfterSeconds: number;
  readonly maxGapSeconds: number;
  /** New frames held per avatar between ticks; null = the scorer's window. */
  readonly maxPendingFrames: number | null;
  readonly maxAvatars: number;
  /** Consecutive bad messages after which a connection is closed (1008). */
  readonly maxConsecutiveErrors: number;
  readonly maxSubscribers: number;
  readonly logLevel: LogLevel;
  /** Append JSON log lines to this file; null = stdout. */
  readonly logFile: string | null;
  /** Directory of the built monitor page served at /monitor; null = DEFAULT_MONITOR_DIR. */
  readonly monitorDir: string | null;
}

/** The package's own built monitor (`npx vite build --config clients/webxr/vite.config.ts`). */
export const DEFAULT_MONITOR_DIR = fileURLToPath(new URL('../../clients/webxr/dist', import.meta.url));

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 8080,
  model: null,
  backend: null,
  workers: null,
  strategy: null,
  holdPrior: null,
  bodyPrior: null,
  tickMs: 100,
  minFrames: 30,
  fractionFloorFrames: null,
  spikeHoldFrames: 30,
  endAfterSeconds: 2,
  endFractionRatio: DEFAULT_END_FRACTION_RATIO,
  sustainedRunSeconds: DEFAULT_SUSTAINED_RUN_FRAMES / 30,
  evictAfterSeconds: 10,
  maxGapSeconds: 1,
  maxPendingFrames: null,
  maxAvatars: 10_000,
  maxConsecutiveErrors: 20,
  maxSubscribers: 1000,
  logLevel: 'info',
  logFile: null,
  monitorDir: null,
  ...DEFAULT_LIMITS,
};

type Spec =
  | { readonly kind: 'int'; readonly min: number; readonly max: number; readonly nullable?: boolean }
  | { readonly kind: 'number'; readonly min: number; readonly max: number }
  | { readonly kind: 'string'; readonly nullable?: boolean }
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly nullable?: boolean };

const INT32 = 2 ** 31 - 1;

const SPECS: Readonly<Record<keyof ServerConfig, Spec>> = {
  host: { kind: 'string' },
  port: { kind: 'int', min: 0, max: 65535 },
  model: { kind: 'string', nullable: true },
  backend: { kind: 'enum', values: BACKEND_NAMES, nullable: true },
  workers: { kind: 'int', min: 0, max: 64, nullable: true },
  strategy: { kind: 'enum', values: STREAMING_STRATEGIES, nullable: true },
  holdPrior: { kind: 'enum', values: ['on', 'off'], nullable: true },
  bodyPrior: { kind: 'enum', values: ['on', 'off'], nullable: true },
  tickMs: { kind: 'int', min: 5, max: 60_000 },
  minFrames: { kind: 'int', min: 1, max: 10_000 },
  fractionFloorFrames: { kind: 'int', min: 1, max: 10_000, nullable: true },
  spikeHoldFrames: { kind: 'int', min: 0, max: 10_000 },
  endAfterSeconds: { kind: 'number', min: 0.01, max: 3600 },
  endFractionRatio: { kind: 'number', min: 0.01, max: 1 },
  sustainedRunSeconds: { kind: 'number', min: 0, max: 60 },
  evictAfterSeconds: { kind: 'number', min: 0.1, max: 86_400 },
  maxGapSeconds: { kind: 'number', min: 0.01, max: 3600 },
  maxPendingFrames: { kind: 'int', min: 1, max: 1_000_000, nullable: true },
  maxAvatars: { kind: 'int', min: 1, max: 1_000_000 },
  maxConsecutiveErrors: { kind: 'int', min: 1, max: INT32 },
  maxSubscribers: { kind: 'int', min: 0, max: 1_000_000 },
  logLevel: { kind: 'enum', values: LOG_LEVELS },
  logFile: { kind: 'string', nullable: true },
  monitorDir: { kind: 'string', nullable: true },
  maxMessageBytes: { kind: 'int', min: 1024, max: 256 << 20 },
  maxFramesPerMessage: { kind: 'int', min: 1, max: 1_000_000 },
  maxAvatarsPerConnection: { kind: 'int', min: 1, max: 1_000_000 },
  maxAvatarIdLength: { kind: 'int', min: 1, max: 4096 },
};

export const CONFIG_KEYS = Object.keys(SPECS) as (keyof ServerConfig)[];

const onOff = (value: 'on' | 'off' | null): boolean | undefined => (value === null ? undefined : value === 'on');

/** The config's prior switches as the streaming scorer takes them (undefined: the model's setting). */
export function scoringOverrides(config: Pick<ServerConfig, 'holdPrior' | 'bodyPrior'>): ScoringOverrides {
  return { holdPrior: onOff(config.holdPrior), bodyPrior: onOff(config.bodyPrior) };
}

/** tickMs -> MOTIONGUARD_TICK_MS */
export function envName(key: string): string {
  return `MOTIONGUARD_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ConfigSources {
  /** Parsed JSON config file and its name (for messages). */
  readonly file?: { readonly name: string; readonly values: unknown };
  /** Environment variables (only MOTIONGUARD_<KEY> names are read). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line values as typed, keyed by config key. */
  readonly flags?: Readonly<Partial<Record<keyof ServerConfig, string>>>;
}

function describe(spec: Spec): string {
  const orNull = 'nullable' in spec && spec.nullable ? ' (or null)' : '';
  switch (spec.kind) {
    case 'int':
      return `an integer in [${spec.min}, ${spec.max}]${orNull}`;
    case 'number':
      return `a number in [${spec.min}, ${spec.max}]`;
    case 'string':
      return `a non-empty string${orNull}`;
    case 'enum':
      return `one of ${spec.values.join(', ')}${orNull}`;
  }
}

/** A typed value (from JSON) -> the config value, or undefined when invalid. */
function checkTyped(spec: Spec, value: unknown): unknown {
  if (value === null) return 'nullable' in spec && spec.nullable ? null : undefined;
  switch (spec.kind) {
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && value >= spec.min && value <= spec.max ? value : undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && value >= spec.min && value <= spec.max ? value : undefined;
    case 'string':
      return typeof value === 'string' && value.length > 0 ? value : undefined;
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value) ? value : undefined;
  }
}

/** A string (from the environment or a flag) -> the config value, or undefined when invalid. */
function checkText(spec: Spec, text: string): unknown {
  const trimmed = text.trim();
  if ((spec.kind === 'int' || spec.kind === 'number') && trimmed !== '') return checkTyped(spec, Number(trimmed));
  if (spec.kind === 'int' || spec.kind === 'number') return undefined;
  return checkTyped(spec, trimmed);
}

/** Merges and validates; throws one ConfigError listing every problem. */
export function resolveConfig(sources: ConfigSources = {}): ServerConfig {
  const merged: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const problems: string[] = [];
  const { file, env = {}, flags = {} } = sources;
  if (file !== undefined) {
    const values = file.values;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      problems.push(`${file.name}: the config file must hold a JSON object`);
    } else {
      for (const [key, value] of Object.entries(values)) {
        const spec = SPECS[key as keyof ServerConfig];
        if (!spec) {
          problems.push(`${file.name}: unknown key '${key}' (known: ${CONFIG_KEYS.join(', ')})`);
          continue;
        }
        const checked = checkTyped(spec, value);
        if (checked === undefined) problems.push(`${file.name}: ${key} must be ${describe(spec)}, got ${JSON.stringify(value)}`);
        else merged[key] = checked;
      }
    }
  }
  for (const key of CONFIG_KEYS) {
    const spec = SPECS[key];
    const name = envName(key);
    const text = env[name];
    if (text === undefined || text === '') continue;
    const checked = checkText(spec, text);
    if (checked === undefined) problems.push(`${name}: must be ${describe(spec)}, got '${text}'`);
    else merged[key] = checked;
  }
  for (const [key, text] of Object.entries(flags)) {
    if (text === undefined) continue;
    const spec = SPECS[key as keyof ServerConfig];
    const flag = `--${key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
    if (!spec) {
      problems.push(`${flag}: not a configuration option`);
      continue;
    }
    const checked = checkText(spec, text);
    if (checked === undefined) problems.push(`${flag}: must be ${describe(spec)}, got '${text}'`);
    else merged[key] = checked;
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(merged) as unknown as ServerConfig;
}

/** Reads the JSON config file (if any: `configFile`, else $MOTIONGUARD_CONFIG), then resolveConfig. */
export async function loadConfig(options: { readonly configFile?: string; readonly env?: Readonly<Record<string, string | undefined>>; readonly flags?: ConfigSources['flags'] } = {}): Promise<ServerConfig> {
  const env = options.env ?? process.env;
  const name = options.configFile ?? env.MOTIONGUARD_CONFIG;
  let file: ConfigSources['file'];
  if (name) {
    let text: string;
    try {
      text = await readFile(name, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${name}: ${(error as Error).message}`);
    }
    try {
      file = { name, values: JSON.parse(text) as unknown };
    } catch (error) {
      throw new ConfigError(`${name}: not valid JSON: ${(error as Error).message}`);
    }
  }
  return resolveConfig({ file, env, flags: options.flags });
}
