/**
 * How a publisher's frames map onto the canonical skeleton (pure): which declared joint
 * feeds each of the 21 canonical joints, and the unit scale to metres.
 */
import { CANONICAL_JOINTS, SOURCE_MAPPINGS, guessCanonicalName, type JointMapping, type JointName } from '../model/skeleton.js';
import { MAX_DECLARED_JOINTS, METRES_PER_UNIT, SKELETON_PRESETS, type SkeletonPreset, type Units } from './protocol.js';

export interface SkeletonLayout {
  /** Joints per frame the publisher sends. */
  readonly declaredJoints: number;
  /** For each canonical joint (canonical order), the index of the declared joint that carries it. */
  readonly sourceIndex: Int32Array;
  /** Multiply coordinates by this to get metres. */
  readonly metresPerUnit: number;
}

const PRESET_MAPPINGS: Readonly<Record<SkeletonPreset, JointMapping>> = {
  canonical: SOURCE_MAPPINGS.canonical,
  unity: SOURCE_MAPPINGS.canonical,
  'bandai-namco': SOURCE_MAPPINGS['bandai-namco'],
  mixamo: SOURCE_MAPPINGS.mixamo,
  vrm: SOURCE_MAPPINGS.vrm,
};

export class SkeletonError extends Error {
  override readonly name = 'SkeletonError';
}

export function isSkeletonPreset(value: unknown): value is SkeletonPreset {
  return typeof value === 'string' && (SKELETON_PRESETS as readonly string[]).includes(value);
}

/** The joint names a preset expects, in the order frames carry them (every preset table is in canonical order). */
export function presetJointNames(preset: SkeletonPreset): string[] {
  return Object.keys(PRESET_MAPPINGS[preset]);
}

/**
 * Resolves a preset or a list of joint names. Names are looked up in every known rig table
 * (`mixamorig:` style prefixes stripped); unknown names are ignored; the first declared joint
 * that maps to a canonical joint wins. Throws a SkeletonError naming the missing joints.
 */
export function resolveSkeletonLayout(skeleton: SkeletonPreset | readonly string[], units: Units): SkeletonLayout {
  const names = typeof skeleton === 'string' ? presetJointNames(skeleton) : skeleton;
  if (names.length === 0 || names.length > MAX_DECLARED_JOINTS) {
    throw new SkeletonError(`skeleton must list 1 to ${MAX_DECLARED_JOINTS} joint names, got ${names.length}`);
  }
  const byName = new Map<JointName, number>();
  names.forEach((name, index) => {
    const canonical = typeof skeleton === 'string' ? PRESET_MAPPINGS[skeleton][name] : guessCanonicalName(name);
    if (canonical !== undefined && !byName.has(canonical)) byName.set(canonical, index);
  });
  const missing = CANONICAL_JOINTS.filter((name) => !byName.has(name));
  if (missing.length > 0) throw new SkeletonError(`skeleton lacks ${missing.length} of the ${CANONICAL_JOINTS.length} canonical joints: ${missing.join(', ')}`);
  return {
    declaredJoints: names.length,
    sourceIndex: Int32Array.from(CANONICAL_JOINTS, (name) => byName.get(name)!),
    metresPerUnit: METRES_PER_UNIT[units],
  };
}
