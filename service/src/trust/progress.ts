import type { Progress } from './download.js';

const WIDTH = 30;

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

/**
 * A progress bar redrawn in place when `out` is a terminal; otherwise one line when a download
 * starts and one when it ends, so logs and CI output stay readable.
 */
export function progressFor(out: NodeJS.WriteStream): Progress {
  let label = '';
  let total: number | undefined;
  let received = 0;
  let drawnAt = 0;
  const started = { at: 0 };
  const draw = (final: boolean) => {
    const ratio = total ? Math.min(1, received / total) : 0;
    const filled = Math.round(ratio * WIDTH);
    const bar = total ? `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%` : '[downloading]';
    out.write(`\r${label} ${bar} ${size(received)}${final ? '\n' : ''}`);
  };
  return {
    start(l, t) {
      label = l; total = t; received = 0; started.at = Date.now();
      if (out.isTTY) draw(false);
      else out.write(`downloading ${label}${total ? ` (${size(total)})` : ''}\n`);
    },
    advance(bytes) {
      received += bytes;
      if (out.isTTY && Date.now() - drawnAt > 50) { drawnAt = Date.now(); draw(false); }
    },
    done() {
      if (out.isTTY) draw(true);
      else out.write(`downloaded ${label}: ${size(received)} in ${Date.now() - started.at} ms\n`);
    },
  };
}

/** For library callers (tests, the service) that want no output. */
export const silentProgress: Progress = { start() {}, advance() {}, done() {} };
