/** Where raw scoring terms come from: the model in this thread, or a pool of worker threads. */
import type { Motion } from './motion.js';
import type { RawClipTerms } from './types.js';

export interface TermsSource {
  rawTerms(motions: readonly Motion[]): Promise<RawClipTerms[]>;
  close?(): Promise<void>;
}
