import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const created: string[] = [];
process.once('exit', () => { for (const dir of created) fs.rmSync(dir, { recursive: true, force: true }); });

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(prefix = 'backworks-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Writes `text` to `name` in a fresh temporary folder and returns the file's path. */
export function writeTemp(name: string, text: string): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, text);
  return file;
}
