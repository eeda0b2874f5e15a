import path from 'node:path';
import type { Registry } from 'prom-client';
import { Value } from '@sinclair/typebox/value';
import { StorageSchema, type StorageConfig } from '../config/sections/storage.js';
import { parseDuration, parseSize } from '../../../sdk/typescript/units.js';
import type { Logger } from '../log.js';
import { DataBuffer } from './buffer.js';
import { registerBufferMetrics } from './metrics.js';

/** Opens the buffer that `storage:` describes, with its metrics on `registry` and disk changes logged. */
export function openBufferFromConfig(storage: StorageConfig | undefined, stateDir: string, registry: Registry, log: Logger): DataBuffer {
  // The schema's defaults fill what the file left out (also when there is no storage: at all).
  const s = Value.Default(StorageSchema, structuredClone(storage ?? {})) as Required<StorageConfig>;
  const buffer = new DataBuffer({
    file: path.resolve(stateDir, s.path),
    maxBytes: parseSize(s.max_bytes),
    maxAgeMs: parseDuration(s.max_age),
    durability: s.durability,
    flushRows: s.flush_rows,
    flushIntervalMs: parseDuration(s.flush_interval),
    maxQueued: s.max_queued,
    // Once per change of state, with what was refused meanwhile: not a line per refused request.
    onDiskState: (state, err, refused) => {
      const counts = { refused_readings: refused.readings, refused_commits: refused.commits };
      if (state === 'ok') log.info({ disk: state, ...counts }, 'buffer: writes are committed again');
      else log.error({ disk: state, err: err?.message, ...counts }, 'buffer: the disk refuses writes; polled readings wait in memory, acknowledged readings and documents are refused (503, not stored)');
    },
  });
  registerBufferMetrics(registry, buffer);
  log.info({ file: buffer.file, durability: s.durability, rows: buffer.rowCount }, 'buffer opened');
  return buffer;
}
