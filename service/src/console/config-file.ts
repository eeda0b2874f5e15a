import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../config/load.js';
import type { ConfigIssue } from '../config/source.js';
import { exposureWarnings } from '../auth/exposure.js';

export type CheckResult =
  | { valid: true; plugins: number; endpoints: number; warnings: string[] }
  | { valid: false; errors: ConfigIssue[] };

/**
 * The running config file, edited from the console. A candidate text is checked exactly as
 * `backworks check` checks a file (it is written beside the real one, so relative paths mean the
 * same folder), and applied by an atomic rename, the previous text kept as FILE.prev.
 */
export class ConfigFile {
  constructor(readonly file: string) {}

  read(): string {
    return fs.readFileSync(this.file, 'utf8');
  }

  async check(text: string): Promise<CheckResult> {
    const candidate = this.sibling('check');
    fs.writeFileSync(candidate, text, { mode: 0o600 });
    try {
      return await checkFile(candidate, this.file);
    } finally {
      fs.rmSync(candidate, { force: true });
    }
  }

  /** Replaces the file with `text` (checked first); returns the check, and a function that puts the previous text back. */
  async write(text: string): Promise<{ check: CheckResult; restore?: () => void }> {
    const candidate = this.sibling('new');
    fs.writeFileSync(candidate, text, { mode: fileMode(this.file) });
    let check: CheckResult;
    try {
      check = await checkFile(candidate, this.file);
    } catch (err) {
      fs.rmSync(candidate, { force: true });
      throw err;
    }
    if (!check.valid) { fs.rmSync(candidate, { force: true }); return { check }; }
    const previous = this.read();
    const prev = `${this.file}.prev`;
    fs.writeFileSync(`${prev}.tmp`, previous, { mode: fileMode(this.file) });
    fs.renameSync(`${prev}.tmp`, prev);
    syncFile(candidate);
    fs.renameSync(candidate, this.file);
    syncDir(path.dirname(this.file));
    return {
      check,
      restore: () => {
        const back = this.sibling('restore');
        fs.writeFileSync(back, previous, { mode: fileMode(this.file) });
        fs.renameSync(back, this.file);
        syncDir(path.dirname(this.file));
      },
    };
  }

  /** A hidden file beside the real one, on the same file system, so a rename is atomic. */
  private sibling(kind: string): string {
    return path.join(path.dirname(this.file), `.${path.basename(this.file)}.${kind}-${randomBytes(4).toString('hex')}`);
  }
}

async function checkFile(candidate: string, shownAs: string): Promise<CheckResult> {
  try {
    const loaded = await loadConfig(candidate);
    return {
      valid: true,
      plugins: Object.keys(loaded.config.plugins ?? {}).length,
      endpoints: Object.keys(loaded.config.endpoints ?? {}).length,
      warnings: exposureWarnings(loaded.config),
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { valid: false, errors: err.issues.map((i) => (i.file === candidate ? { ...i, file: shownAs } : i)) };
  }
}

function fileMode(file: string): number {
  try { return fs.statSync(file).mode & 0o777; } catch { return 0o644; }
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

function syncDir(dir: string): void {
  try { syncFile(dir); } catch { /* some file systems cannot sync a folder; the rename is still atomic */ }
}
