import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../helpers/service.js';

/**
 * The plugin's segment and set tables (src/generated/*.rs) are generated from the pack's
 * definitions/*.json: regenerating them must give exactly the files that are checked in.
 */

const pack = path.join(repoRoot, 'packs/logistics/edi-x12');
const generator = path.join(pack, 'definitions/generate.mjs');

describe('logistics/edi-x12 definitions', () => {
  it('the generated tables are what definitions/*.json give', () => {
    const run = spawnSync(process.execPath, [generator, '--check'], { cwd: repoRoot, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('define every element of every segment the sets use, in both versions', () => {
    for (const version of ['004010', '005010']) {
      const def = JSON.parse(fs.readFileSync(path.join(pack, 'definitions', `${version}.json`), 'utf8'));
      const sets = ['810', '850', '855', '856', '860', '865', '997', '204', '210', '214', '990', ...(version === '005010' ? ['999'] : [])];
      expect(Object.keys(def.sets).sort()).toEqual(sets.sort());
      const used = new Set<string>();
      const walk = (nodes: unknown[][]) => nodes.forEach((n) => { used.add(n[0] as string); if (n[3]) walk(n[3] as unknown[][]); });
      Object.values(def.sets as Record<string, { segments: unknown[][] }>).forEach((s) => walk(s.segments));
      for (const id of used) expect(def.segments[id], `${version} ${id}`).toBeDefined();
      for (const [id, seg] of Object.entries(def.segments as Record<string, { elements: unknown[][] }>)) {
        seg.elements.forEach((e, i) => expect(e[0]).toBe(`${id}${String(i + 1).padStart(2, '0')}`));
      }
      // The elements the hand-written tables lacked: PER09, ACK29, TD515, CSH10.
      expect(def.segments.PER.elements).toHaveLength(9);
      expect(def.segments.ACK.elements).toHaveLength(29);
      expect(def.segments.TD5.elements).toHaveLength(15);
      expect(def.segments.CSH.elements).toHaveLength(10);
      expect(def.segments.TD5.elements[8][2]).toBe('transit_direction_code');
    }
  });
});
