import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BackworksError, ERRORS } from '../../service/src/errors.js';

describe('errors', () => {
  it('the README error table lists exactly the codes of service/src/errors.ts, with their status', () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Error codes'));
    const documented = [...table.matchAll(/^\| `(BW_ERR_[A-Z_]+)` \| (\d+|—) \|/gm)].map((m) => [m[1], m[2]]);
    const defined = Object.entries(ERRORS).map(([code, spec]) => [code, spec.status >= 500 && code.startsWith('BW_ERR_CONFIG') ? '—' : String(spec.status)]);
    expect(documented.map(([c]) => c).sort()).toEqual(Object.keys(ERRORS).sort());
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(defined));
  });

  it('fills the message template and carries code and status', () => {
    const err = new BackworksError('BW_ERR_PLUGIN_TIMEOUT', 'plc', 2000, 'process_endpoint_data');
    expect(err).toMatchObject({ code: 'BW_ERR_PLUGIN_TIMEOUT', status: 504, message: 'plugin "plc" missed its 2000ms deadline in process_endpoint_data' });
  });
});
