import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../service/src/config/load.js';
import { formatIssue } from '../../sdk/typescript/yaml.js';
import { writeTemp } from '../helpers/tmp.js';

async function problems(yaml: string): Promise<string[]> {
  const file = writeTemp('backworks.yaml', yaml);
  try {
    await loadConfig(file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => formatIssue(i).slice(file.length + 1));
  }
}

describe('storage, gateway, fleet and data: in backworks.yaml', () => {
  it('accepts a complete example', async () => {
    expect(await problems(`
gateway: {id: gw-01, site: plant-7}
storage: {path: buffer.db, max_bytes: 512MB, max_age: 7d, durability: full, flush_rows: 500, flush_interval: 50ms}
fleet:
  mqtt: {url: "mqtts://fleet.example:8883", username: gw-01, password: x, client_id: gw-01, keepalive: 20s}
  health_interval: 30s
  commands: {enabled: true, disabled: [reload]}
endpoints:
  line:
    path: /line/:machine
    data: {device: ":machine"}
`)).toEqual([]);
  });

  it('names the file position of each mistake', async () => {
    const found = await problems(`
storage: {durability: sometimes, max_bytes: 12 parsecs}
fleet:
  mqtt: {url: "http://nope"}
  commands: {disabled: [self-destruct]}
endpoints:
  both:
    path: /both
    plugin: sim
    data: {device: press}
  hist:
    path: /hist
    data: {device: press, history: true}
`);
    expect(found.join('\n')).toMatch(/^2:\d+: .*durability/m);
    expect(found.join('\n')).toMatch(/^2:\d+: .*max_bytes/m);
    expect(found.join('\n')).toMatch(/^4:\d+: .*url/m);
    expect(found.join('\n')).toMatch(/^5:\d+: .*(disabled|self-destruct)/m);
  });

  it('refuses fleet without gateway, plugin and data together, and history without a point', async () => {
    const found = (await problems(`
fleet:
  mqtt: {url: "mqtt://localhost"}
plugins:
  sim: {type: builtin, pack: manufacturing/simulator, config: {devices: [{name: d, points: [{name: p, signal: counter}]}]}}
endpoints:
  both:
    path: /both
    plugin: sim
    data: {device: press}
  hist:
    path: /hist
    data: {device: press, history: true}
`)).join('\n');
    expect(found).toMatch(/^2:1: "fleet" needs "gateway: \{id, site\}"/m);
    expect(found).toMatch(/^10:5: endpoint "both" has both "plugin" and "data"/m);
    expect(found).toMatch(/^13:\d+: endpoint "hist": "history: true" needs "point:"/m);
  });
});
