/**
 * CPU time and memory of processes, and of the whole machine, from Linux /proc: the parsers
 * are pure; the readers return null where /proc is missing (other systems), so the report
 * says "not measured" instead of guessing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessCpu {
  /** User + system CPU seconds of every thread of the process so far. */
  readonly cpuSeconds: number;
}

export interface ProcessMemory {
  readonly rssBytes: number;
  /** Peak resident set size since the process started. */
  readonly peakRssBytes: number;
  readonly threads: number;
}

export interface MachineCpu {
  /** Sum of all CPU time counters over all cores, seconds. */
  readonly totalSeconds: number;
  /** Idle + iowait, seconds. */
  readonly idleSeconds: number;
}

/** /proc/<pid>/stat: utime and stime (fields 14 and 15) in clock ticks. The command name may hold spaces and parentheses, so fields are counted after the last ')'. */
export function parseProcStat(text: string, ticksPerSecond: number): ProcessCpu {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state): utime is field 14 -> index 11, stime field 15 -> index 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('cannot read utime/stime from /proc/<pid>/stat');
  return { cpuSeconds: (utime + stime) / ticksPerSecond };
}

/** /proc/<pid>/status: VmRSS, VmHWM (kB) and Threads. */
export function parseProcStatus(text: string): ProcessMemory {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    if (!match) throw new Error(`no ${name} in /proc/<pid>/status`);
    return Number(match[1]);
  };
  return { rssBytes: field('VmRSS') * 1024, peakRssBytes: field('VmHWM') * 1024, threads: field('Threads') };
}

/** The aggregate `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal ...), in ticks. */
export function parseMachineStat(text: string, ticksPerSecond: number): MachineCpu {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  // guest and guest_nice (fields 9-10) are already counted in user and nice.
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { totalSeconds: total / ticksPerSecond, idleSeconds: idle / ticksPerSecond };
}

let ticks: number | null = null;

/** USER_HZ, the unit of /proc CPU times (100 on practically every Linux). */
export function clockTicksPerSecond(): number {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

function readOrNull<T>(file: string, parse: (text: string) => T): T | null {
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

export function readProcessCpu(pid: number): ProcessCpu | null {
  return readOrNull(`/proc/${pid}/stat`, (text) => parseProcStat(text, clockTicksPerSecond()));
}

export function readProcessMemory(pid: number): ProcessMemory | null {
  return readOrNull(`/proc/${pid}/status`, parseProcStatus);
}

export function readMachineCpu(): MachineCpu | null {
  return readOrNull('/proc/stat', (text) => parseMachineStat(text, clockTicksPerSecond()));
}

/**
 * Cores busy between two machine readings, and how many of them were busy with anything
 * other than `ownCpuSeconds` (our own processes' CPU time over the same interval): other
 * engineers' work on a shared machine.
 */
export function machineBusy(before: MachineCpu, after: MachineCpu, wallSeconds: number, ownCpuSeconds: number): { busyCores: number; otherCores: number } {
  const busy = after.totalSeconds - before.totalSeconds - (after.idleSeconds - before.idleSeconds);
  const busyCores = wallSeconds > 0 ? busy / wallSeconds : 0;
  const otherCores = wallSeconds > 0 ? Math.max(0, (busy - ownCpuSeconds) / wallSeconds) : 0;
  return { busyCores, otherCores };
}
