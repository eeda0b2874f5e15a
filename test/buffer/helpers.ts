import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DataBuffer, type BufferOptions } from '../../service/src/buffer/buffer.js';

export function tempDir(prefix = 'bw-buffer-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function openBuffer(file: string, options: Partial<BufferOptions> = {}): DataBuffer {
  return new DataBuffer({ file, maxBytes: 1024 ** 3, maxAgeMs: 30 * 86_400_000, durability: 'normal', ...options });
}

/** A second, independent connection: sees only what was committed to the file. */
export function committedSeqs(file: string): number[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT seq FROM readings ORDER BY seq').pluck().all() as number[];
  } finally {
    db.close();
  }
}

export function readings(device: string, n: number, start = 0, point = 'p') {
  return Array.from({ length: n }, (_, i) => ({ device, point, value: start + i, ts: Date.now() }));
}
