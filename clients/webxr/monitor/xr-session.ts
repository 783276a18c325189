/**
 * The page as an XR publisher: on a device with WebXR, "Enter VR" starts an immersive session
 * and streams the wearer's own motion (viewer pose, hands or controllers, body where the
 * browser tracks it: see src/xr-frame.ts) as one more avatar, at 30 fps whatever the headset's
 * refresh rate (FrameClock). Untested on hardware in CI: there is no XR device there.
 */
import type { WebGLRenderer } from 'three';
import type { MotionguardClient } from '../src/client.js';
import { FrameClock } from '../src/frame-clock.js';
import { XrFramePoseSource, type XrCapture } from '../src/xr-frame.js';

export async function immersiveVrSupported(): Promise<boolean> {
  const xr = (navigator as Navigator & { xr?: XRSystem }).xr;
  if (!xr) return false;
  try {
    return await xr.isSessionSupported('immersive-vr');
  } catch {
    return false;
  }
}

export class XrPublisher {
  private readonly source = new XrFramePoseSource();
  private readonly clock = new FrameClock(30);
  private session: XRSession | null = null;

  constructor(
    private readonly renderer: WebGLRenderer,
    private readonly client: MotionguardClient,
    readonly avatar: string,
    private readonly onCapture: (capture: XrCapture) => void,
  ) {}

  get active(): boolean {
    return this.session !== null;
  }

  async start(): Promise<void> {
    const xr = (navigator as Navigator & { xr?: XRSystem }).xr;
    if (!xr) throw new Error('WebXR is not available in this browser');
    const session = await xr.requestSession('immersive-vr', { optionalFeatures: ['local-floor', 'hand-tracking', 'body-tracking'] });
    this.renderer.xr.enabled = true;
    this.renderer.xr.setReferenceSpaceType('local-floor');
    await this.renderer.xr.setSession(session);
    this.session = session;
    this.clock.reset();
    this.source.estimator.reset();
    session.addEventListener('end', () => {
      this.session = null;
      this.renderer.xr.enabled = false;
    });
  }

  async stop(): Promise<void> {
    await this.session?.end();
  }

  /** From the renderer's animation loop: publishes this XR frame if its 1/30 s slot is new. */
  onFrame(time: number, frame: XRFrame | undefined): void {
    if (!frame || !this.session) return;
    const space = this.renderer.xr.getReferenceSpace();
    if (!space) return;
    const seq = this.clock.next(time);
    if (seq === null) return;
    const capture = this.source.capture(frame, space);
    if (!capture) return;
    this.client.publish(this.avatar, capture.positions, { seq });
    this.onCapture(capture);
  }
}
