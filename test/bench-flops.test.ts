import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flowMixingPerCall, flowPerFrame, parameterCount, streamingCallFlops, windowAttentionKeys, windowCallFlops } from '../bench/flops.js';
import { PAPER, SMALL, TINY } from '../src/model/presets.js';
import type { ModelConfig } from '../src/model/types.js';

describe('bench FLOP counting', () => {
  it('counts tiny with an unmasked flow by hand: 4 passes of the autoencoder, the flow once, per frame', () => {
    const unmasked: ModelConfig = { ...TINY, flow: { ...TINY.flow, latents: 'unmasked' }, scoring: { ...TINY.scoring, streamingPasses: 'all' } };
    // d=64, 2 layers, ffn x2, radius 12 (causal: 13 keys), decoder 96, flow 4 blocks x 96, context 16.
    const embedding = 2 * 88 * 64;
    const layer = 4 * 2 * 64 * 64 + 4 * 13 * 64 + 2 * 2 * 64 * 128;
    const decoder = 2 * 64 * 96 + 2 * 96 * 66;
    const perPass = embedding + 2 * layer + decoder;
    const flow = 2 * 64 * 16 + 4 * (2 * 64 * 64 + 2 * (32 + 16) * 96 + 2 * 96 * 2 * 32);
    expect(flowPerFrame(unmasked)).toBe(flow);
    const { call, perUnit } = windowCallFlops(unmasked, 1);
    const expected = 250 * (4 * perPass + flow) + 2 * 250 * 250 * 64 + flowMixingPerCall(unmasked);
    expect(call.total).toBe(expected);
    expect(perUnit).toBe(expected);
    expect(call.attention).toBe(250 * 4 * 2 * 4 * 13 * 64);
    expect(call.contextPooling).toBe(2 * 250 * 250 * 64);
  });

  it('shares per-call work over the windows of a batch', () => {
    const one = windowCallFlops(TINY, 1);
    const sixteen = windowCallFlops(TINY, 16);
    expect(sixteen.call.total).toBe(16 * (one.call.total - one.call.flowMixing) + one.call.flowMixing);
    expect(sixteen.perUnit).toBeLessThan(one.perUnit);
  });

  it('gives full attention its quadratic cost and no causal pooling', () => {
    expect(windowAttentionKeys(PAPER, 250)).toBe(250);
    expect(windowAttentionKeys(TINY, 250)).toBe(13);
    const bidirectionalLocal: ModelConfig = { ...TINY, encoder: { ...TINY.encoder, causal: false } };
    expect(windowAttentionKeys(bidirectionalLocal, 250)).toBe(25);
    expect(windowAttentionKeys(bidirectionalLocal, 20)).toBe(25);
    expect(windowAttentionKeys(bidirectionalLocal, 10)).toBe(10);
    const paper = windowCallFlops(PAPER, 1);
    expect(paper.call.contextPooling).toBe(0);
    expect(paper.call.attention).toBe(250 * 4 * 6 * 4 * 250 * 512);
    // The paper model is two orders of magnitude heavier than tiny.
    expect(paper.perUnit / windowCallFlops(TINY, 1).perUnit).toBeGreaterThan(100);
  });

  it('counts a streaming step per new frame with radius + 1 keys (packed rows, no padding)', () => {
    const unmasked: ModelConfig = { ...TINY, flow: { ...TINY.flow, latents: 'unmasked' }, scoring: { ...TINY.scoring, streamingPasses: 'all' } };
    const step = streamingCallFlops(unmasked, 100, 3);
    const perPassAttention = 2 * 4 * (12 + 1) * 64;
    expect(step.call.attention).toBe(300 * 4 * perPassAttention);
    // A flow on the masked passes' latents drops the unmasked pass.
    const maskedMean = streamingCallFlops({ ...unmasked, flow: { ...TINY.flow, latents: 'masked-mean' } }, 100, 3);
    expect(maskedMean.call.attention).toBe(300 * 3 * perPassAttention);
    // One rotating pass per frame: a third of the encoder work, the same flow.
    // The tiny preset (the shipped recipe) streams one rotating pass per frame.
    const rotating = streamingCallFlops(TINY, 100, 3);
    expect(rotating.call.attention).toBe(300 * perPassAttention);
    expect(rotating.call.flow).toBe(maskedMean.call.flow);
    expect(windowCallFlops(TINY, 1).call.attention).toBe(windowCallFlops({ ...TINY, flow: { ...TINY.flow, latents: 'masked-mean' } }, 1).call.attention);
    expect(step.perUnit).toBeCloseTo(step.call.total / 300, 6);
    // Per frame about what the window path costs per frame (no T x T pooling, a little more attention).
    const window = windowCallFlops(unmasked, 16);
    expect(step.perUnit / (window.perUnit / 250)).toBeGreaterThan(0.8);
    expect(step.perUnit / (window.perUnit / 250)).toBeLessThan(1.2);
    expect(() => streamingCallFlops(PAPER, 1, 3)).toThrow(/not causal/);
    expect(() => streamingCallFlops(TINY, 0, 3)).toThrow();
  });

  it('counts the parameters of the shipped model exactly as its weights manifest does', () => {
    const manifest = JSON.parse(readFileSync('models/default/weights.json', 'utf8')) as { manifest: { shape: number[] }[] };
    const config = JSON.parse(readFileSync('models/default/config.json', 'utf8')) as ModelConfig;
    const stored = manifest.manifest.reduce((sum, entry) => sum + entry.shape.reduce((a, b) => a * b, 1), 0);
    expect(parameterCount(config)).toBe(stored);
    expect(parameterCount(SMALL)).toBeGreaterThan(parameterCount(TINY));
  });
});
