/**
 * Chooses the tfjs backend. `tensorflow` loads @tensorflow/tfjs-node-gpu (an optional
 * dependency: native libtensorflow, CUDA when present) at run time, `wasm` is the
 * portable default, `cpu` the pure-JS last resort (30-90x slower than wasm).
 */
import * as tf from '@tensorflow/tfjs-core';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export class BackendError extends Error {
  override readonly name = 'BackendError';
}

async function loadTensorflowBinding(): Promise<void> {
  const candidates = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
  const failures: string[] = [];
  for (const pkg of candidates) {
    try {
      // A variable specifier keeps bundlers and the type checker from requiring the optional package.
      await import(/* @vite-ignore */ pkg);
      return;
    } catch (error) {
      failures.push(`${pkg}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new BackendError(
    `backend 'tensorflow' needs @tensorflow/tfjs-node-gpu (or tfjs-node) with its native library; ` +
      `install it on a machine that can download libtensorflow, or use --backend wasm. (${failures.join('; ')})`,
  );
}

/** Selects and initialises a backend; throws a BackendError with a clear message when it cannot. */
export async function initBackend(name: BackendName): Promise<BackendName> {
  if (tf.getBackend() === name || (name === 'tensorflow' && tf.getBackend() === 'tensorflow')) return name;
  switch (name) {
    case 'tensorflow':
      await loadTensorflowBinding();
      break;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    default:
      throw new BackendError(`unknown backend '${String(name)}' (known: ${BACKEND_NAMES.join(', ')})`);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendError(`tf.setBackend('${name}') failed: the backend did not initialise`);
  await tf.ready();
  return name;
}

/** The backend from an explicit choice, else $MOTIONGUARD_BACKEND, else wasm. */
export function resolveBackendName(explicit?: string): BackendName {
  const name = explicit ?? process.env.MOTIONGUARD_BACKEND ?? 'wasm';
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new BackendError(`unknown backend '${name}' (known: ${BACKEND_NAMES.join(', ')})`);
  }
  return name as BackendName;
}
