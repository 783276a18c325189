/**
 * Named model parameters as tfjs variables, with seeded initialisation and a flat
 * binary form (one Float32 buffer + a manifest) for saving and for passing between
 * worker threads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gaussian, seededRandom } from './random.js';

export interface ParamManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

export type Init = 'zeros' | 'ones' | { readonly normal: number } | Float32Array;

/**
 * Sets a variable from plain numbers. `assign` copies, so the source tensor is freed here:
 * left alive, training (which reloads every weight each step) leaked a full set of weights
 * per step into the wasm heap and died at epoch 95 with 'memory access out of bounds'.
 */
export function assignValues(v: tf.Variable, values: Float32Array): void {
  const value = tf.tensor(values, v.shape);
  v.assign(value);
  value.dispose();
}

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  /** Creates (or returns the existing) variable `name`. */
  get(name: string, shape: readonly number[], init: Init, trainable = true): tf.Variable {
    const existing = this.vars.get(name);
    if (existing) return existing;
    const size = shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (init instanceof Float32Array) values = init;
    else if (init === 'zeros') values = new Float32Array(size);
    else if (init === 'ones') values = new Float32Array(size).fill(1);
    else {
      values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = gaussian(this.random) * init.normal;
    }
    // Unnamed: tfjs variable names are process-global, and two models may live in one process.
    const variable = tf.variable(tf.tensor(values, [...shape]), trainable);
    this.vars.set(name, variable);
    return variable;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  variable(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter '${name}'`);
    return v;
  }

  /** Trainable variables whose name starts with the prefix, in creation order. */
  trainable(prefix = ''): tf.Variable[] {
    return [...this.vars.entries()].filter(([n, v]) => n.startsWith(prefix) && v.trainable).map(([, v]) => v);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  count(prefix = ''): number {
    let n = 0;
    for (const [name, v] of this.vars) if (name.startsWith(prefix)) n += v.size;
    return n;
  }

  /** All parameters as one buffer plus a manifest (names, shapes, offsets). */
  serialise(): { manifest: ParamManifestEntry[]; data: Float32Array } {
    const manifest: ParamManifestEntry[] = [];
    let offset = 0;
    for (const [name, v] of this.vars) {
      manifest.push({ name, shape: v.shape, offset, size: v.size });
      offset += v.size;
    }
    const data = new Float32Array(offset);
    for (const entry of manifest) data.set(this.variable(entry.name).dataSync() as Float32Array, entry.offset);
    return { manifest, data };
  }

  /** Loads values into existing variables; shapes must match exactly. */
  load(manifest: readonly ParamManifestEntry[], data: Float32Array): void {
    const seen = new Set<string>();
    for (const entry of manifest) {
      const v = this.vars.get(entry.name);
      if (!v) throw new Error(`weights contain '${entry.name}', which this model configuration does not have`);
      if (v.shape.join('x') !== entry.shape.join('x')) {
        throw new Error(`weights '${entry.name}' have shape [${entry.shape}] but the configuration needs [${v.shape}]`);
      }
      if (entry.offset + entry.size > data.length) throw new Error(`weights file too short for '${entry.name}'`);
      assignValues(v, data.subarray(entry.offset, entry.offset + entry.size));
      seen.add(entry.name);
    }
    const missing = this.names().filter((n) => !seen.has(n));
    if (missing.length) throw new Error(`weights lack ${missing.length} parameters: ${missing.slice(0, 5).join(', ')}`);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
