/**
 * Durable commits (documents and plugin state a plugin acknowledges its sender with): those that
 * arrive together share one transaction, each stays all or nothing, and every one that resolved is
 * in the file after a kill -9.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/service.js';
import { openBuffer, tempDir } from './helpers.js';

const dirs: string[] = [];
const dir = () => { const d = tempDir(); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

const batch = (plugin: string, i: number) => ({
  documents: [{ type: 'fix', body: `order ${plugin}-${i}`, meta: { n: i } }, { type: 'fix', body: `order ${plugin}-${i}b` }],
  state: [[`${plugin}.seq`, String(i)], [`${plugin}.out.${i}`, `sent ${i}`]] as Array<[string, string]>,
});

describe('group commit', () => {
  it('writes commits of the same turn in one transaction and hands each its own ids', async () => {
    const buffer = openBuffer(path.join(dir(), 'b.db'), { flushIntervalMs: 60_000 });
    let flushes = 0;
    const flush = buffer.writer.flush.bind(buffer.writer);
    buffer.writer.flush = () => { flushes++; return flush(); };
    const answers = await Promise.all(['a', 'b', 'c'].map((p) => buffer.commit(p, batch(p, 1))));
    expect(flushes).toBe(1);
    expect(answers).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(await buffer.getState('b', 'b.seq')).toBe('1');
    // Nothing queued: nothing to wait for.
    expect(await buffer.commit('a', {})).toEqual([]);
    buffer.close();
  });

  it('refuses a bad batch whole, naming the bad part, and stores nothing of it', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file);
    await expect(buffer.commit('fix', { documents: [{ type: 'fix', body: 'ok' }, { type: '', body: 'x' }] }))
      .rejects.toThrow('plugin "fix" committed documents[1] without a string type and body');
    await expect(buffer.commit('fix', { documents: [{ type: 'fix', body: 'ok' }], state: [['k', 5 as never]] }))
      .rejects.toThrow('plugin "fix" committed state[0] that is not a [key, value] pair of strings');
    await expect(buffer.commit('fix', { state: 'k=v' as never })).rejects.toThrow(/state that is not an array/);
    buffer.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM documents').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM plugin_state').pluck().get()).toBe(0);
    db.close();
  });

  it('stores a batch handed over as JSON text like the same batch as objects', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file, { flushIntervalMs: 60_000 });
    const text = JSON.stringify({ ...batch('fix', 7), documents: [...batch('fix', 7).documents, { type: 'fix', body: 'a\u0001b', meta: { tags: ['x'] } }] });
    const committed = buffer.commit('fix', text);
    // Its own writes are readable before the commit lands.
    expect(await buffer.getState('fix', 'fix.out.7')).toBe('sent 7');
    const [ids, objectIds] = await Promise.all([committed, buffer.commit('fix', batch('fix', 8))]);
    expect(ids).toEqual([1, 2, 3]);
    expect(objectIds).toEqual([4, 5]);
    expect(await buffer.commit('fix', '{"documents": [], "state": []}')).toEqual([]);
    buffer.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT id, type, body, meta FROM documents ORDER BY id').all()).toEqual([
      { id: 1, type: 'fix', body: 'order fix-7', meta: '{"n":7}' },
      { id: 2, type: 'fix', body: 'order fix-7b', meta: null },
      { id: 3, type: 'fix', body: 'a\u0001b', meta: '{"tags":["x"]}' },
      { id: 4, type: 'fix', body: 'order fix-8', meta: '{"n":8}' },
      { id: 5, type: 'fix', body: 'order fix-8b', meta: null },
    ]);
    expect(db.prepare("SELECT value FROM plugin_state WHERE key = 'fix.seq'").pluck().get()).toBe('8');
    db.close();
  });

  it('stores each document with the status its commit names (default received), in both forms', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file);
    await buffer.commit('hl7', JSON.stringify({ documents: [{ type: 'hl7v2', body: 'a', status: 'not_mapped' }, { type: 'hl7v2', body: 'b' }] }));
    await buffer.commit('hl7', { documents: [{ type: 'hl7v2', body: 'c', status: 'refused' }] });
    await expect(buffer.commit('hl7', '{"documents": [{"type": "hl7v2", "body": "d", "status": 5}]}')).rejects.toThrow(/documents\[0\]/);
    await expect(buffer.commit('hl7', { documents: [{ type: 'hl7v2', body: 'd', status: '' }] })).rejects.toThrow(/documents\[0\] with a status/);
    expect(buffer.documentCounts().sort((x, y) => x.status.localeCompare(y.status))).toEqual([
      { plugin: 'hl7', type: 'hl7v2', status: 'not_mapped', n: 1 },
      { plugin: 'hl7', type: 'hl7v2', status: 'received', n: 1 },
      { plugin: 'hl7', type: 'hl7v2', status: 'refused', n: 1 },
    ]);
    buffer.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT body, status FROM documents ORDER BY id').all()).toEqual([
      { body: 'a', status: 'not_mapped' }, { body: 'b', status: 'received' }, { body: 'c', status: 'refused' },
    ]);
    db.close();
  });

  it('refuses a bad JSON batch whole, naming the bad part, and stores nothing of it', async () => {
    const file = path.join(dir(), 'b.db');
    const buffer = openBuffer(file);
    await expect(buffer.commit('fix', '{"documents": [')).rejects.toThrow(/plugin "fix" committed a batch that is not JSON/);
    await expect(buffer.commit('fix', '[1]')).rejects.toThrow('plugin "fix" committed a batch that is not a JSON object');
    await expect(buffer.commit('fix', '{"documents": {"type": "fix"}}')).rejects.toThrow('plugin "fix" committed documents that are not an array');
    await expect(buffer.commit('fix', '{"documents": [{"type": "fix", "body": "ok"}, "x"]}'))
      .rejects.toThrow('plugin "fix" committed documents[1] without a string type and body');
    await expect(buffer.commit('fix', '{"documents": [{"type": "", "body": "x"}]}'))
      .rejects.toThrow('plugin "fix" committed documents[0] without a string type and body');
    await expect(buffer.commit('fix', '{"documents": [{"type": "fix", "body": 5}]}'))
      .rejects.toThrow('plugin "fix" committed documents[0] without a string type and body');
    await expect(buffer.commit('fix', '{"state": [["k", "v"], ["k", 5]]}'))
      .rejects.toThrow('plugin "fix" committed state[1] that is not a [key, value] pair of strings');
    await expect(buffer.commit('fix', '{"state": [["k", "v", "w"]]}'))
      .rejects.toThrow('plugin "fix" committed state[0] that is not a [key, value] pair of strings');
    await expect(buffer.commit('fix', '{"state": "k=v"}')).rejects.toThrow(/state that is not an array/);
    buffer.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM documents').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM plugin_state').pluck().get()).toBe(0);
    db.close();
  });

  it('keeps every commit that resolved when the process is killed (SIGKILL) right after', async () => {
    const file = path.join(dir(), 'b.db');
    const bufferModule = pathToFileURL(path.join(repoRoot, 'dist/service/src/buffer/buffer.js')).href;
    // Many plugins committing concurrently, in waves; each resolved commit is reported at once.
    const script = `
      import { DataBuffer } from ${JSON.stringify(bufferModule)};
      const buffer = new DataBuffer({ file: ${JSON.stringify(file)}, maxBytes: 1 << 30, maxAgeMs: 86400000, durability: 'normal' });
      const batch = ${batch.toString()};
      setInterval(() => {}, 1000);
      for (let wave = 0; wave < 20; wave++) {
        await Promise.all(['p0', 'p1', 'p2', 'p3', 'p4'].map((p) => buffer.commit(p, batch(p, wave))
          .then((ids) => process.stdout.write(JSON.stringify({ p, wave, ids }) + '\\n'))));
      }
      process.stdout.write('done\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: Array<{ p: string; wave: number; ids: number[] }> = [];
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve) => {
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'done' || acknowledged.length >= 60) { child.kill('SIGKILL'); resolve(); return; }
        acknowledged.push(JSON.parse(line));
      });
      void exited.then(() => resolve());
    });
    expect(await exited).not.toBe(0); // killed, not closed: no clean shutdown flushed anything
    expect(acknowledged.length).toBeGreaterThanOrEqual(60);

    const db = new Database(file, { readonly: true });
    const body = db.prepare('SELECT body FROM documents WHERE id = ? AND plugin = ?').pluck();
    const state = db.prepare('SELECT value FROM plugin_state WHERE plugin = ? AND key = ?').pluck();
    for (const { p, wave, ids } of acknowledged) {
      expect(ids.map((id) => body.get(id, p))).toEqual([`order ${p}-${wave}`, `order ${p}-${wave}b`]);
      expect(state.get(p, `${p}.out.${wave}`)).toBe(`sent ${wave}`);
    }
    db.close();
  });
});
