import type { OutboxRow } from '../buffer/buffer.js';

export interface DeviceMessage {
  device: string;
  /** JSON array of {device, point, value, quality, ts, seq}, in seq order. */
  payload: string;
  count: number;
}

/**
 * Splits a batch of outbox rows into one message per device, keeping seq order within each.
 * Values are stored as JSON text, so a message is assembled from strings without parsing a row.
 */
export function encodeByDevice(rows: OutboxRow[], quote: (s: string) => string = cachedQuote()): DeviceMessage[] {
  const groups = new Map<string, string[]>();
  for (let i = 0; i < rows.length; i++) {
    const [seq, device, point, value, quality, ts] = rows[i];
    let parts = groups.get(device);
    if (!parts) { parts = []; groups.set(device, parts); }
    // quality comes from a fixed set of plain words: no escaping needed.
    parts.push(`{"device":${quote(device)},"point":${quote(point)},"value":${value},"quality":"${quality}","ts":${ts},"seq":${seq}}`);
  }
  const messages: DeviceMessage[] = [];
  for (const [device, parts] of groups) messages.push({ device, payload: `[${parts.join(',')}]`, count: parts.length });
  return messages;
}

/** JSON.stringify for the few device and point names a gateway has, remembered. */
export function cachedQuote(limit = 10_000): (s: string) => string {
  const cache = new Map<string, string>();
  return (s) => {
    let q = cache.get(s);
    if (q === undefined) {
      q = JSON.stringify(s);
      if (cache.size >= limit) cache.clear();
      cache.set(s, q);
    }
    return q;
  };
}
