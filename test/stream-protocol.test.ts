import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, ERROR_CODES, PROTOCOL_VERSION, SKELETON_PRESETS } from '../src/stream/protocol.js';

describe('protocol v1', () => {
  it('keeps its stable error codes (clients switch on them)', () => {
    for (const code of [
      'malformed_message',
      'unknown_type',
      'bad_message',
      'hello_required',
      'bad_skeleton',
      'bad_joint_count',
      'non_finite',
      'payload_too_large',
      'too_many_frames',
      'duplicate_frame',
      'out_of_order',
      'bad_avatar_id',
      'too_many_avatars',
    ]) {
      expect(ERROR_CODES).toContain(code);
    }
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it('is version 1 with the documented presets and limits', () => {
    expect(PROTOCOL_VERSION).toBe(1);
    expect(SKELETON_PRESETS).toEqual(['canonical', 'unity', 'bandai-namco', 'mixamo', 'vrm']);
    expect(DEFAULT_LIMITS).toEqual({ maxMessageBytes: 1048576, maxFramesPerMessage: 2048, maxAvatarsPerConnection: 1024, maxAvatarIdLength: 128 });
  });

  it('docs/protocol.md documents every error code and limit', async () => {
    const doc = await readFile('docs/protocol.md', 'utf8');
    for (const code of ERROR_CODES) expect(doc, code).toContain(`| \`${code}\` |`);
    for (const limit of Object.keys(DEFAULT_LIMITS)) expect(doc, limit).toContain(`| \`${limit}\` |`);
  });
});
