import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { authFetch, repoRoot, startService, type RunningService } from '../../../helpers/service.js';
import { tempDir } from '../../../helpers/tmp.js';

export const library = path.join(repoRoot, 'packs/finance/fix/plugins/libfix_plugin.so');
export const acceptanceDir = path.join(repoRoot, 'test/fixtures/fix/quickfix-fix44');

export interface FixGateway {
  service: RunningService;
  dir: string;
  /** The session's state as GET /fix/:session answers it. */
  session(name: string): Promise<Record<string, any>>;
  /** The port the acceptor session `name` listens on. */
  port(name: string): Promise<number>;
  post(pathname: string, body: unknown): Promise<{ status: number; body: any }>;
  get(pathname: string): Promise<Record<string, any>>;
  /** Documents the buffer committed for the plugin, oldest first. */
  documents(): Array<{ id: number; type: string; body: string; meta: Record<string, any> }>;
}

/**
 * The real compiled gateway with the real libfix_plugin.so, `config` as the plugin's config
 * (YAML flow text). Pass `dir` to restart on the same state.
 */
export async function startFix(config: Record<string, unknown>, options: { dir?: string; plugin?: string } = {}): Promise<FixGateway> {
  const dir = options.dir ?? tempDir('bw-fix-');
  const plugin = options.plugin ?? 'fix-protocol';
  const file = path.join(dir, 'backworks.yaml');
  fs.writeFileSync(file, [
    `state_dir: ${JSON.stringify(path.join(dir, 'state'))}`,
    'storage: { flush_interval: 1ms }',
    'plugins:',
    `  ${plugin}:`,
    '    type: external',
    `    path: ${JSON.stringify(library)}`,
    '    timeout: 10s',
    `    config: ${JSON.stringify(config)}`,
    'endpoints:',
    `  fix-sessions: { path: /fix, methods: [GET], plugin: ${plugin} }`,
    `  fix-session: { path: "/fix/:session", methods: [GET], plugin: ${plugin} }`,
    `  fix-messages: { path: "/fix/:session/messages", methods: [GET, POST], plugin: ${plugin} }`,
    `  fix-messages-after: { path: "/fix/:session/messages/:after", methods: [GET], plugin: ${plugin} }`,
    '',
  ].join('\n'));
  const service = await startService(file);
  const get = async (pathname: string) => {
    const res = await authFetch(`${service.url}${pathname}`);
    if (!res.ok) throw new Error(`GET ${pathname}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, any>>;
  };
  return {
    service,
    dir,
    session: (name) => get(`/fix/${name}`),
    get,
    port: async (name) => (await get(`/fix/${name}`)).port as number,
    async post(pathname, body) {
      const res = await authFetch(`${service.url}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = text;
      try { parsed = JSON.parse(text); } catch { /* plain text */ }
      return { status: res.status, body: parsed };
    },
    documents() {
      const db = new Database(path.join(dir, 'state', 'buffer.db'), { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare('SELECT id, type, body, meta FROM documents WHERE plugin = ? ORDER BY id').all(plugin) as Array<{ id: number; type: string; body: string; meta: string }>;
        return rows.map((r) => ({ ...r, meta: JSON.parse(r.meta) as Record<string, any> }));
      } finally {
        db.close();
      }
    },
  };
}
