/**
 * The frame protocol between the service and a plugin host (the C program in host/ speaks the other end).
 * Frame, little-endian: u32 length of what follows | u8 type | u32 id | i32 status | payload.
 * Multi-string payloads are NUL-terminated UTF-8 strings back to back. An ENDPOINT frame's last
 * part is the request body as bytes (NULs allowed), its length in the status field; a REPLY frame
 * (process_endpoint_data_v2, ABI 1.2) is i32 HTTP status | content type NUL | body bytes.
 */

/** Frame types, mirrored from host/host.h. */
export const Frame = {
  // service -> host
  INIT: 1, ENDPOINT: 2, BEFORE: 3, AFTER: 4, HEALTH: 5, RELOAD: 6, WRITE: 7, SHUTDOWN: 8, HOST_ANSWER: 20,
  // host -> service
  READY: 64, RESULT: 65, HEARTBEAT: 66, LOG: 67, EMIT: 68, HOST_CALL: 69, FATAL: 70, REPLY: 71,
} as const;

/** What a HOST_CALL frame asks for (in its status field). */
export const HostCall = { EMIT_DURABLE: 1, STATE_GET: 2, STATE_SET: 3, COMMIT: 4, DOCUMENTS_QUERY: 5, DOCUMENT_STATUS: 6, EMIT_ACKNOWLEDGED: 7 } as const;

/** bw_type_status values of the header. */
export const Status = { OK: 0, NONE: 1, ERR: -1, UNSUPPORTED: -2, HOST_GONE: -3 } as const;

/** The length field and what follows it (type, id, status): host.h's HEADER_SIZE is the part after the length. */
export const HEADER = 4 + 1 + 4 + 4;
export const MAX_FRAME = 64 * 1024 * 1024;

export interface DecodedFrame {
  type: number;
  id: number;
  status: number;
  payload: Buffer;
}

/** A frame whose payload is `parts`, each followed by a NUL: strings as UTF-8, Buffers as they are. */
export function encodeFrame(type: number, id: number, status: number, parts: ReadonlyArray<string | Buffer>): Buffer {
  let size = 0;
  for (const p of parts) size += (typeof p === 'string' ? Buffer.byteLength(p) : p.length) + 1;
  const frame = Buffer.allocUnsafe(HEADER + size);
  frame.writeUInt32LE(HEADER - 4 + size, 0);
  frame.writeUInt8(type, 4);
  frame.writeUInt32LE(id, 5);
  frame.writeInt32LE(status, 9);
  let at = HEADER;
  for (const p of parts) {
    at += typeof p === 'string' ? frame.write(p, at) : p.copy(frame, at);
    frame[at++] = 0;
  }
  return frame;
}

/** What a REPLY frame's payload holds. */
export interface DecodedReply {
  httpStatus: number;
  contentType: string | undefined;
  body: Buffer;
}

export function decodeReply(payload: Buffer): DecodedReply {
  const end = payload.indexOf(0, 4);
  const typeEnd = end < 0 ? payload.length : end;
  return {
    httpStatus: payload.length >= 4 ? payload.readInt32LE(0) : 0,
    contentType: typeEnd > 4 ? payload.toString('latin1', 4, typeEnd) : undefined,
    body: payload.subarray(Math.min(payload.length, typeEnd + 1)),
  };
}

/**
 * Splits a byte stream into frames; throws on a frame the host could never have sent. A large
 * frame arrives in many chunks: they are collected and joined once, when the frame is complete,
 * not re-concatenated on every chunk (which is quadratic in the frame size).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Total size (length prefix included) of the frame being collected, once its prefix is known. */
  private needed = 0;

  push(chunk: Buffer, onFrame: (frame: DecodedFrame) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.needed === 0 && this.buffered >= 4) this.needed = this.frameSize();
    if (this.needed === 0 || this.buffered < this.needed) return;

    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
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
    const rest = buf.subarray(at);
    this.chunks = rest.length ? [Buffer.from(rest)] : [];
    this.buffered = rest.length;
    this.needed = rest.length >= 4 ? this.frameSize() : 0;
  }

  private frameSize(): number {
    const head = this.chunks[0].length >= 4 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const length = head.readUInt32LE(0);
    if (length < HEADER - 4 || length > MAX_FRAME) throw new Error(`corrupt frame of length ${length}`);
    return 4 + length;
  }
}

/** The i-th NUL-terminated string of a payload. */
export function payloadStrings(payload: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  // indexOf scans natively: a document of a few kB is one call, not a JS loop over its bytes.
  for (let end = payload.indexOf(0); end >= 0; end = payload.indexOf(0, start)) {
    out.push(payload.toString('utf8', start, end));
    start = end + 1;
  }
  if (start < payload.length) out.push(payload.toString('utf8', start));
  return out;
}
