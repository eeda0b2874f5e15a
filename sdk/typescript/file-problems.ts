import fs from 'node:fs';

/**
 * A file the configuration names that cannot be used, said as a sentence a technician can act on
 * (never a bare EISDIR or EACCES). `what` says what the file is for, e.g. "the native library".
 */
export function fileProblem(err: unknown, file: string, what: string): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT': return `${what} ${file} does not exist`;
    case 'EISDIR': return `${what} ${file} is a folder, not a file; name the file inside it`;
    case 'ENOTDIR': return `${what} ${file}: a part of this path is a file, not a folder; check the path`;
    case 'EACCES': case 'EPERM':
      return `${what} ${file} cannot be read: permission denied; let the user the service runs as (backworks) read it, e.g. chgrp backworks ${file} && chmod g+r ${file}`;
    case 'ELOOP': return `${what} ${file} is a symbolic link that points to itself (a loop); fix the link`;
    default: return `${what} ${file} cannot be read: ${(err as Error)?.message ?? String(err)}`;
  }
}

/** Why `file` is not a readable regular file, or undefined when it is one. */
export function unreadableFile(file: string, what: string): string | undefined {
  try {
    if (fs.statSync(file).isDirectory()) return fileProblem(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), file, what);
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (err) {
    return fileProblem(err, file, what);
  }
}
