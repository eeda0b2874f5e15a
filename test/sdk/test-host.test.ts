/** createTestHost (the SDK's /testing entry): a batch is stored whole or not at all, as in a gateway. */
import { describe, expect, it } from 'vitest';
import { createTestHost } from '../../sdk/typescript/testing.js';

describe('createTestHost', () => {
  it('stores readings with defaults, and documents and state of one commit together', async () => {
    const host = createTestHost({ pluginName: 'p' });
    await host.emit([{ device: 'd', point: 'x', value: 1 }]);
    expect(host.readings).toEqual([{ device: 'd', point: 'x', value: 1, quality: 'good', ts: expect.any(Number) }]);
    expect(await host.commit!({ documents: [{ type: 'hl7v2', body: 'MSH|' }, { type: 'hl7v2', body: 'MSH|', status: 'refused' }], state: [['seq', '7']] })).toEqual([1, 2]);
    expect(await host.getState('seq')).toBe('7');
    expect(await host.queryDocuments!({ status: 'received' })).toEqual([expect.objectContaining({ id: 1, body: undefined })]);
  });

  it('refuses every write while `refuse` is set, storing nothing', async () => {
    const host = createTestHost();
    host.refuse = true;
    await expect(host.emitAcknowledged([{ device: 'd', point: 'x', value: 1 }])).rejects.toMatchObject({ statusCode: 503 });
    await expect(host.commit!({ documents: [{ type: 't', body: 'b' }], state: [['k', 'v']] })).rejects.toMatchObject({ code: 'BW_ERR_BUFFER_REFUSED' });
    expect([host.readings.length, host.documents.length, host.state.size]).toEqual([0, 0, 0]);
  });
});
