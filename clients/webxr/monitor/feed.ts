/** The alert feed: newest first, one entry per `alert` (start and end), with the joints to blame. */
import type { AlertMessage } from '../../../src/stream/protocol.js';

const MAX_ENTRIES = 200;

function time(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

export function alertSummary(alert: AlertMessage): string {
  const joints = alert.topJoints.map((j) => `${j.joint} ${j.score.toFixed(1)}`).join(' · ');
  const head =
    alert.state === 'start'
      ? `${alert.reason}, ${(alert.fraction * 100).toFixed(0)}% of the window over threshold, peak ${alert.frameScore.toFixed(1)}`
      : `${alert.cause ?? 'ended'} after ${alert.frames ?? '?'} frames (${alert.reason}), peak ${alert.frameScore.toFixed(1)}`;
  return `${head} — ${joints}`;
}

export class AlertFeed {
  constructor(private readonly list: HTMLOListElement) {}

  add(alert: AlertMessage): void {
    const item = document.createElement('li');
    item.className = `alert ${alert.state}`;
    item.dataset.avatar = alert.avatar;
    item.dataset.state = alert.state;
    item.dataset.episode = String(alert.episode);
    const title = document.createElement('div');
    title.className = 'alert-title';
    const badge = document.createElement('span');
    badge.className = 'alert-state';
    badge.textContent = alert.state === 'start' ? 'ALERT' : 'end';
    const who = document.createElement('strong');
    who.textContent = alert.avatar;
    const when = document.createElement('time');
    when.textContent = `${time(alert.time)} · seq ${alert.seq} · #${alert.episode}`;
    title.append(badge, who, when);
    const body = document.createElement('div');
    body.className = 'alert-body';
    body.textContent = alertSummary(alert);
    item.append(title, body);
    this.list.prepend(item);
    while (this.list.children.length > MAX_ENTRIES) this.list.lastElementChild?.remove();
  }
}
