import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, payloadStrings, type DecodedFrame } from '../../../service/src/plugins/native/protocol.js';

describe('plugin host frame protocol', () => {
  it('reassembles frames split anywhere, including one of many megabytes in small chunks', () => {
    const big = 'x'.repeat(16 * 1024 * 1024);
    const stream = Buffer.concat([encodeFrame(65, 1, 0, ['small']), encodeFrame(65, 2, 0, [big, 'tail']), encodeFrame(66, 3, 0, [])]);
    const frames: DecodedFrame[] = [];
    const reader = new FrameReader();
    for (let at = 0; at < stream.length; at += 65536) reader.push(stream.subarray(at, at + 65536), (f) => frames.push(f));
    expect(frames.map((f) => f.id)).toEqual([1, 2, 3]);
    expect(payloadStrings(frames[0].payload)).toEqual(['small']);
    const [body, tail] = payloadStrings(frames[1].payload);
    expect(body.length).toBe(big.length);
    expect(tail).toBe('tail');
  });

  it('splits a prefix across chunks and refuses a corrupt length', () => {
    const frame = encodeFrame(65, 7, -1, ['a', 'b']);
    const frames: DecodedFrame[] = [];
    const reader = new FrameReader();
    for (const byte of frame) reader.push(Buffer.from([byte]), (f) => frames.push(f));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ type: 65, id: 7, status: -1 });
    expect(() => new FrameReader().push(Buffer.from([1, 0, 0, 0, 0]), () => {})).toThrow('corrupt frame of length 1');
  });
});
