/**
 * What the disk under the buffer is doing, from the error SQLite gave. `full` and `read-only` are the
 * two an operator can fix (free space, remount); `error` is any other I/O failure.
 */
export type DiskState = 'ok' | 'full' | 'read-only' | 'error';

export function diskStateOf(err: unknown): DiskState {
  const code = String((err as { code?: unknown })?.code ?? '');
  const message = String((err as { message?: unknown })?.message ?? '');
  if (code === 'SQLITE_FULL' || /database or disk is full/i.test(message)) return 'full';
  if (code.startsWith('SQLITE_READONLY') || /read-only file system|readonly database/i.test(message)) return 'read-only';
  return 'error';
}

/** True for errors that mean "the disk refused", as opposed to a bug in what we tried to write. */
export function isDiskError(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  return /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|PROTOCOL|CORRUPT|NOTADB)/.test(code);
}
