import { describe, expect, it } from 'vitest';
import { BANDAI_NAMCO_MAPPING, CANONICAL_JOINTS, MIXAMO_MAPPING } from '../src/model/skeleton.js';
import { SkeletonError, presetJointNames, resolveSkeletonLayout } from '../src/stream/skeleton-layout.js';

const identity = CANONICAL_JOINTS.map((_, i) => i);

describe('skeleton layout', () => {
  it.each(['canonical', 'unity', 'vrm', 'bandai-namco', 'mixamo'] as const)('preset %s: 21 joints in canonical order', (preset) => {
    const layout = resolveSkeletonLayout(preset, 'm');
    expect(layout.declaredJoints).toBe(21);
    expect(Array.from(layout.sourceIndex)).toEqual(identity);
    expect(presetJointNames(preset)).toHaveLength(21);
  });

  it('preset names are the rig names', () => {
    expect(presetJointNames('mixamo')).toEqual(Object.keys(MIXAMO_MAPPING));
    expect(presetJointNames('bandai-namco')).toEqual(Object.keys(BANDAI_NAMCO_MAPPING));
    expect(presetJointNames('vrm')[0]).toBe('hips');
    expect(presetJointNames('unity')).toEqual([...CANONICAL_JOINTS]);
  });

  it('maps a custom joint list in any order, with rig prefixes and extra joints', () => {
    const names = ['Root', ...[...Object.keys(MIXAMO_MAPPING)].reverse().map((n) => `mixamorig:${n}`), 'LeftHandIndex1'];
    const layout = resolveSkeletonLayout(names, 'cm');
    expect(layout.declaredJoints).toBe(23);
    expect(layout.metresPerUnit).toBe(0.01);
    // canonical joint i is the (21 - i)th declared name after 'Root'
    expect(Array.from(layout.sourceIndex)).toEqual(identity.map((i) => 21 - i));
  });

  it('takes the first declared joint when two map to the same canonical joint', () => {
    const names = [...CANONICAL_JOINTS, 'hips'];
    expect(resolveSkeletonLayout(names, 'mm').sourceIndex[0]).toBe(0);
    expect(resolveSkeletonLayout(names, 'mm').metresPerUnit).toBe(0.001);
  });

  it('names the missing canonical joints', () => {
    const names = CANONICAL_JOINTS.filter((n) => n !== 'LeftToes' && n !== 'Head');
    expect(() => resolveSkeletonLayout(names, 'm')).toThrow(SkeletonError);
    expect(() => resolveSkeletonLayout(names, 'm')).toThrow(/lacks 2 .*Head, LeftToes/);
  });

  it('bounds the list', () => {
    expect(() => resolveSkeletonLayout([], 'm')).toThrow(/1 to 256/);
    expect(() => resolveSkeletonLayout([...CANONICAL_JOINTS, ...Array.from({ length: 300 }, (_, i) => `x${i}`)], 'm')).toThrow(/1 to 256/);
  });
});
