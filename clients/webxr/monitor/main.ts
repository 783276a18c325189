/**
 * The monitor page: subscribes to every avatar's alerts and per-tick scores on the server that
 * served it, draws each avatar as a skeleton coloured by its joint scores, a strip of its frame
 * scores against the threshold, and the alert feed; and, without an XR device, replays the
 * procedural walker or a BVH file (optionally with a synthetic fault) as avatars of its own.
 */
import { ANOMALY_DESCRIPTIONS, ANOMALY_KINDS, type AnomalyKind } from '../../../src/synth/anomalies.js';
import { walkerMotion } from '../../../src/synth/walker.js';
import type { AlertMessage, ScoresMessage } from '../../../src/stream/protocol.js';
import { MotionguardClient, type ConnectionEvent } from '../src/client.js';
import { FRAME_VALUES } from '../src/joints.js';
import { AlertFeed } from './feed.js';
import { Player, prepareMotion, type AnomalyChoice, type MotionSource, type Replay } from './replay.js';
import { SkeletonScene } from './scene.js';
import { drawStrip, STRIP_FRAMES, type ScorePoint } from './strip.js';
import { XrPublisher, immersiveVrSupported } from './xr-session.js';

/** Avatars with neither scores nor local frames for this long leave the view. */
const FORGET_AFTER_MS = 30_000;
const REST_POSE = walkerMotion({ frames: 1 }).positions.slice(0, FRAME_VALUES);

interface AvatarView {
  readonly id: string;
  /** Poses published by this page; null for avatars known only by their scores. */
  pose: Float32Array | null;
  jointScores: Float32Array | null;
  readonly points: ScorePoint[];
  alerting: boolean;
  fraction: number;
  lastSeen: number;
  readonly strip: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly state: HTMLElement;
}

const $ = <T extends HTMLElement>(selector: string): T => {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`the page lacks ${selector}`);
  return element;
};

const client = new MotionguardClient({ url: new URL('../', location.href), publish: { skeleton: 'canonical', units: 'm', fps: 30 }, subscribe: { scores: true } });
const feed = new AlertFeed($<HTMLOListElement>('#feed'));
const avatars = new Map<string, AvatarView>();
let threshold = 1;
let stripsDirty = false;

let scene: SkeletonScene | null = null;
try {
  scene = new SkeletonScene($('#view'));
} catch (error) {
  const note = $('#scene-note');
  note.hidden = false;
  note.textContent = `3D view unavailable (WebGL: ${(error as Error).message}); scores and alerts still work.`;
}

function avatarView(id: string): AvatarView {
  let view = avatars.get(id);
  if (view) return view;
  const strip = document.createElement('div');
  strip.className = 'strip';
  strip.dataset.avatar = id;
  const head = document.createElement('div');
  head.className = 'strip-head';
  const name = document.createElement('strong');
  name.textContent = id;
  const state = document.createElement('span');
  state.className = 'strip-state';
  head.append(name, state);
  const canvas = document.createElement('canvas');
  strip.append(head, canvas);
  $('#strips').append(strip);
  view = { id, pose: null, jointScores: null, points: [], alerting: false, fraction: 0, lastSeen: Date.now(), strip, canvas, state };
  avatars.set(id, view);
  return view;
}

function forget(view: AvatarView): void {
  avatars.delete(view.id);
  view.strip.remove();
  scene?.remove(view.id);
}

function onScores(message: ScoresMessage): void {
  for (const score of message.avatars) {
    const view = avatarView(score.avatar);
    view.jointScores = Float32Array.from(score.jointScores);
    view.alerting = score.alerting;
    view.fraction = score.fraction;
    view.lastSeen = Date.now();
    const last = view.points[view.points.length - 1];
    // A seq that went backwards: the publisher started over; so does the strip.
    if (last && score.seq < last.seq) view.points.length = 0;
    view.points.push({ seq: score.seq, frames: Math.max(1, score.frames), score: score.frameScore, alerting: score.alerting });
    const oldest = score.seq - 2 * STRIP_FRAMES;
    while (view.points.length > 0 && view.points[0]!.seq < oldest) view.points.shift();
  }
  stripsDirty = true;
}

function onAlert(alert: AlertMessage): void {
  feed.add(alert);
  const view = avatarView(alert.avatar);
  view.alerting = alert.state === 'start';
  stripsDirty = true;
}

function drawStrips(): void {
  stripsDirty = false;
  for (const view of avatars.values()) {
    drawStrip(view.canvas, view.points, threshold);
    view.strip.classList.toggle('alerting', view.alerting);
    // Readable state for people inspecting the page and for the browser test.
    view.strip.dataset.seq = String(view.points[view.points.length - 1]?.seq ?? -1);
    view.strip.dataset.alerting = String(view.alerting);
    view.state.textContent = `${view.alerting ? 'ALERTING · ' : ''}window ${(view.fraction * 100).toFixed(0)}% over threshold${view.pose ? '' : ' · scores only'}`;
  }
}

function setStatus(event: ConnectionEvent): void {
  const badge = $(`#status-${event.channel}`);
  badge.dataset.state = event.state;
  const retry = event.state === 'waiting' && event.retryInMs !== undefined ? ` (retry in ${(event.retryInMs / 1000).toFixed(1)} s)` : '';
  badge.textContent = `${event.channel === 'alerts' ? 'alerts' : 'publisher'}: ${event.state}${retry}`;
}

client.on('connection', setStatus);
client.on('subscribed', (message) => {
  threshold = message.thresholds.frame;
  $('#thresholds').textContent = `frame threshold ${message.thresholds.frame.toFixed(2)} · spike ${message.thresholds.spike.toFixed(1)} · fraction ${(message.thresholds.fraction * 100).toFixed(0)}%`;
  stripsDirty = true;
});
client.on('scores', onScores);
client.on('alert', onAlert);
client.on('serverError', (error) => console.warn(`motionguard ${error.channel}: ${error.code}: ${error.message}`));
client.connect();

// --- Replays --------------------------------------------------------------------------------

const replayList = $<HTMLUListElement>('#replays');
const player = new Player(client, {
  pose(avatar, pose) {
    const view = avatarView(avatar);
    view.pose = Float32Array.from(pose);
    view.lastSeen = Date.now();
  },
  changed(replay: Replay) {
    let item = replayList.querySelector<HTMLLIElement>(`li[data-avatar="${CSS.escape(replay.avatar)}"]`);
    if (!item) {
      item = document.createElement('li');
      item.dataset.avatar = replay.avatar;
      const text = document.createElement('span');
      const stop = document.createElement('button');
      stop.type = 'button';
      stop.textContent = 'stop';
      stop.addEventListener('click', () => player.stop(replay.avatar));
      item.append(text, stop);
      replayList.prepend(item);
    }
    item.dataset.state = replay.state;
    item.querySelector('span')!.textContent = `${replay.avatar}: ${replay.state} · ${replay.description}`;
    item.querySelector('button')!.hidden = replay.state === 'done' || replay.state === 'stopped';
  },
});

const kindSelect = $<HTMLSelectElement>('#kind');
for (const kind of ANOMALY_KINDS) {
  const option = document.createElement('option');
  option.value = kind;
  option.textContent = kind;
  option.title = ANOMALY_DESCRIPTIONS[kind];
  kindSelect.append(option);
}

const sourceSelect = $<HTMLSelectElement>('#source');
const syncSource = (): void => {
  const bvh = sourceSelect.value === 'bvh';
  $('#bvh-row').hidden = !bvh;
  $('#walker-row').hidden = bvh;
};
sourceSelect.addEventListener('change', syncSource);
syncSource();

const number = (selector: string): number => Number($<HTMLInputElement>(selector).value);
const showError = (message: string): void => {
  const output = $<HTMLOutputElement>('#replay-error');
  output.textContent = message;
  output.hidden = message === '';
};

async function chosenSource(): Promise<MotionSource> {
  if (sourceSelect.value !== 'bvh') return { kind: 'walker', seconds: number('#seconds'), heading: number('#heading') };
  const file = $<HTMLInputElement>('#bvh-file').files?.[0];
  if (!file) throw new Error('choose a .bvh file first');
  return { kind: 'bvh', name: file.name, text: await file.text() };
}

function chosenAnomaly(): AnomalyChoice | null {
  const kind = kindSelect.value;
  if (kind === 'none') return null;
  return { kind: kind as AnomalyKind, startSeconds: number('#anomaly-start'), frames: number('#anomaly-frames'), severity: number('#severity'), seed: number('#seed') };
}

/** demo/walker-1 -> demo/walker-2, so pressing Stream again adds an avatar rather than replacing one. */
function nextId(id: string): string {
  const match = /^(.*?)(\d+)$/.exec(id);
  return match ? `${match[1]}${Number(match[2]) + 1}` : `${id}-2`;
}

$<HTMLFormElement>('#replay-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void (async () => {
    try {
      const avatarInput = $<HTMLInputElement>('#avatar');
      const avatar = avatarInput.value.trim();
      if (!avatar) throw new Error('name the avatar');
      const prepared = prepareMotion(await chosenSource(), chosenAnomaly());
      player.start(avatar, prepared);
      avatarInput.value = nextId(avatar);
      showError('');
    } catch (error) {
      showError((error as Error).message);
    }
  })();
});

let demoRun = 0;
$<HTMLButtonElement>('#demo').addEventListener('click', () => {
  demoRun++;
  player.start(`demo/clean-${demoRun}`, prepareMotion({ kind: 'walker', seconds: 20, heading: 30 }, null));
  player.start(`demo/faulty-${demoRun}`, prepareMotion({ kind: 'walker', seconds: 20, heading: 0 }, { kind: 'limbSwap', startSeconds: 4, frames: 90, severity: 1, seed: 3 }));
});

// --- XR ---------------------------------------------------------------------------------------

let xr: XrPublisher | null = null;
if (scene) {
  const renderer = scene.renderer;
  void immersiveVrSupported().then((supported) => {
    if (!supported) return;
    const button = $<HTMLButtonElement>('#enter-xr');
    button.hidden = false;
    xr = new XrPublisher(renderer, client, `xr/${Math.random().toString(36).slice(2, 8)}`, (capture) => {
      const view = avatarView(xr!.avatar);
      view.pose = capture.positions;
      view.lastSeen = Date.now();
    });
    button.addEventListener('click', () => {
      if (xr?.active) void xr.stop();
      else xr?.start().catch((error: unknown) => showError(`XR: ${(error as Error).message}`));
    });
  });
}

// --- Frame loop -------------------------------------------------------------------------------

function frame(time: number, xrFrame?: XRFrame): void {
  xr?.onFrame(time, xrFrame);
  if (scene) {
    let slot = 0;
    for (const view of avatars.values()) scene.update(view.id, slot++, view.pose ?? REST_POSE, view.pose === null, view.jointScores, threshold);
    scene.render();
  }
  if (stripsDirty) drawStrips();
}

if (scene) scene.renderer.setAnimationLoop(frame);
else {
  const loop = (time: number): void => {
    frame(time);
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}

setInterval(() => {
  const active = new Set(player.active.map((r) => r.avatar));
  for (const view of [...avatars.values()]) if (!active.has(view.id) && Date.now() - view.lastSeen > FORGET_AFTER_MS) forget(view);
}, 2000);
