/** The machine and the code a run measured: what a figure means depends on both. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './server-process.js';

export interface MachineInfo {
  readonly cpuModel: string;
  /** Logical CPUs the OS reports, and how many this process may use. */
  readonly cores: number;
  readonly availableParallelism: number;
  readonly memoryBytes: number;
  readonly freeMemoryBytesAtStart: number;
  readonly loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  readonly platform: string;
  readonly node: string;
  readonly v8: string;
  readonly tfjs: string;
}

export interface CodeState {
  readonly commit: string | null;
  /** Files of src/, bin/ and models/ that differ from the commit: the run measured them as they were. */
  readonly uncommitted: string[];
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    freeMemoryBytesAtStart: os.freemem(),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    loadAverageAtEnd: [],
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    tfjs: packageVersion('@tensorflow/tfjs-core'),
  };
}

export function codeState(): CodeState {
  const git = (args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    } catch {
      return null;
    }
  };
  const status = git(['status', '--porcelain', '--', 'src', 'bin', 'models']);
  return {
    commit: git(['rev-parse', '--short=12', 'HEAD']),
    uncommitted: status ? status.split('\n').filter((line) => line.length > 3).map((line) => line.slice(3)) : [],
  };
}
