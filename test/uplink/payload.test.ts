import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Topics, topicLevel } from '../../service/src/uplink/topics.js';
import { openBuffer, tempDir } from '../buffer/helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('fleet payloads and topics', () => {
  it('builds one JSON array per device per batch, in seq order, values as they were emitted', async () => {
    const buffer = openBuffer(path.join(dir, 'b.db'));
    const ts = Date.now();
    await buffer.emit('sim', [
      { device: 'press "A"', point: 'temp', value: 21.5, ts },
      { device: 'oven', point: 'door', value: true, quality: 'bad', ts: ts + 1 },
      { device: 'press "A"', point: 'mode\\', value: 'auto\n"x"', quality: 'uncertain', ts: ts + 2 },
      { device: 'oven', point: 'alarm', value: null, quality: 'stale', ts: ts + 3 },
      { device: 'press "A"', point: 'temp', value: -1e-7, ts: ts + 4 },
    ]);
    const batch = buffer.outboxBatch(0, 4)!;
    expect(batch.lastSeq).toBe(4);
    expect(batch.messages.map((m) => [m.device, m.count])).toEqual([['press "A"', 2], ['oven', 2]]);
    expect(JSON.parse(batch.messages[0].payload)).toEqual([
      { device: 'press "A"', point: 'temp', value: 21.5, quality: 'good', ts, seq: 1 },
      { device: 'press "A"', point: 'mode\\', value: 'auto\n"x"', quality: 'uncertain', ts: ts + 2, seq: 3 },
    ]);
    expect(JSON.parse(batch.messages[1].payload)).toEqual([
      { device: 'oven', point: 'door', value: true, quality: 'bad', ts: ts + 1, seq: 2 },
      { device: 'oven', point: 'alarm', value: null, quality: 'stale', ts: ts + 3, seq: 4 },
    ]);
    const rest = buffer.outboxBatch(batch.lastSeq, 4)!;
    expect(JSON.parse(rest.messages[0].payload)).toEqual([{ device: 'press "A"', point: 'temp', value: -1e-7, quality: 'good', ts: ts + 4, seq: 5 }]);
    expect(buffer.outboxBatch(5, 4)).toBeUndefined();
    buffer.close();
  });

  it('keeps every device name a single topic level', () => {
    expect(topicLevel('line1/press#2+x%')).toBe('line1%2Fpress%232%2Bx%25');
    const topics = new Topics('plant', 'gw1');
    expect(topics.data('a/b')).toBe('backworks/plant/gw1/data/a%2Fb');
    expect(topics.commandName('backworks/plant/gw1/cmd/ping')).toBe('ping');
    expect(topics.commandName('backworks/plant/gw2/cmd/ping')).toBeUndefined();
  });
});
