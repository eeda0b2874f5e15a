/** One log line as the console shows it: pino's JSON, parsed once when it is written. */
export interface LogLine {
  /** Increases by one per line, so a reader can ask for what came after the last it saw. */
  id: number;
  time: number;
  level: string;
  msg: string;
  plugin?: string;
  /** The line's other fields (already redacted by the logger). */
  fields: Record<string, unknown>;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
export const LEVEL_ORDER = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const WARN = LEVEL_ORDER.indexOf('warn');

export interface LogFilter { after?: number; limit?: number; plugin?: string; level?: string }

/**
 * The last lines the service logged, in memory, for the console's logs page and its live stream.
 * It is a pino destination (pino.multistream writes each line here as well as to stdout), so it
 * holds exactly what journald gets, secrets already redacted. Fixed size: the oldest line goes.
 */
export class LogRing {
  private readonly lines: LogLine[] = [];
  private nextId = 1;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(readonly capacity = 1000) {}

  /** pino's stream interface: one JSON line per call. */
  write(chunk: string): void {
    let entry: Record<string, unknown>;
    try { entry = JSON.parse(chunk) as Record<string, unknown>; } catch { return; }
    const { level, time, msg, plugin, ...fields } = entry;
    const line: LogLine = {
      id: this.nextId++,
      time: typeof time === 'number' ? time : Date.now(),
      level: LEVELS[Number(level)] ?? String(level),
      msg: String(msg ?? ''),
      ...(typeof plugin === 'string' ? { plugin } : {}),
      fields,
    };
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.shift();
    for (const listener of this.listeners) listener(line);
  }

  /** Lines after `after`, at or above `level`, of `plugin` if given; the newest `limit`, oldest first. */
  query({ after = 0, limit = 200, plugin, level }: LogFilter = {}): LogLine[] {
    const min = level ? LEVEL_ORDER.indexOf(level) : 0;
    const found = this.lines.filter((l) => l.id > after && (!plugin || l.plugin === plugin) && LEVEL_ORDER.indexOf(l.level) >= min);
    return found.slice(-limit);
  }

  /** The newest warning or error of one plugin still in the ring. */
  lastProblem(plugin: string): LogLine | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const line = this.lines[i];
      if (line.plugin === plugin && LEVEL_ORDER.indexOf(line.level) >= WARN) return line;
    }
    return undefined;
  }

  /** Calls `listener` with every new line; returns the function that stops it. */
  subscribe(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }
}
