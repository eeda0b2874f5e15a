import fs from 'node:fs';
import path from 'node:path';

/**
 * What the disk under the buffer is doing, from the error SQLite gave. `full` and `read-only` are the
 * two an operator can act on (free space; check the storage and remount); `error` is any other I/O
 * failure.
 */
export type DiskState = 'ok' | 'full' | 'read-only' | 'error';

export function diskStateOf(err: unknown, file: string): DiskState {
  const code = String((err as { code?: unknown })?.code ?? '');
  const message = String((err as { message?: unknown })?.message ?? '');
  if (code === 'SQLITE_FULL' || /database or disk is full/i.test(message)) return 'full';
  if (code.startsWith('SQLITE_READONLY')) return 'read-only';
  // SQLite reports EROFS as a plain I/O error: ask the file system itself.
  if (code.startsWith('SQLITE_IOERR') && mountIsReadOnly(path.dirname(file))) return 'read-only';
  return 'error';
}

/** True for errors that mean "the disk refused", as opposed to a bug in what we tried to write. */
export function isDiskError(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  return /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|PROTOCOL|CORRUPT|NOTADB)/.test(code);
}

/**
 * True when `dir` is on a read-only mount, including one the kernel switched to read-only after a
 * storage error (ext4 `errors=remount-ro` shows as `ro` or `emergency_ro` in the super options).
 */
export function mountIsReadOnly(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EROFS') return true;
  }
  let info: string;
  try {
    info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false; // not Linux: the access check above is all we have
  }
  let real = dir;
  try { real = fs.realpathSync(dir); } catch { /* keep as given */ }
  let best: { point: string; options: string[] } | null = null;
  for (const line of info.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const fields = left.split(' ');
    const point = fields[4]?.replace(/\\040/g, ' ');
    if (!point || !(real === point || real.startsWith(point.endsWith('/') ? point : point + '/'))) continue;
    if (best && best.point.length > point.length) continue;
    const superOptions = right.split(' ')[2] ?? '';
    best = { point, options: [...fields[5].split(','), ...superOptions.split(',')] };
  }
  return best ? best.options.includes('ro') || best.options.includes('emergency_ro') : false;
}
