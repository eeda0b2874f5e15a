#!/usr/bin/env node
// N lightweight fleet links in one process, each a real MQTT 5 connection publishing what a
// gateway does: a retained status (offline as its will), a retained health every HEALTH_S seconds
// and a data message every DATA_MS with READINGS readings. Prints "ready" once every link is
// connected, and "published N" when told "stats" on stdin.
import readline from 'node:readline';
import mqtt from 'mqtt';

const [url, site, from, count] = [process.env.URL, process.env.SITE ?? 'bench', Number(process.env.FROM ?? 0), Number(process.env.COUNT ?? 10)];
const HEALTH_S = Number(process.env.HEALTH_S ?? 10);
const DATA_MS = Number(process.env.DATA_MS ?? 1000);
const READINGS = Number(process.env.READINGS ?? 10);
let published = 0;
const links = [];

function health(i) {
  return JSON.stringify({
    status: 'healthy', ts: Date.now(), uptime_s: Math.round(process.uptime()),
    plugins: { sim: { name: 'sim', status: 'healthy', state: 'running', breaker: 'closed' } },
    buffer: { disk: 'ok', pending: { fleet: i % 7 }, dropped: { total: 0 } },
    process: { rss_bytes: 60_000_000, cpu_percent: 1.5 },
    versions: { backworks: '0.1.0-bench', node: process.versions.node, sqlite: '3.50' },
  });
}

async function start(i) {
  const id = `gw-${i}`;
  const root = `backworks/${site}/${id}`;
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 5, clientId: `bench-${site}-${id}`, reconnectPeriod: 1000, keepalive: 30,
    will: { topic: `${root}/status`, payload: Buffer.from(JSON.stringify({ state: 'offline', version: '0.1.0-bench' })), qos: 1, retain: true },
  });
  const send = (topic, payload, opts) => { client.publish(topic, payload, opts); published++; };
  send(`${root}/status`, JSON.stringify({ state: 'online', version: '0.1.0-bench', since: new Date().toISOString() }), { qos: 1, retain: true });
  send(`${root}/health`, health(i), { qos: 0, retain: true });
  // Spread the timers so the links do not publish in lockstep.
  const offset = Math.random();
  let seq = 0;
  const link = { client, timers: [] };
  setTimeout(() => link.timers.push(setInterval(() => send(`${root}/health`, health(i), { qos: 0, retain: true }), HEALTH_S * 1000)), offset * HEALTH_S * 1000);
  setTimeout(() => link.timers.push(setInterval(() => {
    const ts = Date.now();
    send(`${root}/data/press`, JSON.stringify(Array.from({ length: READINGS }, (_, k) => ({ device: 'press', point: `p${k}`, value: Math.random() * 100, quality: 'good', ts, seq: ++seq }))), { qos: 1 });
  }, DATA_MS)), offset * DATA_MS);
  return link;
}

for (let i = from; i < from + count; i += 25) {
  links.push(...await Promise.all(Array.from({ length: Math.min(25, from + count - i) }, (_, k) => start(i + k))));
}
process.stdout.write('ready\n');
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'stats') process.stdout.write(`published ${published}\n`);
  if (line === 'stop') {
    for (const l of links) { for (const t of l.timers) clearInterval(t); }
    // Clear the retained messages so the next run starts from an empty broker.
    await Promise.all(links.map(async (l, k) => {
      const root = `backworks/${site}/gw-${from + k}`;
      await l.client.publishAsync(`${root}/status`, '', { qos: 1, retain: true });
      await l.client.publishAsync(`${root}/health`, '', { qos: 1, retain: true });
      await l.client.endAsync();
    }));
    process.exit(0);
  }
});
