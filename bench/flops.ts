/**
 * FLOP counts of the model's two scoring paths, computed from its config (pure). Counted:
 * every matrix product as executed (2 FLOPs per multiply-add, padding and masked-out
 * attention entries included, since the backend computes them). Not counted: elementwise
 * work (layer norms, GELU, softmax, residual adds, the error sums) and data movement,
 * which are memory-bound and cheap in FLOPs but not in time; that is part of why the
 * achieved rate sits below the plain matMul rate.
 *
 * Per frame and scoring pass (P = K masked passes, plus one unmasked if flow.latents is
 * 'unmasked'; on the streaming step P = 1 if streamingPasses is 'rotating'):
 *   embedding   2 * (F + Tk) * d                      F = 66 features, Tk = 22 mask flags
 *   projections L * 4 * 2 * d * d                     q, k, v, out
 *   attention   L * 4 * keys * d                      q.k and weights.v over `keys` keys
 *   ffn         L * 2 * 2 * d * (m * d)
 *   decoder     2 * d * h + 2 * h * F
 * Per frame, once (the flow on one latent):
 *   flow        2 * d * c + B * (2 * d * d + 2 * (d1 + c) * hf + 2 * hf * 2 * d2)
 * Per model call: the flow's mixing matrices W = P (L + I) (U + diag), 2 * 2 * d^3 per block.
 * Window path only: the causal context is one T x T band-matrix product per window, 2 * T^2 * d.
 * keys = radius + 1 (causal local), 2 * radius + 1 (bidirectional local), T (full attention);
 * in the streaming step, radius + 1 (JS attention over packed rows, no padding).
 */
import type { ModelConfig } from '../src/model/types.js';

/** Standardised features per frame (21 joints + root token, 3 channels) and mask flags per frame. */
export const FEATURES_PER_FRAME = 66;
export const TOKENS_PER_FRAME = 22;

export interface FlopBreakdown {
  readonly embedding: number;
  readonly projections: number;
  readonly attention: number;
  readonly ffn: number;
  readonly decoder: number;
  readonly flow: number;
  readonly contextPooling: number;
  readonly flowMixing: number;
  readonly total: number;
}

export interface CallFlops {
  /** The whole model call. */
  readonly call: FlopBreakdown;
  /** Per window (window path) or per new frame (streaming step): the call's total shared out. */
  readonly perUnit: number;
}

/** Encoder passes per frame on the window path. */
function passes(config: ModelConfig): number {
  return config.scoring.scoringMasks + ((config.flow.latents ?? 'unmasked') === 'unmasked' ? 1 : 0);
}

/** Encoder passes per frame on the streaming step: one when they rotate (ScoringConfig.streamingPasses). */
function streamingPasses(config: ModelConfig): number {
  return config.scoring.streamingPasses === 'rotating' ? 1 : passes(config);
}

/** Attention keys per query in the window path. */
export function windowAttentionKeys(config: ModelConfig, frames: number): number {
  const { attentionRadius: r, causal } = config.encoder;
  if (r === null) return frames;
  if (causal) return r + 1;
  return r < frames ? 2 * r + 1 : frames;
}

/** Per frame and pass: the masked autoencoder with `keys` attention keys per query. */
function encoderDecoderPerFrame(config: ModelConfig, keys: number): Omit<FlopBreakdown, 'flow' | 'contextPooling' | 'flowMixing' | 'total'> {
  const { dModel: d, layers: L, ffnMultiplier: m } = config.encoder;
  const h = config.decoderHidden;
  return {
    embedding: 2 * (FEATURES_PER_FRAME + TOKENS_PER_FRAME) * d,
    projections: L * 4 * 2 * d * d,
    attention: L * 4 * keys * d,
    ffn: L * 2 * 2 * d * (m * d),
    decoder: 2 * d * h + 2 * h * FEATURES_PER_FRAME,
  };
}

/** The flow's per-frame FLOPs (its context projection and B blocks). */
export function flowPerFrame(config: ModelConfig): number {
  const d = config.encoder.dModel;
  const { blocks, hidden: hf, contextSize: c } = config.flow;
  const d1 = Math.floor(d / 2);
  const d2 = d - d1;
  return 2 * d * c + blocks * (2 * d * d + 2 * (d1 + c) * hf + 2 * hf * 2 * d2);
}

/** The flow's per-call FLOPs: building each block's mixing matrix (two d x d x d products). */
export function flowMixingPerCall(config: ModelConfig): number {
  const d = config.encoder.dModel;
  return config.flow.blocks * 2 * 2 * d * d * d;
}

function combine(perFrame: ReturnType<typeof encoderDecoderPerFrame>, framesTimesPasses: number, flowFrames: number, config: ModelConfig, contextPooling: number): FlopBreakdown {
  const embedding = perFrame.embedding * framesTimesPasses;
  const projections = perFrame.projections * framesTimesPasses;
  const attention = perFrame.attention * framesTimesPasses;
  const ffn = perFrame.ffn * framesTimesPasses;
  const decoder = perFrame.decoder * framesTimesPasses;
  const flow = flowPerFrame(config) * flowFrames;
  const flowMixing = flowMixingPerCall(config);
  return {
    embedding,
    projections,
    attention,
    ffn,
    decoder,
    flow,
    contextPooling,
    flowMixing,
    total: embedding + projections + attention + ffn + decoder + flow + contextPooling + flowMixing,
  };
}

/** One window-path model call over `windows` windows of `frames` frames (NFlowAD.windowTerms). */
export function windowCallFlops(config: ModelConfig, windows: number, frames: number = config.windowFrames): CallFlops {
  if (!(windows >= 1 && frames >= 1)) throw new Error(`windows and frames must be >= 1, got ${windows}, ${frames}`);
  const perFrame = encoderDecoderPerFrame(config, windowAttentionKeys(config, frames));
  const d = config.encoder.dModel;
  const pooling = config.encoder.causal ? windows * 2 * frames * frames * d : 0;
  const call = combine(perFrame, windows * frames * passes(config), windows * frames, config, pooling);
  return { call, perUnit: call.total / windows };
}

/**
 * One streaming step (IncrementalScorer.scoreNewFrames) over `avatars` avatars with `newFrames`
 * new frames each: P streams per avatar, each frame attending over radius + 1 keys.
 */
export function streamingCallFlops(config: ModelConfig, avatars: number, newFrames: number): CallFlops {
  if (!config.encoder.causal || config.encoder.attentionRadius === null) throw new Error(`preset '${config.preset}' is not causal: it has no streaming step`);
  if (!(avatars >= 1 && newFrames >= 1)) throw new Error(`avatars and newFrames must be >= 1, got ${avatars}, ${newFrames}`);
  const perFrame = encoderDecoderPerFrame(config, config.encoder.attentionRadius + 1);
  const frames = avatars * newFrames;
  const call = combine(perFrame, frames * streamingPasses(config), frames, config, 0);
  return { call, perUnit: call.total / frames };
}

/** Parameters of the model (weights and biases of every dense layer, mask token, flow), for the report. */
export function parameterCount(config: ModelConfig): number {
  const { dModel: d, layers: L, ffnMultiplier: m, attentionRadius: r, causal } = config.encoder;
  const h = config.decoderHidden;
  const dense = (i: number, o: number): number => i * o + o;
  const embed = dense(FEATURES_PER_FRAME + TOKENS_PER_FRAME, d) + FEATURES_PER_FRAME;
  const relative = causal && r !== null ? config.encoder.heads * (r + 1) : 0;
  const layer = 4 * dense(d, d) + dense(d, m * d) + dense(m * d, d) + 4 * d + relative;
  const decoder = 2 * d + dense(d, h) + dense(h, FEATURES_PER_FRAME);
  const { blocks, hidden: hf, contextSize: c } = config.flow;
  const d1 = Math.floor(d / 2);
  const d2 = d - d1;
  const block = 2 * d + 3 * d * d + d + dense(d1 + c, hf) + dense(hf, 2 * d2);
  return embed + L * layer + decoder + dense(d, c) + blocks * block;
}
