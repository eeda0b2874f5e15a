import { Type, type Static } from '@sinclair/typebox';
import { Duration, Size } from '../../../../sdk/typescript/typebox.js';

/** `storage:` — the SQLite store-and-forward buffer (service/src/buffer). */
export const StorageSchema = Type.Object({
  path: Type.Optional(Type.String({ minLength: 1, description: 'the SQLite file, relative to state_dir', default: 'buffer.db' })),
  max_bytes: Type.Optional(Size('largest the buffer may grow; the oldest readings are dropped (and counted) beyond it', '1GB')),
  max_age: Type.Optional(Duration('readings and documents older than this are dropped (and counted)', '30d')),
  durability: Type.Optional(Type.Union([Type.Literal('normal'), Type.Literal('full')], {
    default: 'normal',
    description: 'normal: a power loss may undo the last commits (never corrupts); full: every commit is on disk before it is acknowledged',
  })),
  flush_rows: Type.Optional(Type.Integer({ minimum: 1, default: 1000, description: 'group commit as soon as this many readings are queued' })),
  flush_interval: Type.Optional(Duration('group commit at least this often while readings are queued', '100ms')),
  max_queued: Type.Optional(Type.Integer({ minimum: 1, default: 100000, description: 'readings held in memory while the disk refuses writes; beyond it the oldest are dropped (and counted)' })),
}, { additionalProperties: false });

export type StorageConfig = Static<typeof StorageSchema>;
