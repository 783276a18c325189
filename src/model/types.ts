/** Configuration and result types of the NFlowAD model. */

export interface EncoderConfig {
  /** Embedding size d (eq. 1). */
  readonly dModel: number;
  readonly layers: number;
  readonly heads: number;
  /** Feed-forward width as a multiple of dModel. */
  readonly ffnMultiplier: number;
  /**
   * Attention reach in frames on each side; null means full attention over the window.
   * Local attention keeps the cost linear in T and makes the model judge motion by its
   * neighbourhood in time, which is what a glitch disturbs.
   */
  readonly attentionRadius: number | null;
  /**
   * Attend only to the past (attentionRadius frames back): what streaming needs, since
   * the newest frame has no future, and what lets it cache keys and values so that a
   * tick costs only its new frames. Default false (the paper's bidirectional encoder).
   */
  readonly causal?: boolean;
}

export interface FlowConfig {
  /** Number of Glow blocks B (actnorm, invertible 1x1, affine coupling). */
  readonly blocks: number;
  /** Hidden width of each coupling network. */
  readonly hidden: number;
  /** Size the pooled context c is projected to before conditioning. */
  readonly contextSize: number;
  /**
   * Causal models: the context c of frame t is the mean latent of frames t-contextFrames+1..t
   * (what has arrived), not of the whole window. Default 60 (2 s at 30 fps).
   */
  readonly contextFrames?: number;
  /**
   * Which latent h_t the flow models: 'unmasked' (the paper: an extra encoder pass over the
   * whole input), 'masked-mean' (the mean of the K masked scoring passes' latents, which
   * scoring computes anyway: one encoder pass per frame fewer) or 'rotating' (the latent of
   * the first masked scoring pass, whose hidden joints rotate from frame to frame: what a
   * stream scored with one pass per frame has; see ScoringConfig.streamingPasses).
   * Default 'unmasked'.
   */
  readonly latents?: FlowLatents;
}

export type FlowLatents = 'unmasked' | 'masked-mean' | 'rotating';

export interface TrainingConfig {
  readonly epochs: number;
  readonly flowEpochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly flowLearningRate: number;
  /** ExponentialLR gamma, applied per epoch. */
  readonly lrDecay: number;
  /** Fraction rho of joints masked during training. */
  readonly maskRatio: number;
  /** Training windows are random crops of at most this many frames. */
  readonly trainWindow: number;
  readonly validationFraction: number;
  readonly seed: number;
}

export interface ScoringConfig {
  /** Weight of the standardised reconstruction term (eq. 5). */
  readonly alpha: number;
  /** Weight of the standardised negative log-likelihood term (eq. 5). */
  readonly beta: number;
  /** Percentile of normal validation frame scores used as the frame threshold. */
  readonly framePercentile: number;
  /** Percentile of normal validation sequence scores used as the sequence threshold. */
  readonly sequencePercentile: number;
  /** Clip rule: anomalous when at least this fraction of frames is over the frame threshold. */
  readonly fractionThreshold: number;
  /**
   * The clip rule's fraction is over max(frames, this): a short clip needs as many unusual
   * frames as one of this length to be called anomalous (0 or absent: the plain fraction).
   */
  readonly fractionFloorFrames?: number;
  /**
   * The clip's first frames, which a causal model scores with almost no context: they
   * neither set nor trigger the spike threshold, count toward neither the fraction arm nor
   * the sequence score (named for the arm that used it first). 0 or absent: none.
   */
  readonly spikeSettleFrames?: number;
  /**
   * Clip rule, spike arm: percentile of per-clip peak scores on normal validation clips;
   * a clip whose peak passes it is anomalous however brief the peak. 98.5 in the presets:
   * 1.5% of normal takes is the spike arm's share of the false-positive budget. Estimated
   * from an exponential tail fitted to the top fifth of the peaks (see tailQuantile).
   */
  readonly spikePercentile: number;
  /** Number of complementary masks used at scoring time (each joint-frame masked once). */
  readonly scoringMasks: number;
  /**
   * 'cells': scattered joint-frames (a hidden joint keeps its own past and future and its
   * kinematic neighbours); 'joints': whole joints across the window.
   */
  readonly scoringMaskPattern?: 'cells' | 'joints';
  /**
   * Standardise joint errors and NLL against the avatar's own window (median, MAD floored at
   * the normal spread) rather than against the normal data set: unfamiliar motion that the
   * model explains uniformly less well is not taken for an anomaly. Default true.
   */
  readonly adaptive?: boolean;
  /**
   * Divide out the normal error inflation near window edges (see edges.ts). Raises recall
   * and lowers false positives on familiar motion but, with the frame threshold at P97,
   * raises them on unfamiliar motion (measured on held-out clips: clip AUC 0.893 -> 0.907,
   * false positives 13% -> 10%; on a motion left out of training: 5% -> 34%). Default false.
   */
  readonly edgeCorrection?: boolean;
  /**
   * Add the temporal prior: acceleration spikes beyond TEMPORAL_MARGIN of the avatar's own
   * (adaptive) acceleration scale count as evidence of a discontinuity (measured with runs
   * left out of training: clip AUC 0.890 -> 0.937, unseen-motion false positives 5% -> 1%,
   * held-out false positives 11.8% -> 14.7%). Default false; on in the presets.
   */
  readonly temporalPrior?: boolean;
  /**
   * Add the hold prior: a hand or foot that has moved and then holds its exact place on the
   * segment its limb hangs from (a stalled stream, a limb frozen by lost tracking) counts as
   * evidence (see holdEvidence). Turn it off for rigs that animate a limb only some of the
   * time (a leg that walks, then stands in a fixed pose). Default false; on in the presets.
   */
  readonly holdPrior?: boolean;
  /**
   * Add the body prior: a body off or in the floor for longer than a jump lasts, or that
   * jumped to another place or heading and has not jumped back, counts as evidence on every
   * joint (see body-prior.ts). Turn it off for streams in world space where the avatar may
   * change level (stairs, lifts) or teleport by design. Default false; on in the presets.
   */
  readonly bodyPrior?: boolean;
  /**
   * Online path: a stream's first frames are scored against scales drawn from a handful of
   * frames, so decisions (and the online thresholds' calibration) start after this many
   * frames. Default 30 (1 s at 30 fps).
   */
  readonly onlineWarmupFrames?: number;
  /**
   * The online rule's fraction denominator floor that suits this model's streaming scores
   * (chosen on replayed validation takes; a server's own fractionFloorFrames overrides it).
   * Default DEFAULT_ONLINE_FRACTION_FLOOR_FRAMES.
   */
  readonly onlineFractionFloorFrames?: number;
  /**
   * Encoder passes per frame on the streaming path. 'all': the K complementary passes, so
   * every joint of every frame is reconstructed while hidden (as offline). 'rotating': only
   * the first pass, whose hidden joints rotate with the frame (scoringCellMask), so each
   * joint is reconstructed while hidden every K-th frame and its error is carried to the
   * frames between: K times less encoder work per frame, errors at most K-1 frames old.
   * The flow's latent: the pass's own ('rotating'), or the mean of its last K latents, which
   * between them hid every token once ('masked-mean'). Needs cell masks and a flow on
   * masked latents. Default 'all'.
   */
  readonly streamingPasses?: 'all' | 'rotating';
  /**
   * The streaming path evaluates the flow on every n-th frame of an avatar and holds its
   * NLL over the frames between (at most n-1 frames old, causal). With 'masked-mean'
   * latents consecutive frames' latents are means over overlapping frames, so their NLLs
   * move together, and the flow is a fifth of a streamed frame's cost. Default 1 (every frame).
   */
  readonly streamingFlowEvery?: number;
}

export interface ModelConfig {
  readonly preset: string;
  /** Frames per window (T); longer clips are scored in overlapping windows. */
  readonly windowFrames: number;
  readonly fps: number;
  readonly encoder: EncoderConfig;
  /** Hidden width of the per-frame decoder MLP. */
  readonly decoderHidden: number;
  readonly flow: FlowConfig;
  readonly training: TrainingConfig;
  readonly scoring: ScoringConfig;
}

/** Robust location/scale of one score term on normal validation data. */
export interface TermScale {
  readonly center: number;
  readonly spread: number;
}

export interface Calibration {
  /** Standardisation of the frame reconstruction term (top joint deviations). */
  readonly reconstruction: TermScale;
  /** Normal scale of the negative log-likelihood (its spread floors the adaptive spread). */
  readonly nll: TermScale;
  /** Normal scale of each joint's reconstruction error (J entries). */
  readonly joints: readonly TermScale[];
  /** Normal scale of each joint's bone-length deviation (J entries); never adaptive: bones do not change with motion. */
  readonly bones: readonly TermScale[];
  /** Normal scale of each joint's acceleration (J entries): floors the adaptive spread. */
  readonly accelerations?: readonly TermScale[];
  /** How reconstruction worsens near a window's edges, where context is one-sided. */
  readonly edges: EdgeProfile;
  readonly thresholds: Thresholds;
  /**
   * Thresholds of the online path (causal models): the same percentiles of the scores the
   * streaming scorer gives the validation clips replayed frame by frame.
   */
  readonly streaming?: { readonly thresholds: Thresholds };
  /** How many normal validation clips and frames these came from. */
  readonly validationClips: number;
  readonly validationFrames: number;
}

/**
 * Normal error inflation at distance d (frames) from a window's start or end: joint errors
 * there are divided by errorFactor[d], and nllOffset[d] is subtracted from the NLL.
 */
export interface EdgeProfile {
  readonly startErrorFactor: readonly number[];
  readonly endErrorFactor: readonly number[];
  readonly startNllOffset: readonly number[];
  readonly endNllOffset: readonly number[];
}

export interface Thresholds {
  readonly frame: number;
  readonly sequence: number;
  readonly fraction: number;
  readonly spike: number;
}

/** Raw per-frame terms of one clip, before calibration. */
export interface RawClipTerms {
  readonly frameCount: number;
  /** frameCount x J squared reconstruction errors (each joint scored while masked). */
  readonly jointErrors: Float32Array;
  /** frameCount negative log-likelihoods per latent dimension. */
  readonly nll: Float32Array;
  /** frameCount x J squared relative bone-length deviations (the rigid-skeleton prior). */
  readonly boneDeviations: Float32Array;
  /** frameCount x J bends beyond anatomical limits, in units of 5 degrees (the joint-limit prior). */
  readonly limitViolations: Float32Array;
  /** frameCount x J joint acceleration magnitudes, skeleton scales/s^2 (the temporal prior). */
  readonly accelerations: Float32Array;
  /** frameCount x J evidence that a hand or foot holds bit-still on its segment (the hold prior). */
  readonly holds: Float32Array;
  /** frameCount evidence that the whole body floats, sinks, teleported or snapped round (the body prior; every joint gets it). */
  readonly body: Float32Array;
}

export interface ClipDecision {
  readonly anomalous: boolean;
  /** Fraction of frames over the frame threshold (S_frac). */
  readonly fraction: number;
  readonly maxFrameScore: number;
  /** Which arm of the rule fired: sustained (fraction), spike (peak), or none. */
  readonly reason: 'sustained' | 'spike' | 'both' | 'none';
}

export interface ClipScores {
  readonly frameCount: number;
  readonly jointNames: readonly string[];
  readonly frameScores: Float32Array;
  /** frameCount x J */
  readonly jointScores: Float32Array;
  readonly sequenceScore: number;
  readonly clip: ClipDecision;
  readonly thresholds: Thresholds;
}
