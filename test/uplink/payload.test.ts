import { describe, expect, it } from 'vitest';
import type { OutboxRow } from '../../service/src/buffer/buffer.js';
import { encodeByDevice } from '../../service/src/uplink/payload.js';
import { Topics, topicLevel } from '../../service/src/uplink/topics.js';

describe('fleet payloads and topics', () => {
  it('encodes one JSON array per device, in seq order, values as they were emitted', () => {
    const rows: OutboxRow[] = [
      [7, 'press "A"', 'temp', '21.5', 'good', 1000],
      [8, 'oven', 'door', 'true', 'bad', 1001],
      [9, 'press "A"', 'mode', JSON.stringify('auto\n"x"'), 'uncertain', 1002],
      [10, 'oven', 'alarm', 'null', 'stale', 1003],
    ];
    const messages = encodeByDevice(rows);
    expect(messages.map((m) => [m.device, m.count])).toEqual([['press "A"', 2], ['oven', 2]]);
    expect(JSON.parse(messages[0].payload)).toEqual([
      { device: 'press "A"', point: 'temp', value: 21.5, quality: 'good', ts: 1000, seq: 7 },
      { device: 'press "A"', point: 'mode', value: 'auto\n"x"', quality: 'uncertain', ts: 1002, seq: 9 },
    ]);
    expect(JSON.parse(messages[1].payload)).toEqual([
      { device: 'oven', point: 'door', value: true, quality: 'bad', ts: 1001, seq: 8 },
      { device: 'oven', point: 'alarm', value: null, quality: 'stale', ts: 1003, seq: 10 },
    ]);
  });

  it('keeps every device name a single topic level', () => {
    expect(topicLevel('line1/press#2+x%')).toBe('line1%2Fpress%232%2Bx%25');
    const topics = new Topics('plant', 'gw1');
    expect(topics.data('a/b')).toBe('backworks/plant/gw1/data/a%2Fb');
    expect(topics.commandName('backworks/plant/gw1/cmd/ping')).toBe('ping');
    expect(topics.commandName('backworks/plant/gw2/cmd/ping')).toBeUndefined();
  });
});
