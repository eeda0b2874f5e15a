import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../paths.js';

/**
 * Where the plugin host executable is: BACKWORKS_PLUGIN_HOST, else dist/native/bw-plugin-host
 * in the package (deploy/build/native.mjs puts it there), whether the service runs compiled or from sources.
 */
export function hostBinaryPath(): string {
  if (process.env.BACKWORKS_PLUGIN_HOST) return process.env.BACKWORKS_PLUGIN_HOST;
  return path.join(packageRoot, 'dist/native/bw-plugin-host');
}

export function requireHostBinary(): string {
  const binary = hostBinaryPath();
  if (!fs.existsSync(binary)) throw new Error(`plugin host executable not found at ${binary}; run "npm run build:native"`);
  return binary;
}

/**
 * The environment of a plugin host: the service's, minus what belongs to the service alone.
 * systemd's NOTIFY_SOCKET/WATCHDOG_* would let a plugin ping the watchdog for the service.
 */
export function hostEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NOTIFY_SOCKET' || key.startsWith('WATCHDOG_') || key.startsWith('LISTEN_')) continue;
    // A Rust panic prints its message and location either way; a symbolized backtrace is printed
    // inside the failing call and took over 10 s on a loaded box, so a panic looked like a hang.
    if (key === 'RUST_BACKTRACE' || key === 'RUST_LIB_BACKTRACE') continue;
    env[key] = value;
  }
  return { ...env, ...extra, BW_PARENT_PID: String(process.pid) };
}
