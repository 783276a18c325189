import { describe, it, expect } from 'vitest';
import { BvhParseError, parseBvh } from '../src/model/bvh.js';

/** Root with 6 channels, a 3-channel child with ZXY order, and a grandchild with an End Site. */
const TINY = [
  'HIERARCHY',
  'ROOT Hips',
  '{',
  '\tOFFSET 0.0 90.0 0.0',
  '\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation',
  '\tJOINT Spine',
  '\t{',
  '\t\tOFFSET 0 10 0',
  '\t\tCHANNELS 3 Zrotation Xrotation Yrotation',
  '\t\tJOINT Head',
  '\t\t{',
  '\t\t\tOFFSET 0 1.5e1 -2.5E-1',
  '\t\t\tCHANNELS 3 Xrotation Yrotation Zrotation',
  '\t\t\tEnd Site',
  '\t\t\t{',
  '\t\t\t\tOFFSET 0 5 0',
  '\t\t\t}',
  '\t\t}',
  '\t}',
  '}',
  'MOTION',
  'Frames: 2',
  'Frame Time: 0.0333333',
  '1 90 2 0 0 0 10 20 30 -1 -2 -3',
  '1.5 91 2.5 1e1 0 0 0 0 0 4 5 6',
  '',
].join('\n');

function expectParseError(text: string, line: number, pattern: RegExp): void {
  let caught: unknown;
  try {
    parseBvh(text, 'bad.bvh');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BvhParseError);
  const error = caught as BvhParseError;
  expect(error.fileName).toBe('bad.bvh');
  expect(error.line).toBe(line);
  expect(error.message.startsWith(`bad.bvh:${line}: `)).toBe(true);
  expect(error.message).toMatch(pattern);
}

/** Replaces the 1-based line `line` of TINY. */
function withLine(line: number, replacement: string): string {
  const lines = TINY.split('\n');
  lines[line - 1] = replacement;
  return lines.join('\n');
}

describe('parseBvh', () => {
  it('parses a tiny 3-joint hierarchy', () => {
    const clip = parseBvh(TINY, 'tiny.bvh');
    expect(clip.joints.map((j) => j.name)).toEqual(['Hips', 'Spine', 'Head']);
    expect(clip.joints.map((j) => j.parentIndex)).toEqual([-1, 0, 1]);
    expect(clip.joints[0]!.offset).toEqual([0, 90, 0]);
    expect(clip.joints[2]!.offset).toEqual([0, 15, -0.25]);
    expect(clip.joints[0]!.channels).toEqual([
      'Xposition',
      'Yposition',
      'Zposition',
      'Zrotation',
      'Xrotation',
      'Yrotation',
    ]);
    expect(clip.joints[1]!.channels).toEqual(['Zrotation', 'Xrotation', 'Yrotation']);
    expect(clip.joints[2]!.channels).toEqual(['Xrotation', 'Yrotation', 'Zrotation']);
    expect(clip.joints.map((j) => j.channelOffset)).toEqual([0, 6, 9]);
    expect(clip.joints.map((j) => j.endSite)).toEqual([null, null, [0, 5, 0]]);
    expect(clip.channelCount).toBe(12);
    expect(clip.frameCount).toBe(2);
    expect(clip.frameTime).toBeCloseTo(1 / 30, 6);
    expect(clip.data).toBeInstanceOf(Float32Array);
    expect(clip.data.length).toBe(24);
    expect(Array.from(clip.data.subarray(0, 12))).toEqual([1, 90, 2, 0, 0, 0, 10, 20, 30, -1, -2, -3]);
    expect(clip.data[12]).toBe(1.5);
    expect(clip.data[15]).toBe(10);
  });

  it('accepts CRLF, tabs, blank lines, brace on the name line and scientific notation', () => {
    const text = [
      '',
      'HIERARCHY\t',
      'ROOT\tRoot {',
      '  OFFSET\t0 0 0',
      '  CHANNELS 3 Xposition Yposition Zposition',
      '',
      '  End Site { OFFSET 1 2 3 }',
      '}',
      'MOTION',
      'Frames:\t3',
      'Frame Time:\t4.1666667e-2',
      '1e2\t-2.5E-3  +3',
      '',
      '4 5 6',
      '7 8 9   ',
      '',
      '',
    ].join('\r\n');
    const clip = parseBvh(text, 'crlf.bvh');
    expect(clip.joints).toHaveLength(1);
    expect(clip.joints[0]!.endSite).toEqual([1, 2, 3]);
    expect(clip.frameCount).toBe(3);
    expect(clip.frameTime).toBeCloseTo(1 / 24, 8);
    expect(clip.data[0]).toBe(100);
    expect(clip.data[1]).toBeCloseTo(-0.0025, 7);
    expect(clip.data[2]).toBe(3);
    expect(clip.data[8]).toBe(9);
  });

  it('accepts a joint without channels and zero frames', () => {
    const text = 'HIERARCHY\nROOT A\n{\nOFFSET 0 0 0\nCHANNELS 0\nJOINT B\n{\nOFFSET 1 0 0\n}\n}\nMOTION\nFrames: 0\nFrame Time: 0.01\n';
    const clip = parseBvh(text, 'empty.bvh');
    expect(clip.joints.map((j) => j.channels.length)).toEqual([0, 0]);
    expect(clip.frameCount).toBe(0);
    expect(clip.data.length).toBe(0);
  });

  describe('malformed input throws BvhParseError with file and line', () => {
    it('missing HIERARCHY', () => {
      expectParseError(TINY.replace('HIERARCHY\n', ''), 1, /HIERARCHY/);
      expectParseError('', 1, /HIERARCHY/);
    });

    it('missing MOTION', () => {
      // The motion header then shows up where MOTION was expected.
      expectParseError(withLine(21, ''), 22, /expected 'MOTION', found 'Frames:'/);
      const hierarchyOnly = TINY.split('\n').slice(0, 20).join('\n') + '\n\n';
      expectParseError(hierarchyOnly, 20, /missing 'MOTION'/);
    });

    it('unbalanced braces: missing closing brace', () => {
      expectParseError(withLine(20, ''), 21, /expected '}' to close joint Hips \(opened at line 3\), found 'MOTION'/);
    });

    it('unbalanced braces: extra closing brace', () => {
      expectParseError(withLine(20, '}\n}'), 21, /unbalanced braces/);
    });

    it("missing '{' after a JOINT name", () => {
      expectParseError(withLine(7, ''), 8, /expected '\{' after JOINT name, found 'OFFSET'/);
    });

    it('unknown channel name', () => {
      expectParseError(withLine(9, '\t\tCHANNELS 3 Zrotation Wrotation Yrotation'), 9, /unknown channel name 'Wrotation'/);
    });

    it('channel count larger than the names given', () => {
      expectParseError(withLine(9, '\t\tCHANNELS 4 Zrotation Xrotation Yrotation'), 10, /unknown channel name 'JOINT'/);
    });

    it('bad number in OFFSET', () => {
      expectParseError(withLine(12, '\t\t\tOFFSET 0 abc 0'), 12, /invalid number 'abc'/);
      expectParseError(withLine(12, '\t\t\tOFFSET 0 NaN 0'), 12, /invalid number 'NaN'/);
    });

    it('bad number in frame data', () => {
      expectParseError(withLine(25, '1.5 91 2.5 1e1 0 0 0 x 0 4 5 6'), 25, /invalid number 'x'/);
      expectParseError(withLine(24, '1 90 2 0 0 0 10 20 30 -1 -2 NaN'), 24, /invalid number 'NaN'/);
      expectParseError(withLine(24, '1 90 2 0 0 0 10 20 30 -1 -2 1.2.3'), 24, /invalid number '1\.2\.3'/);
    });

    it('wrong count of values on a motion line', () => {
      expectParseError(withLine(25, '1.5 91 2.5 1e1 0 0 0 0 0 4 5'), 25, /expected 12 values on a frame line, found 11/);
      expectParseError(withLine(24, '1 90 2 0 0 0 10 20 30 -1 -2 -3 7'), 24, /expected 12 values on a frame line, found 13/);
    });

    it('Frames count disagreeing with the lines present', () => {
      expectParseError(withLine(22, 'Frames: 3'), 22, /'Frames: 3' but only 2 frame lines/);
      expectParseError(withLine(22, 'Frames: 1'), 25, /'Frames: 1' \(line 22\) but more frame lines/);
      expectParseError(withLine(22, 'Frames: 2.5'), 22, /invalid frame count '2\.5'/);
      expectParseError(withLine(22, 'Frames: -1'), 22, /invalid frame count/);
    });

    it('non-positive or missing Frame Time', () => {
      expectParseError(withLine(23, 'Frame Time: 0'), 23, /Frame Time must be a positive number, found '0'/);
      expectParseError(withLine(23, 'Frame Time: -0.01'), 23, /Frame Time must be a positive number/);
      expectParseError(withLine(23, 'Frame Time: abc'), 23, /Frame Time must be a positive number/);
      expectParseError(withLine(23, ''), 24, /expected 'Frame Time:'/);
    });

    it('reports the right line with CRLF line ends', () => {
      const crlf = withLine(9, '\t\tCHANNELS 3 Zrotation Xrotation Qrotation').replace(/\n/g, '\r\n');
      expectParseError(crlf, 9, /unknown channel name 'Qrotation'/);
    });
  });
});
