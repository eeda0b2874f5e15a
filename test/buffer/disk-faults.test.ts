import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DataBuffer } from '../../service/src/buffer/buffer.js';
import { waitFor } from '../helpers/wait.js';
import { openBuffer, readings, tempDir } from './helpers.js';

/**
 * Real disk faults: the buffer lives on a tiny tmpfs that the test fills up and remounts read-only
 * (needs root, as in CI's container). Nothing acknowledged may be lost and the file must stay sound.
 */
let mountPoint = '';
let image = '';

beforeEach(() => {
  mountPoint = tempDir('bw-disk-');
});

afterEach(() => {
  try { execFileSync('umount', ['-l', mountPoint]); } catch { /* a test may have unmounted it */ }
  fs.rmSync(mountPoint, { recursive: true, force: true });
  if (image) fs.rmSync(image, { force: true });
  image = '';
});

function mountTmpfs(size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mountPoint]);
}

/** A small ext4 image that the kernel remounts read-only on a storage error, as on a real box. */
function mountExt4(): void {
  image = `${mountPoint}.img`;
  execFileSync('truncate', ['-s', '16M', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, mountPoint]);
}

/** Makes ext4 report an error on the mount, which switches it to read-only (its own test hook). */
function failExt4(): void {
  const source = execFileSync('findmnt', ['-no', 'SOURCE', mountPoint], { encoding: 'utf8' }).trim();
  fs.writeFileSync(`/sys/fs/ext4/${path.basename(source)}/trigger_fs_error`, 'backworks test');
}

function integrity(file: string): string {
  const db = new Database(file);
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

function values(file: string): number[] {
  const db = new Database(file);
  try {
    return (db.prepare('SELECT value FROM readings ORDER BY seq').pluck().all() as string[]).map(Number);
  } finally {
    db.close();
  }
}

/** Emits in batches of 500 until a commit is refused; returns how many were acknowledged. */
async function fillUntilRefused(buffer: DataBuffer, next: { value: number }): Promise<number> {
  let acknowledged = 0;
  for (;;) {
    const batch = readings('line1', 500, next.value);
    next.value += 500;
    try {
      await buffer.emit('sim', batch);
      acknowledged += 500;
    } catch {
      return acknowledged;
    }
  }
}

describe('buffer on a failing disk', () => {
  it('reports a full disk in health, keeps serving, loses nothing acknowledged and recovers', async () => {
    mountTmpfs('3m');
    const file = path.join(mountPoint, 'b.db');
    const buffer = openBuffer(file, { flushRows: 500, retryMs: 50, maxQueued: 1_000_000 });
    buffer.openOutbox('fleet');
    const next = { value: 0 };
    const acknowledged = await fillUntilRefused(buffer, next);
    expect(acknowledged).toBeGreaterThan(0);
    // The fleet link acknowledges while the disk is full: the cursor's write fails with the commit
    // and must be written by a later one.
    buffer.ack('fleet', 400);

    const health = buffer.health();
    expect(health.disk).toBe('full');
    expect(health.status).toBe('unhealthy');
    expect(health.disk_error).toMatch(/full/i);
    // Still serving: reads answer from what was committed.
    expect(buffer.devices()[0].device).toBe('line1');
    expect(buffer.history({ device: 'line1', point: 'p', limit: 5 })).toHaveLength(5);
    // More readings keep arriving while the disk is full; they wait in memory.
    const whileFull = readings('line1', 300, next.value);
    next.value += 300;
    void buffer.emit('sim', whileFull);
    expect(buffer.writer.queued).toBeGreaterThan(0);

    expect(integrity(file)).toBe('ok');
    const stored = values(file);
    expect(stored.length).toBeGreaterThanOrEqual(acknowledged);
    expect(stored).toEqual(Array.from({ length: stored.length }, (_, i) => i));

    // Make room: the queued readings are committed by the retry, nothing emitted is lost.
    execFileSync('mount', ['-o', 'remount,size=16m', mountPoint]);
    await waitFor('the disk to be writable again', () => buffer.disk === 'ok' && buffer.writer.queued === 0, { timeoutMs: 10_000 });
    expect(buffer.health().status).toBe('healthy');
    buffer.close();
    expect(integrity(file)).toBe('ok');
    expect(values(file)).toEqual(Array.from({ length: next.value }, (_, i) => i));
    const reopened = openBuffer(file);
    expect(reopened.openOutbox('fleet')).toBe(400);
    reopened.close();
  });
});

describe('buffer on a file system the kernel made read-only', () => {
  it('reports read-only in health, keeps serving reads, and every acknowledged reading survives', async () => {
    mountExt4();
    const file = path.join(mountPoint, 'b.db');
    const buffer = openBuffer(file, { durability: 'full', flushRows: 100, retryMs: 50 });
    await buffer.emit('sim', readings('line1', 100, 0));
    await buffer.emit('sim', readings('line1', 100, 100));
    failExt4();
    await expect(buffer.emit('sim', readings('line1', 100, 200))).rejects.toThrow();
    expect(buffer.disk).toBe('read-only');
    expect(buffer.health().status).toBe('unhealthy');
    expect(buffer.device('line1')?.p.value).toBe(199);
    expect(buffer.history({ device: 'line1', point: 'p', limit: 3 }).map((r) => r.value)).toEqual([197, 198, 199]);
    buffer.close();

    // The operator's fix: mount again. The file is sound and holds everything acknowledged.
    execFileSync('umount', [mountPoint]);
    execFileSync('mount', ['-o', 'loop', image, mountPoint]);
    expect(integrity(file)).toBe('ok');
    expect(values(file).slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const again = openBuffer(file, { durability: 'full' });
    await again.emit('sim', readings('line1', 10, 300));
    expect(again.disk).toBe('ok');
    again.close();
  });
});
