import path from 'node:path';
import type { DocumentQuery, DurableBatch, HostContext, InboundDocument, LogLevel, Reading, StoredDocument } from '../../../sdk/typescript/index.js';
import type { Logger } from '../log.js';

/**
 * What the gateway offers plugins: where readings, documents and state go. The gateway builds one
 * (backed by the SQLite buffer) and every plugin gets a HostContext bound to its own name.
 */
export interface HostServices {
  /** Queue readings for the next group commit; resolves once committed. */
  emit(plugin: string, readings: Reading[]): Promise<void>;
  /** Readings a sender waits for: resolves once committed; on rejection nothing of them is stored. */
  emitAcknowledged(plugin: string, readings: Reading[]): Promise<void>;
  /** Resolve only once the document is committed; reject when it cannot be. */
  emitDurable(plugin: string, doc: InboundDocument): Promise<{ id: number }>;
  getState(plugin: string, key: string): Promise<string | undefined>;
  setState(plugin: string, key: string, value: string): Promise<void>;
  /** Documents and state in one transaction; resolves with the documents' ids once committed. */
  commit?(plugin: string, batch: DurableBatch): Promise<number[]>;
  /** `commit` with the batch as JSON text, as a native plugin hands it over (not parsed in JS). */
  commitJson?(plugin: string, json: string): Promise<number[]>;
  /** The plugin's own stored documents (optional: a gateway without a buffer has none). */
  queryPluginDocuments?(plugin: string, query: DocumentQuery): Promise<StoredDocument[]>;
  setPluginDocumentStatus?(plugin: string, id: number, status: string): Promise<boolean>;
}

export function createHostContext(plugin: string, services: HostServices, log: Logger, stateRoot: string, configDir: string): HostContext {
  const pluginLog = log.child({ plugin });
  return {
    pluginName: plugin,
    stateDir: path.join(stateRoot, 'plugins', plugin),
    configDir,
    log: (level: LogLevel, message: string, fields?: Record<string, unknown>) => pluginLog[level](fields ?? {}, message),
    emit: (readings) => services.emit(plugin, readings),
    emitAcknowledged: (readings) => services.emitAcknowledged(plugin, readings),
    emitDurable: (doc) => services.emitDurable(plugin, doc),
    getState: (key) => services.getState(plugin, key),
    setState: (key, value) => services.setState(plugin, key, value),
    ...(services.commit ? { commit: (batch: DurableBatch) => services.commit!(plugin, batch) } : {}),
    ...(services.commitJson ? { commitJson: (json: string) => services.commitJson!(plugin, json) } : {}),
    ...(services.queryPluginDocuments && services.setPluginDocumentStatus ? {
      queryDocuments: (query: DocumentQuery) => services.queryPluginDocuments!(plugin, query),
      setDocumentStatus: (id: number, status: string) => services.setPluginDocumentStatus!(plugin, id, status),
    } : {}),
  };
}
