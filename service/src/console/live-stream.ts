import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LogLine } from './log-ring.js';
import { Overview, type OverviewSource } from './overview.js';

const TICK_MS = 1000;
/** How often a browser's session is checked again during its stream. */
const SESSION_CHECK_MS = 5000;

interface Client { reply: FastifyReply; stillValid: () => boolean; checkedAt: number }

/**
 * GET /api/events: server-sent events for every open console. One overview snapshot per second
 * (built once, sent to all) and each new log line. Nothing runs while no one watches. A client's
 * EventSource reconnects by itself; the page says when it is disconnected.
 */
export class LiveStream {
  private readonly clients = new Set<Client>();
  private readonly overview: Overview;
  private timer: NodeJS.Timeout | undefined;
  private stopLogs: (() => void) | undefined;

  constructor(private readonly deps: OverviewSource) {
    this.overview = new Overview(deps);
  }

  add(request: FastifyRequest, reply: FastifyReply, stillValid: () => boolean): void {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    const client: Client = { reply, stillValid, checkedAt: Date.now() };
    this.clients.add(client);
    reply.raw.write(`retry: 2000\n\n${event('overview', this.overview.snapshot())}`);
    request.raw.once('close', () => this.remove(client));
    if (!this.timer) this.start();
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    for (const client of this.clients) client.reply.raw.end();
    this.clients.clear();
    this.stop();
  }

  private start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.stopLogs = this.deps.logRing?.subscribe((line: LogLine) => this.broadcast(event('log', line)));
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopLogs?.();
    this.stopLogs = undefined;
  }

  private remove(client: Client): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.stop();
  }

  private tick(): void {
    const now = Date.now();
    for (const client of this.clients) {
      if (now - client.checkedAt < SESSION_CHECK_MS) continue;
      client.checkedAt = now;
      if (!client.stillValid()) {
        client.reply.raw.end(event('session-ended', { reason: 'the session ended (logout or expiry): log in again' }));
        this.remove(client);
      }
    }
    if (this.clients.size) this.broadcast(event('overview', this.overview.snapshot(now)));
  }

  private broadcast(text: string): void {
    for (const client of this.clients) client.reply.raw.write(text);
  }
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
