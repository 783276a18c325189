/** WebSocket test clients for the stream server: connect, send msgpack/JSON, collect and await messages. */
import { decode, encode } from '@msgpack/msgpack';
import WebSocket from 'ws';

export type Message = Record<string, unknown> & { type: string };

export class TestClient {
  readonly messages: Message[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      const message = (isBinary ? decode(bytes) : JSON.parse(bytes.toString('utf8'))) as Message;
      (message as Record<string, unknown>).__text = !isBinary;
      this.messages.push(message);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8') };
      this.wake();
    });
  }

  static connect(url: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(message: unknown): void {
    this.ws.send(encode(message));
  }

  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  sendJson(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  ofType(type: string): Message[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Resolves once `predicate` holds (checked after each message), or fails after timeoutMs. */
  async until(predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(this.messages.slice(-5)).slice(0, 800)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `count` messages of `type` in total. */
  async waitFor(type: string, count = 1, timeoutMs?: number): Promise<Message[]> {
    await this.until(() => this.ofType(type).length >= count, `${count} '${type}' message(s)`, timeoutMs);
    return this.ofType(type);
  }

  async waitClosed(timeoutMs = 30_000): Promise<{ code: number; reason: string }> {
    await this.until(() => this.closed !== null, 'close', timeoutMs);
    return this.closed!;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
