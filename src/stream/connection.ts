/**
 * What a session needs from a WebSocket: send, close, and how much is still queued. The
 * server adapts `ws` sockets to it; tests can pass plain objects.
 */
export interface Connection {
  send(data: Uint8Array | string): void;
  close(code: number, reason: string): void;
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
}

/** Close reasons are limited to 123 bytes by RFC 6455. */
export function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

/** Error replies are skipped (still counted) while this much is queued: a client that does not read them must not grow our memory. */
export const MAX_BUFFERED_FOR_REPLIES = 1 << 20;
