/**
 * The Unity client (clients/unity, C#) without Unity: compiled with mono's `mcs` together with
 * a stand-in of the few UnityEngine types it touches, and run with `mono`:
 * - the C# unit checks (msgpack codec, protocol, axes, bone fallbacks, the streamer through the
 *   stand-in), with msgpack files exchanged both ways with @msgpack/msgpack and the server's codec;
 * - MotionguardStreamer streaming two humanoids (walker motion, one with a strong limbSwap fault)
 *   and a third rig without its optional bones to the REAL server with the shipped model, and
 *   MotionguardAlerts receiving the alerts;
 * - reconnection: the server restarts on the same port and the client re-sends hello and re-subscribes.
 * Skipped, with a message, where `mcs` or `mono` is missing (CI installs them: see clients/unity/README.md).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decode, encode, Encoder } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANONICAL_JOINTS, jointIndex } from '../src/model/skeleton.js';
import { openStreamingScorer } from '../src/model/streaming.js';
import { decodeMessage, encodeMessage, FrameHeader, framesOf, parseFrame, parseHello, parseSubscribe, Rejection } from '../src/stream/codec.js';
import { DEFAULT_LIMITS, type ServerMessage } from '../src/stream/protocol.js';
import { injectAnomaly } from '../src/synth/anomalies.js';
import { walkerMotion } from '../src/synth/walker.js';
import { FakeScorer } from './helpers/fake-scorer.js';
import { clipPositions } from './helpers/poses.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const UNITY = fileURLToPath(new URL('../clients/unity/', import.meta.url));
const J = CANONICAL_JOINTS.length;

function available(command: string): boolean {
  const result = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

const HAVE_MONO = available('mcs') && available('mono');
if (!HAVE_MONO) {
  console.warn(
    'clients/unity: SKIPPED, `mcs` and/or `mono` not found on PATH. The Unity client tests need them ' +
      '(Debian/Ubuntu: apt-get install -y --no-install-recommends mono-mcs mono-runtime).',
  );
}

/** Every file under `dir` ending in `ext` (sorted, recursive). */
function files(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full, ext));
    else if (name.endsWith(ext)) out.push(full);
  }
  return out;
}

function mcs(args: string[]): void {
  const result = spawnSync('mcs', ['-langversion:7.2', '-warnaserror+', '-r:System.dll', '-r:System.Core.dll', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mcs failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

type Event = Record<string, unknown> & { event: string };

/** The C# test program running under mono: its stdout JSON lines as events, stderr kept for failures. */
class MonoRun {
  readonly events: Event[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(exe: string, args: string[]) {
    this.child = spawn('mono', ['--debug', exe, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        this.events.push(JSON.parse(line) as Event);
      } catch {
        // not an event line
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-20_000);
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  of(event: string): Event[] {
    return this.events.filter((e) => e.event === event);
  }

  alerts(): string[] {
    return this.of('alert').map((a) => `${String(a.avatar)}:${String(a.state)}`);
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  /** What went wrong, for assertion messages. */
  tail(): string {
    return `\n--- events ---\n${this.events.slice(-15).map((e) => JSON.stringify(e)).join('\n')}\n--- stderr ---\n${this.stderr.slice(-4000)}`;
  }

  async until(predicate: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.child.exitCode !== null) throw new Error(`the C# program exited (${this.child.exitCode}) before ${what}${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Little-endian float32 bytes (the motion file's positions). */
function float32Bytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

function pattern(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255);
}

function keyMap(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(2, '0')}`, i]));
}

/** The same value as Fixture() in clients/unity/Tests~/UnitTests.cs: both sides must write the same bytes. */
const FIXTURE = {
  nil: null,
  yes: true,
  no: false,
  ints: [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991, -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991],
  floats: [0.5, -1.25, 0.1, 1e300, -2.5e-300, Math.PI],
  strings: ['', 'a', 'Zürich ✓ 🐈', 'x'.repeat(31), 'x'.repeat(32), 'y'.repeat(255), 'y'.repeat(256), 'z'.repeat(65535), 'z'.repeat(65536)],
  bins: [pattern(0), pattern(255), pattern(256), pattern(65536)],
  arrays: [[], Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), new Array<number>(65536).fill(0)],
  maps: [{}, keyMap(15), keyMap(16)],
  nested: { a: [1, { b: [true, false, null] }], c: { d: { e: 'deep' } } },
};
const FLOAT32S = [1.5, 0.1, -3.4028235e38, 1e-45, -0.5, 123.456].map(Math.fround);

const THRESHOLDS = { frame: 3.24, sequence: 8.3, fraction: 0.1, spike: 25.5 };
/** Encoded by the server's own codec; UnitTests.ServerMessages checks every field. */
const SERVER_MESSAGES: ServerMessage[] = [
  { type: 'ready', v: 1, fps: 30, jointNames: CANONICAL_JOINTS, joints: 21, limits: DEFAULT_LIMITS, thresholds: THRESHOLDS },
  { type: 'error', code: 'bad_joint_count', message: 'joints holds 240 bytes; 21 joints need 252 (float32 x, y, z each)', avatar: 'room7/bob', seq: 1, index: 1 },
  { type: 'subscribed', v: 1, avatars: null, prefix: 'room7/', scores: true, format: 'msgpack', fps: 30, jointNames: CANONICAL_JOINTS, thresholds: THRESHOLDS },
  {
    type: 'alert', avatar: 'room7/alice', state: 'start', time: 1764000012345, seq: 372, fraction: 0.04, sequenceScore: 12.1, frameScore: 311.3,
    topJoints: [{ joint: 'RightFoot', score: 402.1 }, { joint: 'LeftFoot', score: 398.7 }, { joint: 'RightToes', score: 280.2 }], episode: 1, reason: 'spike',
  },
  {
    type: 'alert', avatar: 'room7/alice', state: 'end', time: 1764000023456, seq: 687, fraction: 0, sequenceScore: 1.2, frameScore: 10859.2,
    topJoints: [{ joint: 'RightFoot', score: 402.1 }], episode: 1, reason: 'both', cause: 'recovered', frames: 315,
  },
  {
    type: 'scores', time: 1764000000100,
    avatars: [{ avatar: 'room7/alice', seq: 10, frames: 3, frameScore: 1.5, jointScores: Array.from({ length: 21 }, (_, j) => j * 0.25), fraction: 0.02, alerting: false }],
  },
];

describe('Unity client package layout (clients/unity)', () => {
  it('is a valid UPM package: manifest, assembly definition, a .meta with a unique guid for every asset, MonoBehaviours in files of their name', () => {
    const manifest = JSON.parse(readFileSync(path.join(UNITY, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'com.motionguard.client', displayName: expect.any(String), unity: '2021.3', description: expect.any(String) });
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    for (const sample of manifest.samples as { path: string }[]) expect(statSync(path.join(UNITY, sample.path)).isDirectory()).toBe(true);
    const asmdef = JSON.parse(readFileSync(path.join(UNITY, 'Runtime', 'Motionguard.Runtime.asmdef'), 'utf8')) as Record<string, unknown>;
    expect(asmdef).toMatchObject({ name: 'Motionguard.Runtime', allowUnsafeCode: false });

    // Unity ignores folders ending in '~'; an immutable (git) package needs a .meta for everything else.
    const guids = new Map<string, string>();
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name);
        const rel = path.relative(UNITY, full);
        if (name.endsWith('.meta')) {
          const asset = full.slice(0, -'.meta'.length);
          expect(() => statSync(asset), `${rel} has no asset`).not.toThrow();
          const guid = /^guid: ([0-9a-f]{32})$/m.exec(readFileSync(full, 'utf8'))?.[1];
          expect(guid, `${rel} has no guid`).toBeDefined();
          expect(guids.get(guid!), `${rel} repeats the guid of ${guids.get(guid!)}`).toBeUndefined();
          guids.set(guid!, rel);
          continue;
        }
        if (name.startsWith('.')) continue;
        const isDir = statSync(full).isDirectory();
        if (isDir && name.endsWith('~')) continue;
        expect(() => statSync(`${full}.meta`), `${rel} needs a .meta file (Unity skips assets without one in git packages)`).not.toThrow();
        if (isDir) {
          expect(readFileSync(`${full}.meta`, 'utf8')).toContain('folderAsset: yes');
          walk(full);
        }
      }
    };
    walk(UNITY);
    expect(guids.size).toBeGreaterThanOrEqual(10);

    for (const file of [...files(path.join(UNITY, 'Runtime'), '.cs'), ...files(path.join(UNITY, 'Samples~'), '.cs')]) {
      for (const match of readFileSync(file, 'utf8').matchAll(/class (\w+)\s*:\s*MonoBehaviour/g)) {
        expect(path.basename(file, '.cs'), `MonoBehaviour ${match[1]} must live in ${match[1]}.cs`).toBe(match[1]);
      }
    }
  });
});

describe.skipIf(!HAVE_MONO)('Unity client (clients/unity, C# under mono)', () => {
  let work: string;
  let exe: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'motionguard-unity-'));
    exe = path.join(work, 'MotionguardTests.exe');
    const runtime = files(path.join(UNITY, 'Runtime'), '.cs');
    const standIn = files(path.join(UNITY, 'Tests~', 'UnityStandIn'), '.cs');
    const tests = readdirSync(path.join(UNITY, 'Tests~')).filter((f) => f.endsWith('.cs')).map((f) => path.join(UNITY, 'Tests~', f));
    mcs([`-out:${exe}`, ...runtime, ...standIn, ...tests]);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the samples compile against the runtime', () => {
    const samples = files(path.join(UNITY, 'Samples~'), '.cs');
    expect(samples.length).toBeGreaterThan(0);
    mcs([
      '-target:library',
      `-out:${path.join(work, 'Samples.dll')}`,
      ...files(path.join(UNITY, 'Runtime'), '.cs'),
      ...files(path.join(UNITY, 'Tests~', 'UnityStandIn'), '.cs'),
      ...files(path.join(UNITY, 'Tests~', 'SamplesStandIn'), '.cs'),
      ...samples,
    ]);
  });

  it('C# unit checks pass; msgpack bytes and protocol messages agree with @msgpack/msgpack and the server codec both ways', async () => {
    const dir = path.join(work, 'unit');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'js-fixture.msgpack'), encode(FIXTURE));
    writeFileSync(path.join(dir, 'js-float32.msgpack'), new Encoder({ forceFloat32: true }).encode(FLOAT32S));
    const encoded = [...SERVER_MESSAGES.map((m) => encodeMessage(m) as Uint8Array), encode({ type: 'future', x: 1 })];
    writeFileSync(path.join(dir, 'js-server-messages.msgpack'), encode(encoded));

    const run = new MonoRun(exe, ['unit', dir]);
    const code = await run.exited;
    expect(code, run.tail()).toBe(0);
    expect(run.of('unit')[0], run.tail()).toMatchObject({ failed: 0 });
    expect(run.of('unit')[0]!.passed as number).toBeGreaterThan(300);

    // C# -> JS: the same bytes for the same value, and the same value back.
    const csharp = readFileSync(path.join(dir, 'csharp-fixture.msgpack'));
    expect(Buffer.compare(csharp, Buffer.from(encode(FIXTURE)))).toBe(0);
    expect(decode(new Uint8Array(csharp))).toEqual(FIXTURE);
    expect(decode(readFileSync(path.join(dir, 'csharp-float32.msgpack')))).toEqual(FLOAT32S);

    // The C# client's messages as the server decodes and validates them.
    const messages = decode(readFileSync(path.join(dir, 'csharp-client-messages.msgpack'))) as Uint8Array[];
    expect(messages).toHaveLength(5);
    const envelope = (bytes: Uint8Array): Record<string, unknown> => {
      const e = decodeMessage(bytes, DEFAULT_LIMITS);
      if (e instanceof Rejection) throw new Error(`${e.code}: ${e.message}`);
      return e.body as Record<string, unknown>;
    };
    expect(Buffer.compare(Buffer.from(messages[0]!), Buffer.from(encode({ type: 'hello', v: 1, skeleton: 'canonical', units: 'm', fps: 30 })))).toBe(0);
    const hello = parseHello(envelope(messages[0]!));
    if (hello instanceof Rejection) throw new Error(hello.message);
    expect(hello).toMatchObject({ skeleton: 'canonical', units: 'm', fps: 30 });
    expect(parseHello(envelope(messages[1]!))).toMatchObject({ fps: 72.5 });
    expect(Buffer.compare(Buffer.from(messages[2]!), Buffer.from(encode({ type: 'subscribe' })))).toBe(0);
    expect(parseSubscribe(envelope(messages[2]!), DEFAULT_LIMITS)).toEqual({ avatars: null, prefix: null, scores: false });
    expect(parseSubscribe(envelope(messages[3]!), DEFAULT_LIMITS)).toEqual({ avatars: ['room7/alice', 'room7/bob'], prefix: 'room7/', scores: true });
    const frames = framesOf(envelope(messages[4]!), DEFAULT_LIMITS);
    if (frames instanceof Rejection) throw new Error(frames.message);
    expect(frames).toHaveLength(2);
    // The rigs' Unity positions (UnitTests.RigPosition), as the server must receive them: (x, y, -z).
    for (const [index, [avatar, dx, dz]] of ([['unity/a', 0, 0], ['unity/b', 1, 2]] as const).entries()) {
      const out = new Float32Array(J * 3);
      const header = new FrameHeader();
      expect(parseFrame(frames[index], hello.layout, DEFAULT_LIMITS, out, header)).toBeNull();
      expect({ ...header }).toEqual({ avatar, seq: 7, t: 1764000000000 });
      for (let j = 0; j < J; j++) {
        const expected = [0.1 * j + dx, 1 + 0.01 * j, -(0.5 + 0.02 * j + dz)];
        for (let axis = 0; axis < 3; axis++) expect(out[j * 3 + axis]).toBeCloseTo(expected[axis]!, 5);
      }
    }

    // The axes convention the C# side checks on converted Unity rigs (det < 0: not mirrored)
    // is the server's own: its walker, in protocol axes, passes the same test.
    const walker = walkerMotion({ frames: 1 }).positions;
    const at = (name: (typeof CANONICAL_JOINTS)[number]): number[] => [0, 1, 2].map((a) => walker[jointIndex(name) * 3 + a]!);
    const sub = (a: number[], b: number[]): number[] => a.map((v, i) => v - b[i]!);
    const [r, u, f] = [sub(at('RightUpperLeg'), at('LeftUpperLeg')), [0, 1, 0], sub(at('LeftToes'), at('LeftFoot'))] as [number[], number[], number[]];
    const det = r[0]! * (u[1]! * f[2]! - u[2]! * f[1]!) - r[1]! * (u[0]! * f[2]! - u[2]! * f[0]!) + r[2]! * (u[0]! * f[1]! - u[1]! * f[0]!);
    expect(det).toBeLessThan(0);
  }, 120_000);

  describe('against the real server with the shipped model', () => {
    let t: TestServer;

    beforeAll(async () => {
      t = await startTestServer(openStreamingScorer({ workers: 0 }), { tickMs: 50, logLevel: 'info' });
      await t.server.ready;
    });

    afterAll(async () => {
      await t?.server.close();
    });

    it('MotionguardStreamer batches three humanoids into one frames message per tick; MotionguardAlerts gets one start and one end for the faulty one only', async () => {
      // 14 s of walking; the fault [45, 75) keeps 10% of the 250-frame window over threshold until about frame 300, the end follows 2 s later.
      const FRAMES = 420;
      const clean = walkerMotion({ frames: FRAMES, heading: 30, phase: 1 });
      const faulty = injectAnomaly(walkerMotion({ frames: FRAMES }), { kind: 'limbSwap', startFrame: 45, frameCount: 30, severity: 1, seed: 3 });
      const partial = walkerMotion({ frames: FRAMES, heading: -60, phase: 2 });
      const without = ['Chest', 'Neck', 'LeftShoulder', 'RightShoulder', 'LeftToes', 'RightToes'];
      const motionFile = path.join(work, 'stream-motion.msgpack');
      writeFileSync(
        motionFile,
        encode({
          fps: 30,
          frames: FRAMES,
          avatars: [
            { id: 'unity/clean', positions: float32Bytes(clean.positions) },
            { id: 'unity/faulty', positions: float32Bytes(faulty.motion.positions) },
            { id: 'unity/partial-rig', positions: float32Bytes(partial.positions), without },
          ],
        }),
      );

      const run = new MonoRun(exe, ['stream', '--url', t.ws, '--motion', motionFile, '--prefix', 'unity/', '--lag', '30', '--stall', '150', '--timeout', '540']);
      const code = await run.exited;
      expect(code, run.tail()).toBe(0);

      expect(run.of('error'), run.tail()).toEqual([]);
      // No warning or error in the Unity console, apart from the alert itself (MotionguardAlerts logs starts as warnings).
      expect(run.of('log').filter((l) => !String(l.message).startsWith('motionguard alert start')), run.tail()).toEqual([]);
      expect(run.of('ready')).toHaveLength(1);
      expect(run.alerts(), run.tail()).toEqual(['unity/faulty:start', 'unity/faulty:end']);
      const [start, end] = run.of('alert');
      expect(start!.seq as number).toBeGreaterThanOrEqual(45);
      expect(start!.seq as number).toBeLessThan(75);
      expect(start!.frameScore as number).toBeGreaterThan(t.server.detector!.thresholds.frame);
      expect((start!.topJoints as string[]).every((j) => (CANONICAL_JOINTS as readonly string[]).includes(j))).toBe(true);
      expect(end).toMatchObject({ episode: start!.episode, cause: 'recovered' });

      const [summary] = run.of('summary');
      expect(summary, run.tail()).toMatchObject({
        sharedPublisher: true,
        ticksSent: FRAMES,
        framesSent: FRAMES * 3,
        framesDropped: 0,
        lastSeq: FRAMES - 1,
        // hello + exactly one frames message per tick, holding all three avatars
        ingestMessagesSent: FRAMES + 1,
        ingestMessagesDropped: 0,
        ingestConnections: 1,
        alertsConnections: 1,
        subscribed: 1,
        errorsReceived: 0,
        alertUnityEvents: 2,
        alertCsharpEvents: 2,
        alertsReceivedOnSocket: 2,
        starts: 1,
        ends: 1,
        offMainThread: 0,
        fallbackJoints: { 'unity/clean': [], 'unity/faulty': [], 'unity/partial-rig': without },
      });

      // The server's side: every frame arrived under the right id, one episode.
      expect(t.logs.filter((l) => l.msg === 'episode start').map((l) => l.avatar)).toEqual(['unity/faulty']);
      const { avatars } = (await (await fetch(`${t.http}/v1/avatars`)).json()) as { avatars: { avatar: string; windowFill: number; alerting: boolean }[] };
      expect(avatars.map((a) => [a.avatar, a.windowFill, a.alerting]).sort()).toEqual([
        ['unity/clean', 250, false],
        ['unity/faulty', 250, false],
        ['unity/partial-rig', 250, false],
      ]);
    }, 600_000);
  });

  it('reconnects with backoff when the server restarts, re-sends hello and re-subscribes', async () => {
    let a: TestServer | null = await startTestServer(new FakeScorer(), { tickMs: 20 });
    let b: TestServer | null = null;
    const port = Number(new URL(a.http).port);
    const motionFile = path.join(work, 'reconnect-motion.msgpack');
    // Fake scorer: a frame is over threshold when its LeftHand is over 1 m from the Hips.
    writeFileSync(
      motionFile,
      encode({
        fps: 30,
        frames: 60,
        avatars: [
          { id: 'rc/clean', positions: float32Bytes(clipPositions(60)) },
          { id: 'rc/faulty', positions: float32Bytes(clipPositions(60, { from: 0, to: 60, distance: 2 })) },
          // A misconfiguration: two streamers under one id. The server refuses the second frame of
          // each tick (duplicate_frame); the client must log it sparingly and carry on.
          { id: 'rc/twin', positions: float32Bytes(clipPositions(60)) },
          { id: 'rc/twin', positions: float32Bytes(clipPositions(60)) },
        ],
      }),
    );
    const run = new MonoRun(exe, ['reconnect', '--url', a.ws, '--motion', motionFile, '--prefix', 'rc/', '--timeout', '240']);
    try {
      const faultyAlerts = (): string[] => run.of('alert').filter((e) => e.avatar === 'rc/faulty').map((e) => `${String(e.state)}:${String(e.cause ?? '')}`);
      await run.until(() => faultyAlerts().includes('start:'), "the first server's alert", 90_000);
      // Shutdown ends open episodes (cause 'shutdown', delivered to subscribers) and closes with 1001.
      await a.server.close();
      a = null;
      // Meanwhile the client's attempts are refused (nothing listens): it keeps retrying with backoff.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      b = await startTestServer(new FakeScorer(), { tickMs: 20, port });
      const server = b;
      const state = (): string =>
        `\n--- second server ---\n${JSON.stringify(server.server.detector?.snapshot() ?? null)}\n${server.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`;
      const alerting = (): boolean => (server.server.detector?.snapshot() ?? []).some((s) => s.avatar === 'rc/faulty' && s.alerting);
      // Both paths back: hello answered, subscription confirmed and delivering (scores), the faulty avatar alerting again.
      await run
        .until(() => run.of('ready').length >= 2 && run.of('scores').some((e) => e.subscription === 2) && alerting(), 'the second connections', 90_000)
        .catch((error: Error) => {
          throw new Error(`${error.message}${state()}`);
        });
      expect(server.server.detector!.snapshot().map((s) => s.avatar).sort()).toEqual(['rc/clean', 'rc/faulty', 'rc/twin']);
      // The second server's shutdown ends its episode: the alert reaches the client through its new subscription.
      // (Its start may have come before the subscriber was back: alerts are not replayed.)
      await server.server.close();
      b = null;
      await run.until(() => faultyAlerts().filter((x) => x === 'end:shutdown').length >= 2, "the second server's end alert", 30_000);
      run.send('quit');
      const code = await run.exited;
      expect(code, run.tail()).toBe(0);

      // Refusals: only the twins' duplicates, told to both twins' ErrorReceived; a warning at start and
      // the first 5 refusals logged, then every 100th; the other avatars unaffected.
      const errors = run.of('error');
      expect(errors.length).toBeGreaterThan(10);
      expect(new Set(errors.map((e) => `${String(e.source)} ${String(e.avatar)} ${String(e.code)}`))).toEqual(new Set(['ingest rc/twin duplicate_frame']));
      const warnings = run.of('log').filter((l) => l.level === 'warning').map((l) => String(l.message));
      expect(warnings.filter((m) => m.includes("two avatars stream as 'rc/twin'"))).toHaveLength(1);
      const refusals = warnings.filter((m) => m.includes('the server refused'));
      expect(refusals.length).toBeGreaterThanOrEqual(5);
      expect(refusals.length).toBeLessThanOrEqual(5 + errors.length / 2 / 100 + 1);
      expect(run.of('log').filter((l) => l.level === 'error' || l.level === 'exception'), run.tail()).toEqual([]);
      expect(run.of('alert').filter((e) => e.avatar !== 'rc/faulty')).toEqual([]);
      const seen = faultyAlerts();
      expect(seen.slice(0, 2), run.tail()).toEqual(['start:', 'end:shutdown']);
      expect(seen.at(-1)).toBe('end:shutdown');
      expect(run.of('scores').find((e) => e.subscription === 2)!.avatars).toEqual(expect.arrayContaining(['rc/faulty']));
      // Connection lost, then back, on both paths.
      for (const source of ['ingest', 'alerts']) {
        expect(run.of('connection').filter((e) => e.source === source).map((e) => e.open).slice(0, 3), source).toEqual([true, false, true]);
      }
      const [summary] = run.of('summary');
      expect(summary, run.tail()).toMatchObject({ ingestConnections: 2, alertsConnections: 2, subscribed: 2, errorsReceived: errors.length / 2, offMainThread: 0, sharedPublisher: true });
      expect(summary!.framesSent as number).toBeGreaterThan(0);
    } finally {
      run.kill();
      await a?.server.close();
      await b?.server.close();
    }
  }, 240_000);
});
