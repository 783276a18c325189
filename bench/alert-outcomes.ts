/**
 * What the alerts of a trial say (pure): for each injected anomaly, whether and how fast a
 * `start` alert followed its onset; for normal avatars, how many `start`s came at all
 * (every one of them is a false alert).
 */

export interface InjectedAnomalyPlan {
  readonly avatar: string;
  readonly kind: string;
  /** Seq of the first corrupted frame. */
  readonly onsetSeq: number;
  /** Seq after the last corrupted frame. */
  readonly endSeq: number;
}

export interface ReceivedAlert {
  readonly avatar: string;
  readonly state: 'start' | 'end';
  /** The frame at which the state changed. */
  readonly seq: number;
  /** When the subscriber received it (ms, the load generator's clock). */
  readonly receivedAtMs: number;
}

export interface AnomalyOutcome {
  readonly avatar: string;
  readonly kind: string;
  readonly onsetSeq: number;
  /** 'detected': a start at or after the onset; 'already_alerting': an episode that began before the onset was still open at it; 'missed': neither. */
  readonly outcome: 'detected' | 'already_alerting' | 'missed';
  /** Receipt of the start alert - sending of the onset frame (detected only). */
  readonly latencyMs: number | null;
  /** Frames from the onset to the frame that triggered the start (detected only). */
  readonly framesAfterOnset: number | null;
}

export interface AlertOutcomes {
  readonly anomalies: AnomalyOutcome[];
  /** Starts on avatars that never had an anomaly injected. */
  readonly falseStartsOnNormalAvatars: number;
  /** Each of those starts: the avatar and the seq (frames since its first) at which it fired. */
  readonly falseStarts: { readonly avatar: string; readonly seq: number }[];
  /** Starts on anomalous avatars before their onset. */
  readonly falseStartsBeforeOnset: number;
}

/**
 * @param sentAtMs when the generator sent an avatar's frame `seq` (same clock as receivedAtMs), or undefined.
 */
export function alertOutcomes(anomalies: readonly InjectedAnomalyPlan[], alerts: readonly ReceivedAlert[], sentAtMs: (avatar: string, seq: number) => number | undefined): AlertOutcomes {
  const planned = new Map(anomalies.map((a) => [a.avatar, a]));
  const falseStarts: { avatar: string; seq: number }[] = [];
  let falseStartsBeforeOnset = 0;
  const byAvatar = new Map<string, ReceivedAlert[]>();
  for (const alert of alerts) {
    const plan = planned.get(alert.avatar);
    if (alert.state === 'start') {
      if (!plan) falseStarts.push({ avatar: alert.avatar, seq: alert.seq });
      else if (alert.seq < plan.onsetSeq) falseStartsBeforeOnset++;
    }
    if (plan) {
      const list = byAvatar.get(alert.avatar) ?? [];
      list.push(alert);
      byAvatar.set(alert.avatar, list);
    }
  }
  const outcomes = anomalies.map((plan): AnomalyOutcome => {
    const list = (byAvatar.get(plan.avatar) ?? []).slice().sort((a, b) => a.receivedAtMs - b.receivedAtMs);
    const start = list.find((a) => a.state === 'start' && a.seq >= plan.onsetSeq);
    // Open at the onset: the last alert about a frame before the onset was a start.
    const before = list.filter((a) => a.seq < plan.onsetSeq);
    const openAtOnset = before.length > 0 && before[before.length - 1]!.state === 'start';
    // An episode open at the onset says nothing about how fast this anomaly is caught.
    if (!openAtOnset && start) {
      const sent = sentAtMs(plan.avatar, plan.onsetSeq);
      return {
        avatar: plan.avatar,
        kind: plan.kind,
        onsetSeq: plan.onsetSeq,
        outcome: 'detected',
        latencyMs: sent === undefined ? null : start.receivedAtMs - sent,
        framesAfterOnset: start.seq - plan.onsetSeq,
      };
    }
    return { avatar: plan.avatar, kind: plan.kind, onsetSeq: plan.onsetSeq, outcome: openAtOnset ? 'already_alerting' : 'missed', latencyMs: null, framesAfterOnset: null };
  });
  return { anomalies: outcomes, falseStartsOnNormalAvatars: falseStarts.length, falseStarts, falseStartsBeforeOnset };
}
