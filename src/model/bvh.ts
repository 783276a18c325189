/**
 * BVH (Biovision Hierarchy) reader: a pure text -> data parser with no I/O.
 * The hierarchy is read as a token stream (so `{` may sit on the same line as a
 * joint name or on its own), the motion section line by line (one frame per line).
 */

export const BVH_CHANNELS = [
  'Xposition',
  'Yposition',
  'Zposition',
  'Xrotation',
  'Yrotation',
  'Zrotation',
] as const;

export type BvhChannel = (typeof BVH_CHANNELS)[number];

export type Vec3 = readonly [number, number, number];

export interface BvhJoint {
  readonly name: string;
  /** Index into BvhClip.joints; -1 for a root. Parents always precede their children. */
  readonly parentIndex: number;
  readonly offset: Vec3;
  /** Channel names in the order declared by CHANNELS (the order of values in a frame). */
  readonly channels: readonly BvhChannel[];
  /** Index of this joint's first channel within one frame's values. */
  readonly channelOffset: number;
  readonly endSite: Vec3 | null;
}

export interface BvhClip {
  readonly joints: readonly BvhJoint[];
  readonly frameCount: number;
  /** Seconds per frame, as written in the file. */
  readonly frameTime: number;
  /** Values per frame (sum of every joint's channel count). */
  readonly channelCount: number;
  /** Frame-major: data[t * channelCount + channelOffset + k]. */
  readonly data: Float32Array;
}

export class BvhParseError extends Error {
  readonly fileName: string;
  readonly line: number;

  constructor(fileName: string, line: number, detail: string) {
    super(`${fileName}:${line}: ${detail}`);
    this.name = 'BvhParseError';
    this.fileName = fileName;
    this.line = line;
  }
}

interface Token {
  readonly text: string;
  readonly line: number;
}

/** Case-insensitive lookup so `xrotation` or `XROTATION` from odd exporters still parse. */
const CHANNEL_BY_LOWER: ReadonlyMap<string, BvhChannel> = new Map(BVH_CHANNELS.map((c) => [c.toLowerCase(), c]));

const CODE_SPACE = 32;
const CODE_TAB = 9;
const CODE_CR = 13;
const CODE_VT = 11;
const CODE_FF = 12;

function isSpace(code: number): boolean {
  return code === CODE_SPACE || code === CODE_TAB || code === CODE_CR || code === CODE_VT || code === CODE_FF;
}

function splitLines(text: string): string[] {
  // Strip a UTF-8 BOM; accept LF, CRLF and lone CR line ends.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return body.split(/\r\n|\r|\n/);
}

function tokensOf(line: string): string[] {
  const trimmed = line.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

/** Number() accepts '', 'Infinity' and hex; BVH wants finite decimals only, so reject the rest. */
function toFiniteNumber(token: string): number {
  const value = Number(token);
  if (!Number.isFinite(value) || token === '') return Number.NaN;
  return value;
}

class HierarchyReader {
  private pos = 0;
  readonly joints: BvhJoint[] = [];
  channelCount = 0;

  constructor(
    private readonly fileName: string,
    private readonly tokens: readonly Token[],
    /** Line reported when the tokens run out (the MOTION line, or the file's last line). */
    private readonly endLine: number,
    private readonly endWhat: string,
  ) {}

  fail(line: number, detail: string): never {
    throw new BvhParseError(this.fileName, line, detail);
  }

  peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  next(expected: string): Token {
    const token = this.tokens[this.pos];
    if (token === undefined) this.fail(this.endLine, `expected ${expected}, found ${this.endWhat}`);
    this.pos += 1;
    return token;
  }

  done(): boolean {
    return this.pos >= this.tokens.length;
  }

  expectWord(word: string, context: string): Token {
    const token = this.next(`'${word}' ${context}`);
    if (token.text !== word) this.fail(token.line, `expected '${word}' ${context}, found '${token.text}'`);
    return token;
  }

  readNumber(what: string): number {
    const token = this.next(what);
    const value = toFiniteNumber(token.text);
    if (Number.isNaN(value)) this.fail(token.line, `invalid number '${token.text}' in ${what}`);
    return value;
  }

  readOffset(owner: string): Vec3 {
    this.expectWord('OFFSET', `in ${owner}`);
    const what = `OFFSET of ${owner}`;
    return [this.readNumber(what), this.readNumber(what), this.readNumber(what)];
  }

  readChannels(owner: string): BvhChannel[] {
    const countToken = this.next(`channel count of ${owner}`);
    const count = Number(countToken.text);
    if (!Number.isInteger(count) || count < 0 || count > BVH_CHANNELS.length) {
      this.fail(countToken.line, `invalid channel count '${countToken.text}' for ${owner}`);
    }
    const channels: BvhChannel[] = [];
    for (let k = 0; k < count; k++) {
      const token = this.next(`channel name of ${owner}`);
      const channel = CHANNEL_BY_LOWER.get(token.text.toLowerCase());
      if (channel === undefined) this.fail(token.line, `unknown channel name '${token.text}' for ${owner}`);
      if (channels.includes(channel)) this.fail(token.line, `duplicate channel '${channel}' for ${owner}`);
      channels.push(channel);
    }
    return channels;
  }

  /** Reads `NAME { OFFSET ... CHANNELS ... children }` after ROOT/JOINT. */
  readJoint(keyword: string, parentIndex: number): void {
    const nameToken = this.next(`a name after ${keyword}`);
    if (nameToken.text === '{') this.fail(nameToken.line, `expected a name after ${keyword}, found '{'`);
    const name = nameToken.text;
    const open = this.expectWord('{', `after ${keyword} name`);
    const offset = this.readOffset(`joint ${name}`);

    let channels: BvhChannel[] = [];
    if (this.peek()?.text === 'CHANNELS') {
      this.pos += 1;
      channels = this.readChannels(`joint ${name}`);
    }
    const index = this.joints.length;
    const joint = { name, parentIndex, offset, channels, channelOffset: this.channelCount, endSite: null as Vec3 | null };
    this.joints.push(joint);
    this.channelCount += channels.length;

    for (;;) {
      const token = this.next(`'}' to close joint ${name} (opened at line ${open.line})`);
      if (token.text === '}') return;
      if (token.text === 'JOINT') {
        this.readJoint('JOINT', index);
      } else if (token.text === 'End') {
        this.expectWord('Site', "after 'End'");
        this.expectWord('{', "after 'End Site'");
        const site = this.readOffset(`End Site of ${name}`);
        this.expectWord('}', `to close End Site of ${name}`);
        // Keep the first end site; a second one carries no extra information for FK.
        joint.endSite ??= site;
      } else {
        this.fail(token.line, `unexpected '${token.text}' in joint ${name}; expected JOINT, End Site or '}'`);
      }
    }
  }
}

function parseHierarchy(
  fileName: string,
  lines: readonly string[],
): { joints: BvhJoint[]; channelCount: number; motionLine: number } {
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first += 1;
  const firstLine = lines[first];
  if (firstLine === undefined || tokensOf(firstLine)[0] !== 'HIERARCHY') {
    throw new BvhParseError(fileName, Math.min(first + 1, lines.length), "missing 'HIERARCHY' at the start of the file");
  }
  const headerRest = tokensOf(firstLine).slice(1);

  const tokens: Token[] = headerRest.map((text) => ({ text, line: first + 1 }));
  let motionLine = -1;
  for (let i = first + 1; i < lines.length; i++) {
    const words = tokensOf(lines[i]!);
    if (words[0] === 'MOTION') {
      motionLine = i + 1;
      break;
    }
    for (const text of words) tokens.push({ text, line: i + 1 });
  }

  const lastLine = lastNonBlankLine(lines);
  const endLine = motionLine > 0 ? motionLine : lastLine;
  const endWhat = motionLine > 0 ? "'MOTION'" : 'end of file';
  const reader = new HierarchyReader(fileName, tokens, endLine, endWhat);
  const root = reader.next("'ROOT'");
  if (root.text !== 'ROOT') reader.fail(root.line, `expected 'ROOT', found '${root.text}'`);
  reader.readJoint('ROOT', -1);
  // Some exporters write several ROOTs (e.g. props); each is parsed as its own tree.
  while (!reader.done()) {
    const token = reader.next("'ROOT' or 'MOTION'");
    if (token.text === 'ROOT') {
      reader.readJoint('ROOT', -1);
    } else if (token.text === '}') {
      reader.fail(token.line, "unbalanced braces: unexpected '}' after the root joint was closed");
    } else {
      reader.fail(token.line, `expected 'MOTION', found '${token.text}'`);
    }
  }
  if (motionLine < 0) throw new BvhParseError(fileName, lastLine, "missing 'MOTION' section");
  return { joints: reader.joints, channelCount: reader.channelCount, motionLine };
}

/** Returns the text after `label` (e.g. 'Frames:') on a line, or undefined if the line has another label. */
function valueAfterLabel(line: string, label: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed.length < label.length || trimmed.slice(0, label.length).toLowerCase() !== label.toLowerCase()) {
    return undefined;
  }
  return trimmed.slice(label.length).trim();
}

/** 1-based number of the last line with content (so a trailing newline is not blamed). */
function lastNonBlankLine(lines: readonly string[]): number {
  let i = lines.length - 1;
  while (i > 0 && lines[i]!.trim() === '') i -= 1;
  return i + 1;
}

function nextNonBlank(lines: readonly string[], from: number): number {
  let i = from;
  while (i < lines.length && lines[i]!.trim() === '') i += 1;
  return i;
}

/**
 * Parses the whitespace-separated numbers of one frame line straight into `out`
 * (no split/array per line: this loop handles every number of every file).
 */
function readFrameLine(
  fileName: string,
  lineNumber: number,
  line: string,
  out: Float32Array,
  start: number,
  expected: number,
): void {
  let count = 0;
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i += 1;
    if (i >= n) break;
    const tokenStart = i;
    while (i < n && !isSpace(line.charCodeAt(i))) i += 1;
    const token = line.slice(tokenStart, i);
    const value = Number(token);
    if (!Number.isFinite(value)) throw new BvhParseError(fileName, lineNumber, `invalid number '${token}' in frame data`);
    if (count < expected) out[start + count] = value;
    count += 1;
  }
  if (count !== expected) {
    throw new BvhParseError(fileName, lineNumber, `expected ${expected} values on a frame line, found ${count}`);
  }
}

function parseMotion(
  fileName: string,
  lines: readonly string[],
  motionLine: number,
  channelCount: number,
): { frameCount: number; frameTime: number; data: Float32Array } {
  const framesIndex = nextNonBlank(lines, motionLine);
  const framesValue = framesIndex < lines.length ? valueAfterLabel(lines[framesIndex]!, 'Frames:') : undefined;
  const framesLine = framesIndex < lines.length ? framesIndex + 1 : lastNonBlankLine(lines);
  if (framesValue === undefined) throw new BvhParseError(fileName, framesLine, "expected 'Frames:' after MOTION");
  const frameCount = Number(framesValue);
  if (framesValue === '' || !Number.isInteger(frameCount) || frameCount < 0) {
    throw new BvhParseError(fileName, framesLine, `invalid frame count '${framesValue}'`);
  }

  const timeIndex = nextNonBlank(lines, framesIndex + 1);
  const timeValue = timeIndex < lines.length ? valueAfterLabel(lines[timeIndex]!, 'Frame Time:') : undefined;
  const timeLine = timeIndex < lines.length ? timeIndex + 1 : lastNonBlankLine(lines);
  if (timeValue === undefined) throw new BvhParseError(fileName, timeLine, "expected 'Frame Time:' after 'Frames:'");
  const frameTime = toFiniteNumber(timeValue);
  if (!(frameTime > 0)) {
    throw new BvhParseError(fileName, timeLine, `Frame Time must be a positive number, found '${timeValue}'`);
  }

  const data = new Float32Array(frameCount * channelCount);
  let frame = 0;
  for (let i = timeIndex + 1; i < lines.length; i++) {
    const line = lines[i]!;
    // Blank lines (typically trailing) are not frames.
    if (line.trim() === '') continue;
    if (frame >= frameCount) {
      throw new BvhParseError(
        fileName,
        i + 1,
        `'Frames: ${frameCount}' (line ${framesLine}) but more frame lines are present`,
      );
    }
    readFrameLine(fileName, i + 1, line, data, frame * channelCount, channelCount);
    frame += 1;
  }
  if (frame !== frameCount) {
    throw new BvhParseError(fileName, framesLine, `'Frames: ${frameCount}' but only ${frame} frame lines are present`);
  }
  return { frameCount, frameTime, data };
}

/** Parses BVH text; throws BvhParseError (with file name and 1-based line) on malformed input. */
export function parseBvh(text: string, fileName: string): BvhClip {
  const lines = splitLines(text);
  const { joints, channelCount, motionLine } = parseHierarchy(fileName, lines);
  // motionLine is 1-based, so as a 0-based index it already points at the line after MOTION.
  const { frameCount, frameTime, data } = parseMotion(fileName, lines, motionLine, channelCount);
  return { joints, frameCount, frameTime, channelCount, data };
}

/** Index of a joint by name, or -1. */
export function findBvhJoint(clip: BvhClip, name: string): number {
  return clip.joints.findIndex((joint) => joint.name === name);
}
