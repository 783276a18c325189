/** A Connection that records what a session sends and how it closes (no sockets). */
import { decode } from '@msgpack/msgpack';
import type { Connection } from '../../src/stream/connection.js';

export class FakeConnection implements Connection {
  readonly sent: (Uint8Array | string)[] = [];
  closed: { code: number; reason: string } | null = null;
  bufferedAmount = 0;

  send(data: Uint8Array | string): void {
    this.sent.push(data);
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }

  /** Sent messages, decoded (msgpack or JSON). */
  get messages(): (Record<string, unknown> & { type: string })[] {
    return this.sent.map((d) => (typeof d === 'string' ? JSON.parse(d) : decode(d)) as Record<string, unknown> & { type: string });
  }

  ofType(type: string): (Record<string, unknown> & { type: string })[] {
    return this.messages.filter((m) => m.type === type);
  }
}
