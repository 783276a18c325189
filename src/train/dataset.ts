/**
 * Dataset loading: finds BVH files on disk and turns each into a canonical Motion
 * (parse -> detect joint mapping -> forward kinematics -> resample).
 */

import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BvhParseError, parseBvh } from '../model/bvh.js';
import { bvhToMotion, detectMapping } from '../model/forward-kinematics.js';
import type { Motion } from '../model/motion.js';
import { resampleMotion } from '../model/resample.js';
import type { JointMapping } from '../model/skeleton.js';

export const DEFAULT_FPS = 30;

export interface LoadBvhOptions {
  /** Output frame rate; null keeps the file's own rate. Default 30. */
  readonly fps?: number | null;
  /** Source units -> metres. Default 0.01 (centimetres). */
  readonly unitScale?: number;
  /** Source joint name -> canonical name; detected from the joint names when omitted. */
  readonly mapping?: JointMapping;
}

/** Reads one BVH file into a Motion in metres at `fps`; every error names the file. */
export async function loadBvhFile(filePath: string, options: LoadBvhOptions = {}): Promise<Motion> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    throw new Error(`${filePath}: cannot read BVH file: ${(error as Error).message}`, { cause: error });
  }
  try {
    const clip = parseBvh(text, filePath);
    const mapping = options.mapping ?? detectMapping(clip);
    const motion = bvhToMotion(clip, mapping, options.unitScale === undefined ? {} : { unitScale: options.unitScale });
    const fps = options.fps === undefined ? DEFAULT_FPS : options.fps;
    return fps === null ? motion : resampleMotion(motion, fps);
  } catch (error) {
    // Parse errors already carry `file:line:`; prefix the rest so the file is always named.
    if (error instanceof BvhParseError) throw error;
    throw new Error(`${filePath}: ${(error as Error).message}`, { cause: error });
  }
}

function hasWildcard(segment: string): boolean {
  return segment.includes('*') || segment.includes('?');
}

/** `*` = any run of characters, `?` = one character; everything else literal. */
function wildcardToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

async function walkBvhFiles(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walkBvhFiles(full, out);
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.bvh')) out.push(full);
  }
}

async function expandGlob(input: string, out: string[]): Promise<void> {
  const dir = path.dirname(input);
  if (hasWildcard(dir)) throw new Error(`${input}: wildcards are only supported in the last path segment`);
  const matcher = wildcardToRegExp(path.basename(input));
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new Error(`${input}: cannot list directory ${dir}: ${(error as Error).message}`, { cause: error });
  }
  for (const entry of entries) {
    if (entry.isFile() && matcher.test(entry.name)) out.push(path.join(dir, entry.name));
  }
}

/**
 * Expands inputs (directories searched recursively for *.bvh, plain files, or globs with
 * `*`/`?` in the last segment) into sorted, de-duplicated absolute paths.
 */
export async function listBvhFiles(inputs: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const input of inputs) {
    if (hasWildcard(path.basename(input))) {
      await expandGlob(input, found);
      continue;
    }
    let info;
    try {
      info = await stat(input);
    } catch (error) {
      throw new Error(`${input}: no such file or directory`, { cause: error });
    }
    if (info.isDirectory()) await walkBvhFiles(input, found);
    else found.push(input);
  }
  const unique = [...new Set(found.map((file) => path.resolve(file)))].sort();
  if (unique.length === 0) throw new Error(`no BVH files found in: ${inputs.join(', ') || '(no inputs)'}`);
  return unique;
}

export interface BandaiNamcoName {
  readonly motion: string;
  readonly style: string;
  readonly take: string;
}

const BANDAI_NAMCO_NAME = /^dataset-\d+_([a-z0-9-]+)_([a-z0-9-]+)_(\d+)\.bvh$/i;

/** Splits `dataset-2_walk-turn-left_feminine_012.bvh` into motion, style and take. */
export function parseBandaiNamcoName(fileName: string): BandaiNamcoName | null {
  const match = BANDAI_NAMCO_NAME.exec(path.basename(fileName));
  if (match === null) return null;
  return { motion: match[1]!, style: match[2]!, take: match[3]! };
}
