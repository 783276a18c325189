/**
 * Adapter (a): a three.js skeleton -> canonical frames. Bones are found by humanoid name (VRM
 * humanoid bone names, Mixamo names with or without their `mixamorig` prefix, Unity
 * HumanBodyBones names: the model's own tables in src/model/skeleton.ts), or through a VRM
 * humanoid (three-vrm's `vrm.humanoid`) when the rig's bone names are its own. Positions are
 * the bones' world positions (matrixWorld translation), in metres, right-handed Y up: three.js
 * already is what the protocol wants. Structural types only: three.js is not needed at runtime.
 */
import { CANONICAL_MAPPING, MIXAMO_MAPPING, VRM_MAPPING, type JointMapping } from '../../../src/model/skeleton.js';
import { ESTIMABLE_JOINTS, estimateMissingJoints } from './estimate.js';
import { CANONICAL_JOINTS, FRAME_VALUES, JOINT_COUNT, type JointName } from './joints.js';

/** What the adapter reads of a THREE.Bone / THREE.Object3D. */
export interface BoneLike {
  readonly name: string;
  readonly matrixWorld: { readonly elements: ArrayLike<number> };
  readonly isBone?: boolean;
  readonly children?: readonly BoneLike[];
  /** three.js Object3D.updateWorldMatrix(updateParents, updateChildren). */
  updateWorldMatrix?(updateParents: boolean, updateChildren: boolean): void;
}

/** A THREE.Skeleton (or anything with its bones). */
export interface SkeletonLike {
  readonly bones: readonly BoneLike[];
}

/** three-vrm's VRMHumanoid (getRawBoneNode, v1+) or its 0.x form (getBoneNode). */
export interface HumanoidLike {
  getRawBoneNode?(name: string): BoneLike | null | undefined;
  getBoneNode?(name: string): BoneLike | null | undefined;
}

/**
 * The declared mapping: bone names that stand for each canonical joint, in priority order
 * (the first one a rig has wins). Lookups ignore case and rig prefixes (see boneKey).
 */
export const THREE_BONE_NAMES: Readonly<Record<JointName, readonly string[]>> = (() => {
  const names = Object.fromEntries(CANONICAL_JOINTS.map((joint) => [joint, [] as string[]])) as Record<JointName, string[]>;
  for (const table of [CANONICAL_MAPPING, VRM_MAPPING, MIXAMO_MAPPING] as JointMapping[]) {
    for (const [source, joint] of Object.entries(table)) if (!names[joint].includes(source)) names[joint].push(source);
  }
  // Fallbacks: a rig without a chest bone but with an upper chest (VRM, Unity) or a second spine bone (Mixamo).
  names.Chest.push('upperChest', 'UpperChest', 'Spine2');
  return names;
})();

/** The VRM humanoid bone name of each canonical joint, and fallbacks, for HumanoidLike lookups. */
export const VRM_HUMANOID_NAMES: Readonly<Record<JointName, readonly string[]>> = Object.fromEntries(
  CANONICAL_JOINTS.map((joint) => [joint, joint === 'Chest' ? ['chest', 'upperChest'] : [joint[0]!.toLowerCase() + joint.slice(1)]]),
) as unknown as Record<JointName, readonly string[]>;

/**
 * Lookup key of a bone name: the part after the last ':' (`mixamorig:Hips`), without a
 * `mixamorig` prefix (three.js strips the ':' when it loads glTF: `mixamorigHips`), lower case.
 */
export function boneKey(name: string): string {
  return name
    .replace(/^.*:/, '')
    .replace(/^mixamorig\d*_?/i, '')
    .toLowerCase();
}

const KEY_TO_JOINT: ReadonlyMap<string, { joint: JointName; rank: number }> = (() => {
  const map = new Map<string, { joint: JointName; rank: number }>();
  for (const joint of CANONICAL_JOINTS) {
    THREE_BONE_NAMES[joint].forEach((name, rank) => {
      const key = boneKey(name);
      const seen = map.get(key);
      if (seen && seen.joint !== joint) throw new Error(`bone name table conflict: '${name}' maps to ${seen.joint} and ${joint}`);
      if (!seen || rank < seen.rank) map.set(key, { joint, rank });
    });
  }
  return map;
})();

/** The canonical joint a bone name stands for, if any. */
export function canonicalJointOfBone(name: string): JointName | undefined {
  return KEY_TO_JOINT.get(boneKey(name))?.joint;
}

export interface JointBinding {
  readonly joint: JointName;
  /** The bone's name, or null when the joint is estimated. */
  readonly bone: string | null;
  readonly estimated: boolean;
}

export class HumanoidMappingError extends Error {
  override readonly name = 'HumanoidMappingError';
}

function collectBones(source: SkeletonLike | BoneLike | readonly BoneLike[]): BoneLike[] {
  if (Array.isArray(source)) return [...(source as readonly BoneLike[])];
  if ('bones' in source && Array.isArray(source.bones)) return [...source.bones];
  // An Object3D root: every descendant, bones first (a mesh called "Head" must not beat the Head bone).
  const all: BoneLike[] = [];
  const walk = (node: BoneLike): void => {
    all.push(node);
    for (const child of node.children ?? []) walk(child);
  };
  walk(source as BoneLike);
  return [...all.filter((b) => b.isBone), ...all.filter((b) => !b.isBone)];
}

/** Picks a bone per canonical joint: the humanoid's first, then the best-ranked name (first in bone order on ties). */
export function bindHumanoidBones(source: SkeletonLike | BoneLike | readonly BoneLike[], humanoid?: HumanoidLike): (BoneLike | null)[] {
  const chosen: (BoneLike | null)[] = CANONICAL_JOINTS.map(() => null);
  const rankOf: number[] = CANONICAL_JOINTS.map(() => Infinity);
  for (const bone of collectBones(source)) {
    const hit = KEY_TO_JOINT.get(boneKey(bone.name));
    if (!hit) continue;
    const j = CANONICAL_JOINTS.indexOf(hit.joint);
    if (hit.rank < rankOf[j]!) {
      chosen[j] = bone;
      rankOf[j] = hit.rank;
    }
  }
  if (humanoid) {
    const lookup = (name: string): BoneLike | null | undefined => (humanoid.getRawBoneNode ? humanoid.getRawBoneNode(name) : humanoid.getBoneNode?.(name));
    CANONICAL_JOINTS.forEach((joint, j) => {
      for (const name of VRM_HUMANOID_NAMES[joint]) {
        const bone = lookup(name);
        if (bone) {
          chosen[j] = bone;
          break;
        }
      }
    });
  }
  return chosen;
}

export interface ThreeSkeletonOptions {
  /** three-vrm's `vrm.humanoid`: its bone assignment wins over names. */
  readonly humanoid?: HumanoidLike;
  /** Metres per world unit (default 1: three.js scenes are in metres). */
  readonly metresPerUnit?: number;
  /** Refresh the bones' world matrices (and their parents') before reading them. Default true; pass false right after a render. */
  readonly updateMatrices?: boolean;
}

/**
 * Reads canonical frames from a rig. Throws HumanoidMappingError at construction when a joint
 * that cannot be estimated (hips, head, arms, legs) has no bone.
 */
export class ThreeSkeletonPoseSource {
  /** Which bone feeds each canonical joint (canonical order). */
  readonly bindings: readonly JointBinding[];
  /** 1 where a bone was found, 0 where the joint is estimated (canonical order). */
  readonly observed: Uint8Array;
  private readonly bones: readonly (BoneLike | null)[];
  private readonly metresPerUnit: number;
  private readonly updateMatrices: boolean;

  constructor(source: SkeletonLike | BoneLike | readonly BoneLike[], options: ThreeSkeletonOptions = {}) {
    this.bones = bindHumanoidBones(source, options.humanoid);
    this.metresPerUnit = options.metresPerUnit ?? 1;
    this.updateMatrices = options.updateMatrices ?? true;
    const missing = CANONICAL_JOINTS.filter((joint, j) => !this.bones[j] && !(ESTIMABLE_JOINTS as readonly string[]).includes(joint));
    if (missing.length > 0) {
      const names = collectBones(source).map((b) => b.name).filter(Boolean);
      throw new HumanoidMappingError(
        `no bone found for ${missing.join(', ')} (bones: ${names.slice(0, 40).join(', ')}${names.length > 40 ? ', ...' : ''}); ` +
          'name the bones with VRM, Mixamo or Unity humanoid names, or pass the VRM humanoid',
      );
    }
    this.observed = Uint8Array.from(this.bones, (b) => (b ? 1 : 0));
    this.bindings = CANONICAL_JOINTS.map((joint, j) => ({ joint, bone: this.bones[j]?.name ?? null, estimated: !this.bones[j] }));
  }

  /** World positions of the 21 canonical joints (x, y, z each, metres), into `out` if given. */
  capture(out: Float32Array = new Float32Array(FRAME_VALUES)): Float32Array {
    if (out.length !== FRAME_VALUES) throw new RangeError(`capture() needs ${FRAME_VALUES} numbers, got ${out.length}`);
    const k = this.metresPerUnit;
    for (let j = 0; j < JOINT_COUNT; j++) {
      const bone = this.bones[j];
      if (!bone) continue;
      if (this.updateMatrices) bone.updateWorldMatrix?.(true, false);
      const e = bone.matrixWorld.elements;
      out[j * 3] = e[12]! * k;
      out[j * 3 + 1] = e[13]! * k;
      out[j * 3 + 2] = e[14]! * k;
    }
    if (this.observed.includes(0)) estimateMissingJoints(out, this.observed);
    return out;
  }
}
