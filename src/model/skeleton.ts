/**
 * The canonical humanoid skeleton: 21 joints named after Unity's HumanBodyBones,
 * so a Unity or WebXR (VRM) developer recognises every name. Sources map onto it
 * through a per-source table (BVH joint name -> canonical name).
 */

export const CANONICAL_JOINTS = [
  'Hips',
  'Spine',
  'Chest',
  'Neck',
  'Head',
  'LeftShoulder',
  'LeftUpperArm',
  'LeftLowerArm',
  'LeftHand',
  'RightShoulder',
  'RightUpperArm',
  'RightLowerArm',
  'RightHand',
  'LeftUpperLeg',
  'LeftLowerLeg',
  'LeftFoot',
  'LeftToes',
  'RightUpperLeg',
  'RightLowerLeg',
  'RightFoot',
  'RightToes',
] as const;

export type JointName = (typeof CANONICAL_JOINTS)[number];

/** Parent of each canonical joint (null for the root). */
export const CANONICAL_PARENT: Readonly<Record<JointName, JointName | null>> = {
  Hips: null,
  Spine: 'Hips',
  Chest: 'Spine',
  Neck: 'Chest',
  Head: 'Neck',
  LeftShoulder: 'Chest',
  LeftUpperArm: 'LeftShoulder',
  LeftLowerArm: 'LeftUpperArm',
  LeftHand: 'LeftLowerArm',
  RightShoulder: 'Chest',
  RightUpperArm: 'RightShoulder',
  RightLowerArm: 'RightUpperArm',
  RightHand: 'RightLowerArm',
  LeftUpperLeg: 'Hips',
  LeftLowerLeg: 'LeftUpperLeg',
  LeftFoot: 'LeftLowerLeg',
  LeftToes: 'LeftFoot',
  RightUpperLeg: 'Hips',
  RightLowerLeg: 'RightUpperLeg',
  RightFoot: 'RightLowerLeg',
  RightToes: 'RightFoot',
};

/** Left/right counterpart of each joint (itself on the midline); used for mirroring. */
export const MIRROR_JOINT: Readonly<Record<JointName, JointName>> = Object.fromEntries(
  CANONICAL_JOINTS.map((name) => [
    name,
    name.startsWith('Left')
      ? (`Right${name.slice(4)}` as JointName)
      : name.startsWith('Right')
        ? (`Left${name.slice(5)}` as JointName)
        : name,
  ]),
) as Record<JointName, JointName>;

/** Coarse limb groups: used to mask, to report faults and to judge localisation. */
export const LIMB_OF_JOINT: Readonly<Record<JointName, Limb>> = {
  Hips: 'torso',
  Spine: 'torso',
  Chest: 'torso',
  Neck: 'head',
  Head: 'head',
  LeftShoulder: 'leftArm',
  LeftUpperArm: 'leftArm',
  LeftLowerArm: 'leftArm',
  LeftHand: 'leftArm',
  RightShoulder: 'rightArm',
  RightUpperArm: 'rightArm',
  RightLowerArm: 'rightArm',
  RightHand: 'rightArm',
  LeftUpperLeg: 'leftLeg',
  LeftLowerLeg: 'leftLeg',
  LeftFoot: 'leftLeg',
  LeftToes: 'leftLeg',
  RightUpperLeg: 'rightLeg',
  RightLowerLeg: 'rightLeg',
  RightFoot: 'rightLeg',
  RightToes: 'rightLeg',
};

export type Limb = 'torso' | 'head' | 'leftArm' | 'rightArm' | 'leftLeg' | 'rightLeg';

/** Source joint name -> canonical joint name. Joints not listed (e.g. a ground root) are dropped. */
export type JointMapping = Readonly<Record<string, JointName>>;

/** Bandai Namco Research Motion Dataset 1/2: `joint_Root` (ground projection) is dropped. */
export const BANDAI_NAMCO_MAPPING: JointMapping = {
  Hips: 'Hips',
  Spine: 'Spine',
  Chest: 'Chest',
  Neck: 'Neck',
  Head: 'Head',
  Shoulder_L: 'LeftShoulder',
  UpperArm_L: 'LeftUpperArm',
  LowerArm_L: 'LeftLowerArm',
  Hand_L: 'LeftHand',
  Shoulder_R: 'RightShoulder',
  UpperArm_R: 'RightUpperArm',
  LowerArm_R: 'RightLowerArm',
  Hand_R: 'RightHand',
  UpperLeg_L: 'LeftUpperLeg',
  LowerLeg_L: 'LeftLowerLeg',
  Foot_L: 'LeftFoot',
  Toes_L: 'LeftToes',
  UpperLeg_R: 'RightUpperLeg',
  LowerLeg_R: 'RightLowerLeg',
  Foot_R: 'RightFoot',
  Toes_R: 'RightToes',
};

/** Mixamo rigs (`mixamorig:` prefix is stripped before lookup). */
export const MIXAMO_MAPPING: JointMapping = {
  Hips: 'Hips',
  Spine: 'Spine',
  Spine1: 'Chest',
  Neck: 'Neck',
  Head: 'Head',
  LeftShoulder: 'LeftShoulder',
  LeftArm: 'LeftUpperArm',
  LeftForeArm: 'LeftLowerArm',
  LeftHand: 'LeftHand',
  RightShoulder: 'RightShoulder',
  RightArm: 'RightUpperArm',
  RightForeArm: 'RightLowerArm',
  RightHand: 'RightHand',
  LeftUpLeg: 'LeftUpperLeg',
  LeftLeg: 'LeftLowerLeg',
  LeftFoot: 'LeftFoot',
  LeftToeBase: 'LeftToes',
  RightUpLeg: 'RightUpperLeg',
  RightLeg: 'RightLowerLeg',
  RightFoot: 'RightFoot',
  RightToeBase: 'RightToes',
};

/** VRM humanoid bone names (lowerCamelCase HumanBodyBones). */
export const VRM_MAPPING: JointMapping = Object.fromEntries(
  CANONICAL_JOINTS.map((name) => [name[0]!.toLowerCase() + name.slice(1), name]),
) as JointMapping;

/** Canonical names map onto themselves (Unity HumanBodyBones, our own protocol). */
export const CANONICAL_MAPPING: JointMapping = Object.fromEntries(
  CANONICAL_JOINTS.map((name) => [name, name]),
) as JointMapping;

export const SOURCE_MAPPINGS = {
  canonical: CANONICAL_MAPPING,
  'bandai-namco': BANDAI_NAMCO_MAPPING,
  mixamo: MIXAMO_MAPPING,
  vrm: VRM_MAPPING,
} as const satisfies Record<string, JointMapping>;

export type SourceName = keyof typeof SOURCE_MAPPINGS;

export const JOINT_COUNT = CANONICAL_JOINTS.length;

export function jointIndex(name: JointName): number {
  return CANONICAL_JOINTS.indexOf(name);
}

/** Parent index per canonical joint index (-1 for the root). */
export const PARENT_INDEX: readonly number[] = CANONICAL_JOINTS.map((name) => {
  const parent = CANONICAL_PARENT[name];
  return parent === null ? -1 : CANONICAL_JOINTS.indexOf(parent);
});

/** Strips rig prefixes such as `mixamorig:` and finds the canonical name in any known table. */
export function guessCanonicalName(sourceName: string): JointName | undefined {
  const bare = sourceName.replace(/^.*:/, '');
  for (const mapping of Object.values(SOURCE_MAPPINGS) as JointMapping[]) {
    const hit = mapping[bare];
    if (hit !== undefined) return hit;
  }
  return undefined;
}
