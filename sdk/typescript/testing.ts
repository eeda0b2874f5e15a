import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DocumentQuery, DurableBatch, HostContext, InboundDocument, LogLevel, Reading, StoredDocument } from './index.js';

/**
 * A host for a plugin's unit tests: it keeps what the plugin commits (readings, documents, state)
 * in memory with the gateway's rules for a batch (all of it or nothing), so a test can assert
 * what a plugin stored without starting a gateway. To serve real HTTP, run the plugin in a gateway
 * (`type: typescript`, `module: dist/index.js` in a backworks.yaml).
 */
export interface TestHost extends HostContext {
  readonly readings: Reading[];
  readonly documents: StoredDocument[];
  readonly state: Map<string, string>;
  readonly logs: Array<{ level: LogLevel; message: string; fields?: Record<string, unknown> }>;
  /** Makes every later write reject as a full disk would (status 503), until set back to false. */
  refuse: boolean;
}

export function createTestHost(options: { pluginName?: string; configDir?: string } = {}): TestHost {
  const documents: StoredDocument[] = [];
  const state = new Map<string, string>();
  const readings: Reading[] = [];
  const refused = () => Object.assign(new Error('the test host refuses writes (refuse = true)'), { code: 'BW_ERR_BUFFER_REFUSED', statusCode: 503 });
  const host: TestHost = {
    pluginName: options.pluginName ?? 'test-plugin',
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'backworks-test-host-')),
    configDir: options.configDir ?? process.cwd(),
    readings,
    documents,
    state,
    logs: [],
    refuse: false,
    log(level, message, fields) { host.logs.push({ level, message, fields }); },
    async emit(batch) { if (host.refuse) throw refused(); readings.push(...batch.map(stamp)); },
    async emitAcknowledged(batch) { if (host.refuse) throw refused(); readings.push(...batch.map(stamp)); },
    async getState(key) { return state.get(key); },
    async commit(given: DurableBatch | string) {
      if (host.refuse) throw refused();
      const batch = (typeof given === 'string' ? JSON.parse(given) : given) as DurableBatch;
      const ids = (batch.documents ?? []).map((doc: InboundDocument) => {
        const stored: StoredDocument = { id: documents.length + 1, type: doc.type, status: doc.status ?? 'received', meta: doc.meta ?? null, received_at: Date.now(), body: doc.body };
        documents.push(stored);
        return stored.id;
      });
      for (const [key, value] of batch.state ?? []) state.set(key, value);
      return ids;
    },
    async queryDocuments(query: DocumentQuery) {
      return documents
        .filter((d) => (query.type === undefined || d.type === query.type) && (query.status === undefined || d.status === query.status)
          && d.id > (query.after_id ?? 0) && d.received_at >= (query.since_ms ?? 0))
        .slice(0, Math.min(query.limit ?? 100, 1000))
        .map((d) => (query.with_body ? { ...d } : { ...d, body: undefined }));
    },
    async setDocumentStatus(id, status) {
      const doc = documents.find((d) => d.id === id);
      if (doc) doc.status = status;
      return doc !== undefined;
    },
  };
  return host;
}

function stamp(reading: Reading): Reading {
  return { quality: 'good', ts: Date.now(), ...reading };
}
