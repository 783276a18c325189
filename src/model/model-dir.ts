/**
 * A model is a directory: config.json, skeleton.json, normalisation.json,
 * calibration.json, weights.bin with weights.json (manifest and checksum) and
 * training.json (provenance). loadModel checks that they fit together before use.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NFlowAD } from './nflowad.js';
import { FEATURE_SIZE } from './normalise.js';
import type { NormalisationStats } from './normalise.js';
import type { ParamManifestEntry } from './params.js';
import { CANONICAL_JOINTS, PARENT_INDEX } from './skeleton.js';
import type { Calibration, ModelConfig, ScoringConfig } from './types.js';

export const MODEL_FORMAT = 'motionguard-model';
export const MODEL_FORMAT_VERSION = 1;

/** The model shipped in the repository (trained on Bandai Namco dataset 2; see its README). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/default', import.meta.url));

export interface SkeletonFile {
  readonly joints: readonly string[];
  readonly parents: readonly number[];
  readonly units: 'm';
  readonly up: 'y';
  readonly handedness: 'right';
}

export interface WeightsFile {
  readonly format: typeof MODEL_FORMAT;
  readonly version: number;
  readonly file: string;
  readonly sha256: string;
  readonly manifest: readonly ParamManifestEntry[];
}

/** Free-form provenance: data, epochs, losses, dates. */
export type TrainingInfo = Readonly<Record<string, unknown>>;

export interface LoadedModel {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly model: NFlowAD;
  readonly normalisation: NormalisationStats;
  readonly calibration: Calibration | null;
  readonly training: TrainingInfo;
}

/** The scoring switches a deployment may set otherwise than its model (undefined: the model's). */
export type ScoringOverrides = Partial<Pick<ScoringConfig, 'holdPrior' | 'bodyPrior'>>;

/**
 * The model with some scoring switches set otherwise (a deployment's choice, e.g. the hold
 * prior off for rigs that animate a limb only some of the time). The thresholds stay those
 * calibrated with the model's own settings. Undefined keys keep the model's value.
 */
export function withScoringOverrides(loaded: LoadedModel, overrides: ScoringOverrides): LoadedModel {
  const set = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<ScoringConfig>;
  if (Object.keys(set).length === 0) return loaded;
  return { ...loaded, config: { ...loaded.config, scoring: { ...loaded.config.scoring, ...set } } };
}

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

function skeletonFile(): SkeletonFile {
  return { joints: [...CANONICAL_JOINTS], parents: [...PARENT_INDEX], units: 'm', up: 'y', handedness: 'right' };
}

async function writeJson(file: string, value: unknown): Promise<void> {
  // Write then rename, so a crash never leaves half a file behind.
  await writeFile(`${file}.tmp`, `${JSON.stringify(value, null, 1)}\n`);
  await rename(`${file}.tmp`, file);
}

export interface SaveModelInput {
  readonly model: NFlowAD;
  readonly normalisation: NormalisationStats;
  readonly calibration: Calibration | null;
  readonly training: TrainingInfo;
}

export async function saveModel(dir: string, input: SaveModelInput): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { manifest, data } = input.model.params.serialise();
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  await writeFile(path.join(dir, 'weights.bin.tmp'), bytes);
  await rename(path.join(dir, 'weights.bin.tmp'), path.join(dir, 'weights.bin'));
  const weights: WeightsFile = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    file: 'weights.bin',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    manifest,
  };
  await writeJson(path.join(dir, 'weights.json'), weights);
  await writeJson(path.join(dir, 'config.json'), input.model.config);
  await writeJson(path.join(dir, 'skeleton.json'), skeletonFile());
  await writeJson(path.join(dir, 'normalisation.json'), input.normalisation);
  if (input.calibration) await writeJson(path.join(dir, 'calibration.json'), input.calibration);
  await writeJson(path.join(dir, 'training.json'), input.training);
}

async function readJson<T>(dir: string, name: string, optional = false): Promise<T | null> {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ModelLoadError(`${file}: cannot read (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ModelLoadError(`${file}: invalid JSON (${(error as Error).message})`);
  }
}

/** The scoring config's on/off switches. */
const SCORING_SWITCHES = ['adaptive', 'edgeCorrection', 'temporalPrior', 'holdPrior', 'bodyPrior'] as const satisfies readonly (keyof ScoringConfig)[];

function check(condition: boolean, message: string): void {
  if (!condition) throw new ModelLoadError(message);
}

/**
 * Loads a model directory; every part is checked against the others. Requires an
 * initialised tfjs backend. `ignoreCalibration` is for recalibrating a model whose
 * calibration is missing or from an older version.
 */
export async function loadModel(dir: string = DEFAULT_MODEL_DIR, options: { ignoreCalibration?: boolean } = {}): Promise<LoadedModel> {
  const config = (await readJson<ModelConfig>(dir, 'config.json'))!;
  const skeleton = (await readJson<SkeletonFile>(dir, 'skeleton.json'))!;
  const normalisation = (await readJson<NormalisationStats>(dir, 'normalisation.json'))!;
  const weights = (await readJson<WeightsFile>(dir, 'weights.json'))!;
  const calibration = options.ignoreCalibration ? null : await readJson<Calibration>(dir, 'calibration.json', true);
  const training = (await readJson<TrainingInfo>(dir, 'training.json', true)) ?? {};
  check(weights.format === MODEL_FORMAT, `${dir}: weights.json is not a ${MODEL_FORMAT} file`);
  check(weights.version === MODEL_FORMAT_VERSION, `${dir}: model format version ${weights.version}, this motionguard reads ${MODEL_FORMAT_VERSION}`);
  check(
    skeleton.joints.length === CANONICAL_JOINTS.length && skeleton.joints.every((j, i) => j === CANONICAL_JOINTS[i]),
    `${dir}: skeleton.json joints [${skeleton.joints.join(', ')}] differ from the canonical skeleton`,
  );
  check(
    normalisation.mean?.length === FEATURE_SIZE && normalisation.scale?.length === FEATURE_SIZE,
    `${dir}: normalisation.json has ${normalisation.mean?.length} channels, the skeleton needs ${FEATURE_SIZE}`,
  );
  check(normalisation.scale.every((s) => s > 0), `${dir}: normalisation.json has a non-positive scale`);
  check(
    config.scoring.streamingPasses !== 'rotating' || (config.flow.latents ?? 'unmasked') !== 'unmasked',
    `${dir}: config.json has scoring.streamingPasses 'rotating' but flow.latents 'unmasked' (one pass per frame has no unmasked latent: use 'rotating' or 'masked-mean')`,
  );
  const flowEvery = config.scoring.streamingFlowEvery ?? 1;
  check(Number.isInteger(flowEvery) && flowEvery >= 1 && flowEvery <= 8, `${dir}: config.json scoring.streamingFlowEvery must be an integer from 1 to 8, got ${String(flowEvery)}`);
  // A switch written as "false" (a string) would be truthy: refuse anything but a boolean.
  for (const key of SCORING_SWITCHES) {
    const value: unknown = config.scoring[key];
    check(value === undefined || typeof value === 'boolean', `${dir}: config.json scoring.${key} must be true or false, got ${JSON.stringify(value)}`);
  }
  if (calibration) {
    check(calibration.joints?.length === CANONICAL_JOINTS.length, `${dir}: calibration.json has ${calibration.joints?.length} joint scales, expected ${CANONICAL_JOINTS.length}`);
    check(Array.isArray(calibration.edges?.startErrorFactor), `${dir}: calibration.json has no edge profile (recalibrate with 'motionguard calibrate')`);
    check(calibration.bones?.length === CANONICAL_JOINTS.length, `${dir}: calibration.json has ${calibration.bones?.length} bone scales, expected ${CANONICAL_JOINTS.length} (recalibrate with 'motionguard calibrate')`);
    check(Number.isFinite(calibration.thresholds?.frame), `${dir}: calibration.json has no frame threshold`);
  }
  const bytes = await readFile(path.join(dir, weights.file)).catch((error: Error) => {
    throw new ModelLoadError(`${dir}: cannot read ${weights.file} (${error.message})`);
  });
  const digest = createHash('sha256').update(bytes).digest('hex');
  check(digest === weights.sha256, `${dir}: ${weights.file} checksum ${digest.slice(0, 12)}… does not match weights.json (${weights.sha256.slice(0, 12)}…)`);
  check(bytes.byteLength % 4 === 0, `${dir}: ${weights.file} is not a Float32 array`);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const model = new NFlowAD(config);
  try {
    model.params.load(weights.manifest, data);
  } catch (error) {
    model.dispose();
    throw new ModelLoadError(`${dir}: weights do not fit config.json: ${(error as Error).message}`);
  }
  return { dir, config, model, normalisation, calibration, training };
}
