import path from 'node:path';
import type { DocumentQuery, DurableBatch, HostContext, LogLevel, Reading, StoredDocument } from '../../../sdk/typescript/index.js';
import type { Logger } from '../log.js';

/**
 * What the gateway offers plugins: where readings, documents and state go. The gateway's buffer is
 * it (a gateway always has one), and every plugin gets a HostContext bound to its own name.
 */
export interface HostServices {
  /** Queue readings for the next group commit; resolves once committed. */
  emit(plugin: string, readings: Reading[]): Promise<void>;
  /** Readings a sender waits for: resolves once committed; on rejection nothing of them is stored. */
  emitAcknowledged(plugin: string, readings: Reading[]): Promise<void>;
  getState(plugin: string, key: string): Promise<string | undefined>;
  /** The one durable write: documents and state in one transaction; resolves with the documents' ids once committed. */
  commit(plugin: string, batch: DurableBatch | string): Promise<number[]>;
  queryPluginDocuments(plugin: string, query: DocumentQuery): Promise<StoredDocument[]>;
  setPluginDocumentStatus(plugin: string, id: number, status: string): Promise<boolean>;
}

/** `onReadings` sees every reading the plugin emits before the buffer does (device owners, metrics). */
export function createHostContext(plugin: string, services: HostServices, log: Logger, stateRoot: string, configDir: string,
  onReadings: (readings: Reading[]) => void = () => {}): HostContext {
  const pluginLog = log.child({ plugin });
  return {
    pluginName: plugin,
    stateDir: path.join(stateRoot, 'plugins', plugin),
    configDir,
    log: (level: LogLevel, message: string, fields?: Record<string, unknown>) => pluginLog[level](fields ?? {}, message),
    emit: (readings) => { onReadings(readings); return services.emit(plugin, readings); },
    emitAcknowledged: (readings) => { onReadings(readings); return services.emitAcknowledged(plugin, readings); },
    getState: (key) => services.getState(plugin, key),
    commit: (batch) => services.commit(plugin, batch),
    queryDocuments: (query) => services.queryPluginDocuments(plugin, query),
    setDocumentStatus: (id, status) => services.setPluginDocumentStatus(plugin, id, status),
  };
}
