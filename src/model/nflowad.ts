/**
 * NFlowAD: the masked autoencoder and the conditional flow on its latents, and the one
 * batched computation scoring needs: per-frame, per-token reconstruction errors (each
 * token reconstructed while hidden) and per-frame flow negative log-likelihoods.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConditionalFlow } from './flow.js';
import { MaskedAutoencoder, pooledContext, type WindowBatch } from './mae.js';
import { scoringCellMask, scoringMaskGroups } from './masks.js';
import { CHANNELS, TOKEN_COUNT } from './normalise.js';
import { ParamStore } from './params.js';
import type { FlowLatents, ModelConfig } from './types.js';

/** Causal context length when a preset does not set flow.contextFrames: 2 s at 30 fps. */
export const DEFAULT_CONTEXT_FRAMES = 60;

export interface WindowTerms {
  /** batch x frames x TOKEN_COUNT squared errors of hidden-token reconstructions. */
  readonly tokenErrors: Float32Array;
  /** batch x frames flow NLL per latent dimension. */
  readonly nll: Float32Array;
}

export class NFlowAD {
  readonly params: ParamStore;
  readonly mae: MaskedAutoencoder;
  readonly flow: ConditionalFlow;
  private readonly maskGroups: Uint8Array[];

  constructor(
    readonly config: ModelConfig,
    seed = config.training.seed,
  ) {
    this.params = new ParamStore(seed);
    this.mae = new MaskedAutoencoder(this.params, config);
    this.flow = new ConditionalFlow(this.params, config.flow, config.encoder.dModel);
    this.maskGroups = scoringMaskGroups(config.scoring.scoringMasks);
    if (this.flowLatents === 'rotating' && config.scoring.scoringMaskPattern === 'joints') {
      throw new Error(`preset '${config.preset}': flow.latents 'rotating' needs scoringMaskPattern 'cells'`);
    }
  }

  /** Which latent the flow models (see FlowConfig.latents). */
  get flowLatents(): FlowLatents {
    return this.config.flow.latents ?? 'unmasked';
  }

  /** Encoder passes per scored frame offline: the K masked ones, plus the unmasked one if the flow wants it. */
  get scoringPasses(): number {
    return this.maskGroups.length + (this.flowLatents === 'unmasked' ? 1 : 0);
  }

  /** The flow's latents h_t and their pooled context, [B*T, d] each (for flow training). */
  latents(batch: WindowBatch): { latent: tf.Tensor2D; context: tf.Tensor2D } {
    const { batch: B, frames: T } = batch;
    let latent: tf.Tensor2D;
    if (this.flowLatents === 'masked-mean') {
      const { stacked, mask } = this.stackPasses(batch, false);
      latent = this.maskedMean(this.mae.forward(stacked, mask).latent, B * T);
    } else if (this.flowLatents === 'rotating') {
      const mask = new Float32Array(B * T * TOKEN_COUNT);
      this.writeCellMask(mask, 0, 0, B, T);
      latent = this.mae.forward(batch, mask).latent;
    } else {
      latent = this.mae.forward(batch, new Float32Array(B * T * TOKEN_COUNT)).latent;
    }
    return { latent, context: pooledContext(latent, batch.valid, B, T, this.contextFrames) };
  }

  /** Mean over the K masked passes of their latents, [K*rows, d] -> [rows, d]. */
  private maskedMean(latent: tf.Tensor2D, rows: number): tf.Tensor2D {
    const K = this.maskGroups.length;
    return tf.mean(tf.slice(latent, [0, 0], [K * rows, -1]).reshape([K, rows, latent.shape[1]]), 0) as tf.Tensor2D;
  }

  /** The batch repeated once per masked scoring pass (and once unmasked, last, when asked), with their masks. */
  private stackPasses(batch: WindowBatch, withUnmasked: boolean): { stacked: WindowBatch; mask: Float32Array } {
    const { batch: B, frames: T } = batch;
    const K = this.maskGroups.length;
    const copies = K + (withUnmasked ? 1 : 0);
    const cells = B * T * TOKEN_COUNT;
    const stacked: WindowBatch = {
      batch: B * copies,
      frames: T,
      features: new Float32Array(batch.features.length * copies),
      valid: new Float32Array(batch.valid.length * copies),
    };
    const mask = new Float32Array(cells * copies);
    for (let k = 0; k < copies; k++) {
      stacked.features.set(batch.features, k * batch.features.length);
      stacked.valid.set(batch.valid, k * batch.valid.length);
      if (k === K) break; // the unmasked copy
      if (this.config.scoring.scoringMaskPattern === 'joints') {
        const group = this.maskGroups[k]!;
        for (let i = 0; i < B * T; i++) mask.set(group, k * cells + i * TOKEN_COUNT);
      } else {
        this.writeCellMask(mask, k * cells, k, B, T);
      }
    }
    return { stacked, mask };
  }

  /** Scoring pass k's cell mask for each of B windows of T frames, written into mask from `at`. */
  private writeCellMask(mask: Float32Array, at: number, k: number, B: number, T: number): void {
    const windowMask = scoringCellMask(k, this.maskGroups.length, T);
    for (let b = 0; b < B; b++) mask.set(windowMask, at + b * T * TOKEN_COUNT);
  }

  /**
   * Scoring terms for a batch of windows. All K masked passes (and the unmasked pass, when
   * the flow wants it) run as ONE forward over a larger batch: one big matMul beats small ones.
   */
  async windowTerms(batch: WindowBatch): Promise<WindowTerms> {
    const { batch: B, frames: T } = batch;
    const K = this.maskGroups.length;
    const cells = B * T * TOKEN_COUNT;
    const { stacked, mask } = this.stackPasses(batch, this.flowLatents === 'unmasked');
    const [errorsTensor, nllTensor] = tf.tidy(() => {
      const { reconstruction, latent } = this.mae.forward(stacked, mask);
      const target = tf.tensor3d(stacked.features, [stacked.batch * T, TOKEN_COUNT, CHANNELS]);
      const err = tf.sum(tf.square(tf.sub(reconstruction.reshape(target.shape), target)), -1);
      // Keep each token's error from the pass that hid it: multiply by the 0/1 mask and sum the K passes.
      const masked = tf.mul(tf.slice(err, [0, 0], [K * B * T, TOKEN_COUNT]), tf.tensor2d(mask.subarray(0, K * cells), [K * B * T, TOKEN_COUNT]));
      const tokenErrors = tf.sum(masked.reshape([K, B * T, TOKEN_COUNT]), 0);
      // The stack holds pass 0 first and the unmasked copy (if any) last.
      const flowLatent =
        this.flowLatents === 'masked-mean'
          ? this.maskedMean(latent, B * T)
          : (tf.slice(latent, [this.flowLatents === 'rotating' ? 0 : K * B * T, 0], [B * T, -1]) as tf.Tensor2D);
      const nll = this.flow.nll(flowLatent, pooledContext(flowLatent, batch.valid, B, T, this.contextFrames));
      return [tokenErrors, nll];
    });
    const [tokenErrors, nll] = await Promise.all([errorsTensor.data(), nllTensor.data()]);
    errorsTensor.dispose();
    nllTensor.dispose();
    return { tokenErrors: tokenErrors as Float32Array, nll: nll as Float32Array };
  }

  /** Frames the causal context averages over; null: the whole window (non-causal models). */
  get contextFrames(): number | null {
    return this.config.encoder.causal ? (this.config.flow.contextFrames ?? DEFAULT_CONTEXT_FRAMES) : null;
  }

  dispose(): void {
    this.mae.dispose();
    this.flow.dispose();
    this.params.dispose();
  }
}
