import { createRequire } from 'node:module';
import pino from 'pino';

export type Logger = pino.Logger;

/** Keys whose values never reach a log line, wherever they appear. */
const REDACT_PATHS = ['*.password', '*.token', '*.secret', '*.api_key', '*.apiKey', 'password', 'token', 'secret', 'api_key'];

/**
 * JSON lines on stdout (journald keeps them); human-readable when stdout is a terminal.
 * pino-pretty runs in-process as a stream: no worker thread for a CLI that prints a few lines. It is
 * loaded only for a terminal, so the service under systemd does not carry it.
 */
export function createLogger(level = 'info', destination: NodeJS.WritableStream = process.stdout, copy?: { write(line: string): void }): Logger {
  const options: pino.LoggerOptions = { level, base: undefined, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  const isTerminal = destination === process.stdout && process.stdout.isTTY;
  let out: pino.DestinationStream = destination;
  if (isTerminal) {
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    out = pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l' });
  }
  // `copy` (the console's log ring) gets the same redacted JSON lines as the output.
  if (!copy) return pino(options, out);
  return pino(options, pino.multistream([{ level: 'trace', stream: out }, { level: 'trace', stream: copy }]));
}
