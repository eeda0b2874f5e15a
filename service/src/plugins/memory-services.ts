import type { InboundDocument, Reading } from '../../../sdk/typescript/index.js';
import type { HostServices } from './host-context.js';

/**
 * Keeps plugin output in memory. Placeholder until the SQLite buffer (service/src/buffer) is wired
 * into the gateway; nothing here survives a restart.
 */
export class MemoryServices implements HostServices {
  readonly latest = new Map<string, Reading>();
  readonly documents: InboundDocument[] = [];
  private readonly state = new Map<string, string>();

  async emit(_plugin: string, readings: Reading[]): Promise<void> {
    for (const r of readings) this.latest.set(`${r.device}\u0000${r.point}`, { ...r, ts: r.ts ?? Date.now(), quality: r.quality ?? 'good' });
  }

  async emitDurable(_plugin: string, doc: InboundDocument): Promise<{ id: number }> {
    return { id: this.documents.push(doc) };
  }

  async getState(plugin: string, key: string): Promise<string | undefined> {
    return this.state.get(`${plugin}\u0000${key}`);
  }

  async setState(plugin: string, key: string, value: string): Promise<void> {
    this.state.set(`${plugin}\u0000${key}`, value);
  }
}
