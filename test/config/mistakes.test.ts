import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../service/src/config/load.js';
import { formatIssue } from '../../service/src/config/source.js';
import { writeTemp } from '../helpers/tmp.js';

/** The mistakes technicians make in backworks.yaml, each with the exact line:column and message. */
const cases: Array<{ mistake: string; yaml: string; expected: string; env?: Record<string, string> }> = [
  {
    mistake: 'tab indentation',
    yaml: 'server:\n\tport: 8080\n',
    expected: '2:1: Tabs are not allowed as indentation',
  },
  {
    mistake: 'wrong type',
    yaml: 'server:\n  port: "eighty"\n',
    expected: '2:9: "port" must be an integer, got "eighty"',
  },
  {
    mistake: 'unknown key',
    yaml: 'server:\n  port: 8080\n  colour: blue\n',
    expected: '3:3: unknown key "colour"; allowed here: host, port, body_limit, tls, metrics',
  },
  {
    mistake: 'misspelt key',
    yaml: 'plugins:\n  sim:\n    type: builtin\n    pack: general/http-ingest\n    critcal: true\n',
    expected: '5:5: unknown key "critcal"; did you mean "critical"?',
  },
  {
    mistake: 'missing ${VAR}',
    yaml: 'plugins:\n  in:\n    type: builtin\n    pack: general/http-ingest\n    config:\n      max_batch: ${MAX_BATCH}\n',
    expected: '6:18: ${MAX_BATCH} is not set; export MAX_BATCH or write ${MAX_BATCH:-default}',
  },
  {
    mistake: 'duplicate endpoint path',
    yaml: 'plugins:\n  in:\n    type: builtin\n    pack: general/http-ingest\nendpoints:\n  a:\n    path: /x\n    plugin: in\n  b:\n    path: /x\n    methods: [GET, POST]\n    plugin: in\n',
    expected: '10:11: GET /x is already served by endpoint "a" (line 7)',
  },
  {
    mistake: 'duplicate endpoint path with differently named parameters',
    yaml: 'endpoints:\n  a:\n    path: /d/:id\n  b:\n    path: /d/:name\n',
    expected: '5:11: GET /d/:name is already served by endpoint "a" (line 3)',
  },
  {
    mistake: 'endpoint naming an undefined plugin',
    yaml: 'plugins:\n  ingest:\n    type: builtin\n    pack: general/http-ingest\nendpoints:\n  a:\n    path: /x\n    plugin: ingset\n',
    expected: '8:13: endpoint "a" names plugin "ingset", which is not defined under plugins; did you mean "ingest"?',
  },
  {
    mistake: 'port out of range',
    yaml: 'server:\n  port: 70000\n',
    expected: '2:9: "port" must be between 1 and 65535, got 70000',
  },
  {
    mistake: 'reserved path',
    yaml: 'endpoints:\n  h:\n    path: /health\n',
    expected: '3:11: "/health" is reserved for the gateway itself (/health, /metrics, /api); choose another path',
  },
  {
    mistake: 'reserved path under /api',
    yaml: 'endpoints:\n  h:\n    path: /api/devices/x\n    methods: [POST]\n',
    expected: '3:11: "/api/devices/x" is reserved for the gateway itself (/health, /metrics, /api); choose another path',
  },
  {
    mistake: 'unknown pack',
    yaml: 'plugins:\n  plc:\n    type: builtin\n    pack: manufacturing/simulater\n',
    expected: '4:11: unknown pack "manufacturing/simulater"; did you mean "manufacturing/simulator"?',
  },
  {
    mistake: 'duration written in words',
    yaml: 'plugins:\n  in:\n    type: builtin\n    pack: general/http-ingest\n    timeout: 2 seconds\n',
    expected: '5:14: "timeout" must be a duration such as 500ms, 2s, 5m, 1h or 7d, got "2 seconds"',
  },
  {
    mistake: 'misspelt enum value inside a plugin config (checked against the plugin schema)',
    yaml: 'plugins:\n  sim:\n    type: builtin\n    pack: manufacturing/simulator\n    config:\n      devices:\n        - name: a\n          points:\n            - {name: t, signal: sinus}\n',
    expected: '9:33: "signal" must be one of sine, ramp, random, counter; got "sinus"; did you mean "sine"?',
  },
  {
    mistake: 'external plugin whose library is missing',
    yaml: 'plugins:\n  x:\n    type: external\n    path: ./plugins/libnothere.so\n',
    expected: '4:11: native library {dir}/plugins/libnothere.so does not exist or is not readable; build it first (npm run build) or fix the path',
  },
  {
    mistake: 'a native plugin\'s config that its own schema refuses (read from the library\'s descriptor)',
    yaml: 'plugins:\n  edi:\n    type: external\n    path: {repo}/packs/logistics/edi-x12/plugins/libedi_plugin.so\n    config:\n      trading_partners:\n        - { id: WALMART, formats: "850" }\n',
    expected: '7:35: "formats" must be an array, got "850"',
  },
  {
    mistake: 'a library that is not a Backworks plugin',
    yaml: 'plugins:\n  x:\n    type: external\n    path: {repo}/test/fixtures/plugins/not-a-plugin-c/target/libnot_a_plugin_c.so\n',
    expected: '4:11: {repo}/test/fixtures/plugins/not-a-plugin-c/target/libnot_a_plugin_c.so: does not export bw_plugin_descriptor(): not a Backworks plugin',
  },
  {
    mistake: 'duplicate plugin name',
    yaml: 'plugins:\n  a:\n    type: builtin\n    pack: general/http-ingest\n  a:\n    type: builtin\n    pack: general/http-ingest\n',
    expected: '5:3: Map keys must be unique',
  },
  {
    mistake: 'builtin plugin given a native path',
    yaml: 'plugins:\n  a:\n    type: builtin\n    path: ./x.so\n',
    expected: '3:11: plugin "a" is builtin and needs "pack:" (one of {packs})',
  },
  {
    mistake: 'alias bomb',
    yaml: 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
    expected: '2:8: refused: aliases expand too far (Excessive alias count indicates a resource exhaustion attack); write the values out instead',
  },
];

const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

type ConfigModules = { loadConfig: typeof loadConfig; ConfigError: typeof ConfigError; formatIssue: typeof formatIssue };
const sources: ConfigModules = { loadConfig, ConfigError, formatIssue };

async function issuesOf(yaml: string, env: Record<string, string> = {}, modules = sources): Promise<{ file: string; lines: string[] }> {
  const file = writeTemp('backworks.yaml', yaml.replaceAll('{repo}', repo));
  try {
    await modules.loadConfig(file, { env });
    return { file, lines: [] };
  } catch (err) {
    if (!(err instanceof modules.ConfigError)) throw err;
    return { file, lines: err.issues.map(modules.formatIssue) };
  }
}

describe('mistakes in backworks.yaml are reported as FILE:LINE:COL: message', () => {
  it.each(cases)('$mistake', async ({ yaml, expected, env }) => {
    const { file, lines } = await issuesOf(yaml, env);
    const { listPacks } = await import('../../service/src/plugins/packs.js');
    const message = expected.replaceAll('{repo}', repo).replace('{dir}', file.replace(/\/backworks\.yaml$/, '')).replace('{packs}', listPacks().join(', '));
    expect(lines[0]).toBe(`${file}:${message}`);
  });

  it('reports every independent mistake at once, in file order', async () => {
    const { lines } = await issuesOf('server:\n  port: 0\n  colour: blue\nlogging:\n  level: loud\n');
    expect(lines.map((l) => l.split(': ')[0].split(':').slice(-2).join(':'))).toEqual(['2:9', '3:3', '5:10']);
  });

  it('refuses a file larger than 1 MiB without parsing it', async () => {
    const { lines } = await issuesOf(`# ${'x'.repeat(1024 * 1024)}\n`);
    expect(lines[0]).toMatch(/:1:1: configuration file is \d+ bytes; the limit is 1048576$/);
  });

  it('the build (dist/, the config validator compiled at build time) reports each mistake as the sources do', async () => {
    const dist = path.join(repo, 'dist/service/src/config');
    expect(fs.existsSync(path.join(dist, 'config-validator.cjs'))).toBe(true);
    const built: ConfigModules = { ...(await import(pathToFileURL(path.join(dist, 'load.js')).href)), ...(await import(pathToFileURL(path.join(dist, 'source.js')).href)) };
    const relative = ({ file, lines }: { file: string; lines: string[] }) => lines.map((l) => l.replaceAll(path.dirname(file), 'DIR'));
    for (const { yaml, env } of cases) expect(relative(await issuesOf(yaml, env, built))).toEqual(relative(await issuesOf(yaml, env)));
  });

  it('names a missing file and what to do', async () => {
    await expect(loadConfig('/nonexistent/backworks.yaml')).rejects.toThrow(
      '/nonexistent/backworks.yaml:1:1: file not found; create it or pass another with -c FILE');
  });
});
