import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/** Keys whose values never reach a log line, wherever they appear. */
const REDACT_PATHS = ['*.password', '*.token', '*.secret', '*.api_key', '*.apiKey', 'password', 'token', 'secret', 'api_key'];

/**
 * JSON lines on stdout (journald keeps them); human-readable when stdout is a terminal.
 * pino-pretty runs in-process as a stream: no worker thread for a CLI that prints a few lines.
 */
export function createLogger(level = 'info', destination: NodeJS.WritableStream = process.stdout): Logger {
  const options: pino.LoggerOptions = { level, base: undefined, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  const isTerminal = destination === process.stdout && process.stdout.isTTY;
  return isTerminal ? pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l' })) : pino(options, destination);
}
