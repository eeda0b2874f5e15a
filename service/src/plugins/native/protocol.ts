/**
 * The frame protocol between the service and a plugin host (host/host.c speaks the other end).
 * Frame, little-endian: u32 length of what follows | u8 type | u32 id | i32 status | payload.
 * Multi-string payloads are NUL-terminated UTF-8 strings back to back.
 */

/** Frame types, mirrored from host.c. */
export const Frame = {
  // service -> host
  INIT: 1, ENDPOINT: 2, BEFORE: 3, AFTER: 4, HEALTH: 5, RELOAD: 6, WRITE: 7, SHUTDOWN: 8, HOST_ANSWER: 20,
  // host -> service
  READY: 64, RESULT: 65, HEARTBEAT: 66, LOG: 67, EMIT: 68, HOST_CALL: 69, FATAL: 70,
} as const;

/** What a HOST_CALL frame asks for (in its status field). */
export const HostCall = { EMIT_DURABLE: 1, STATE_GET: 2, STATE_SET: 3, COMMIT: 4, DOCUMENTS_QUERY: 5, DOCUMENT_STATUS: 6 } as const;

/** bw_type_status values of the header. */
export const Status = { OK: 0, NONE: 1, ERR: -1, UNSUPPORTED: -2, HOST_GONE: -3 } as const;

const HEADER = 4 + 1 + 4 + 4;
const MAX_FRAME = 64 * 1024 * 1024;

export interface DecodedFrame {
  type: number;
  id: number;
  status: number;
  payload: Buffer;
}

export function encodeFrame(type: number, id: number, status: number, strings: readonly string[]): Buffer {
  let size = 0;
  for (const s of strings) size += Buffer.byteLength(s) + 1;
  const frame = Buffer.allocUnsafe(HEADER + size);
  frame.writeUInt32LE(HEADER - 4 + size, 0);
  frame.writeUInt8(type, 4);
  frame.writeUInt32LE(id, 5);
  frame.writeInt32LE(status, 9);
  let at = HEADER;
  for (const s of strings) {
    at += frame.write(s, at);
    frame[at++] = 0;
  }
  return frame;
}

/** Splits a byte stream into frames; throws on a frame the host could never have sent. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (frame: DecodedFrame) => void): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const length = buf.readUInt32LE(at);
      if (length < HEADER - 4 || length > MAX_FRAME) throw new Error(`corrupt frame of length ${length}`);
      if (buf.length - at < 4 + length) break;
      onFrame({
        type: buf.readUInt8(at + 4),
        id: buf.readUInt32LE(at + 5),
        status: buf.readInt32LE(at + 9),
        payload: buf.subarray(at + HEADER, at + 4 + length),
      });
      at += 4 + length;
    }
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));

  }
}

/** The i-th NUL-terminated string of a payload. */
export function payloadStrings(payload: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) { out.push(payload.toString('utf8', start, i)); start = i + 1; }
  }
  if (start < payload.length) out.push(payload.toString('utf8', start));
  return out;
}
