import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../config/load.js';
import { MAX_CONFIG_BYTES, type ConfigIssue } from '../config/source.js';
import { exposureWarnings } from '../auth/exposure.js';
import { BackworksError } from '../errors.js';
import { redactText, restoreSecrets } from './config-secrets.js';

export type CheckResult =
  | { valid: true; plugins: number; endpoints: number; warnings: string[] }
  | { valid: false; errors: ConfigIssue[] };

/**
 * The running config file, edited from the console. The editor gets it with its written secrets
 * "[redacted]" and sends them back so (config-secrets.ts). A candidate text is checked exactly as
 * `backworks check` checks the file (as if it were the file: relative paths mean its folder), and
 * applied by an atomic rename, the previous text kept as FILE.prev.
 */
export class ConfigFile {
  constructor(readonly file: string) {}

  read(): string {
    return fs.readFileSync(this.file, 'utf8');
  }

  /** The text the editor shows: secrets written in the file are "[redacted]". */
  readRedacted(): string {
    return redactText(this.read());
  }

  /** Checks the editor's text, its "[redacted]" values being the file's. */
  check(text: string): Promise<CheckResult> {
    return this.prepare(text).then(({ check }) => check);
  }

  private async prepare(edited: string): Promise<{ check: CheckResult; text: string }> {
    const { text, issues } = restoreSecrets(edited, this.file, this.read());
    if (issues.length) return { check: { valid: false, errors: issues }, text };
    return { check: await this.checkText(text), text };
  }

  private async checkText(text: string): Promise<CheckResult> {
    if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
      return { valid: false, errors: [{ file: this.file, line: 1, column: 1, message: `the text is over ${MAX_CONFIG_BYTES} bytes, the most a configuration file may have` }] };
    }
    try {
      const loaded = await loadConfig(this.file, { text });
      return {
        valid: true,
        plugins: Object.keys(loaded.config.plugins ?? {}).length,
        endpoints: Object.keys(loaded.config.endpoints ?? {}).length,
        warnings: exposureWarnings(loaded.config),
      };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return { valid: false, errors: err.issues };
    }
  }

  /**
   * Checks `text`, then replaces the file with it: written beside it, synced, renamed over it (a
   * crash leaves the old file or the new one, never half of one). Returns the check, and a function
   * that puts the previous text back.
   */
  async write(edited: string): Promise<{ check: CheckResult; restore?: () => void }> {
    const { check, text } = await this.prepare(edited);
    if (!check.valid) return { check };
    const previous = this.read();
    try {
      this.replace(`${this.file}.prev`, previous);
      this.replace(this.file, text);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
      throw new BackworksError('BW_ERR_CONFIG_READ_ONLY', path.dirname(this.file), code, this.file);
    }
    return { check, restore: () => this.replace(this.file, previous) };
  }

  private replace(target: string, text: string): void {
    const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}`);
    const mode = fileMode(this.file);
    try {
      const fd = fs.openSync(temporary, 'wx', mode);
      try { fs.writeSync(fd, text); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
      fs.renameSync(temporary, target);
    } catch (err) {
      fs.rmSync(temporary, { force: true });
      throw err;
    }
    syncDir(path.dirname(target));
  }
}

function fileMode(file: string): number {
  try { return fs.statSync(file).mode & 0o777; } catch { return 0o644; }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch { /* some file systems cannot sync a folder; the rename is still atomic */ }
}
