import crypto from 'node:crypto';
import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { parseDuration } from '../../../sdk/typescript/units.js';
import { encode } from '../uplink/sparkplug/payload.js';
import { FleetView, formatTable, VIEW_TOPICS, type GatewayView } from './fleet-view.js';

interface BrokerOptions { url?: string; username?: string; ca?: string; cert?: string; key?: string }
interface TargetOptions { gateway?: string; site?: string; all?: boolean; timeout: string; json?: boolean }

const DEFAULT_URL = 'mqtt://127.0.0.1:1883';

function withBrokerOptions(command: Command): Command {
  return command
    .option('--url <url>', `the fleet broker (default $BACKWORKS_FLEET_URL, else ${DEFAULT_URL})`)
    .option('--username <name>', 'broker user; the password is read from $BACKWORKS_FLEET_PASSWORD')
    .option('--ca <file>', 'PEM CA to trust for mqtts://')
    .option('--cert <file>', 'PEM client certificate (mutual TLS)')
    .option('--key <file>', 'PEM key of --cert');
}

function withTargets(command: Command): Command {
  return command
    .option('--gateway <site/id>', 'one gateway (SITE/ID, or GROUP/NODE for Sparkplug)', (v) => { if (!/^[^/+#]+\/[^/+#]+$/.test(v)) throw new InvalidArgumentError('give it as SITE/ID, e.g. plant/gw-7'); return v; })
    .option('--site <site>', 'every gateway of a site seen on the broker')
    .option('--all', 'every gateway seen on the broker')
    .option('--timeout <duration>', 'how long to wait for the answers', '5s')
    .option('--json', 'print the answers as JSON');
}

/** `backworks fleet …`: the operator's view of the gateways on a broker, and commands to many at once. */
export function registerFleetCommands(program: Command): void {
  const fleet = program.command('fleet').description('watch and command the gateways on a fleet broker (Backworks topics and Sparkplug B)');

  withBrokerOptions(fleet.command('status')
    .description('every gateway seen on the broker: state, version, health, backlog, last seen; exit 1 when the broker is unreachable'))
    .option('--watch', 'keep watching and print again on every change (Ctrl-C ends)')
    .option('--json', 'print {gateways: [...]} as JSON (one line per change with --watch)')
    .option('--wait <duration>', 'longest time to collect retained messages before printing', '3s')
    .action(async (opts: BrokerOptions & { watch?: boolean; json?: boolean; wait: string }) => {
      const client = await connect(opts);
      const view = await collect(client, parseDuration(opts.wait));
      const print = () => process.stdout.write(opts.json ? `${JSON.stringify({ gateways: view.list() })}\n` : formatTable(view.list()));
      print();
      if (!opts.watch) { await client.endAsync(); return; }
      let printed = view.changed;
      const timer = setInterval(() => { if (view.changed !== printed) { printed = view.changed; if (!opts.json) process.stdout.write('\n'); print(); } }, 1000);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      clearInterval(timer);
      await client.endAsync();
    });

  withTargets(withBrokerOptions(fleet.command('cmd')
    .argument('<name>', 'the command: ping, health, reload, plugin-restart, config, buffer-stats')
    .description('send a command to one gateway, a site or all, and collect the answers by correlation data; exit 1 if any failed or did not answer')))
    .option('--args <json>', 'the command\'s arguments as a JSON object, e.g. \'{"plugin": "modbus"}\'', '')
    .option('--reply-topic <topic>', 'where the answers come (must be allowed by the gateways\' fleet.commands.response_prefixes)')
    .action(async (name: string, opts: BrokerOptions & TargetOptions & { args: string; replyTopic?: string }) => {
      const client = await connect(opts);
      const targets = await targetsOf(client, opts);
      const replyTopic = opts.replyTopic ?? `backworks/_ops/${client.options.clientId}`;
      const pending = new Map<string, GatewayView>(targets.map((t) => [crypto.randomUUID(), t]));
      const answers = new Map<string, unknown>();
      client.on('message', (topic, payload, packet) => {
        if (topic !== replyTopic) return;
        const target = pending.get(packet.properties?.correlationData?.toString() ?? '');
        if (!target || answers.has(target.name)) return;
        try { answers.set(target.name, JSON.parse(payload.toString('utf8'))); } catch { answers.set(target.name, { ok: false, error: { code: 'BAD_ANSWER', message: payload.toString('utf8').slice(0, 200) } }); }
      });
      await client.subscribeAsync(replyTopic, { qos: 1 });
      for (const [correlation, t] of pending) {
        await client.publishAsync(`backworks/${t.site}/${t.id}/cmd/${name}`, opts.args, { qos: 1, properties: { responseTopic: replyTopic, correlationData: Buffer.from(correlation) } });
      }
      await until(() => answers.size === targets.length, parseDuration(opts.timeout));
      const results = targets.map((t) => ({ gateway: t.name, answer: answers.get(t.name) ?? null }));
      if (opts.json) process.stdout.write(`${JSON.stringify({ command: name, results })}\n`);
      else for (const r of results) process.stdout.write(`${r.gateway}  ${describeAnswer(r.answer)}\n`);
      if (results.some((r) => !(r.answer as { ok?: boolean } | null)?.ok)) process.exitCode = 1;
      await client.endAsync();
    });

  withTargets(withBrokerOptions(fleet.command('rebirth')
    .description('ask Sparkplug edge nodes for a new birth (NCMD Node Control/Rebirth) and wait for their NBIRTH; exit 1 if any did not')))
    .action(async (opts: BrokerOptions & TargetOptions) => {
      const client = await connect(opts);
      const targets = await targetsOf(client, opts);
      const born = new Set<string>();
      client.on('message', (topic) => {
        const [, group, verb, node] = topic.split('/');
        if (verb === 'NBIRTH') born.add(`${group}/${node}`);
      });
      await client.subscribeAsync('spBv1.0/+/NBIRTH/+', { qos: 0 });
      const command = encode({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
      for (const t of targets) await client.publishAsync(`spBv1.0/${t.site}/NCMD/${t.id}`, command, { qos: 0 });
      await until(() => targets.every((t) => born.has(t.name)), parseDuration(opts.timeout));
      const results = targets.map((t) => ({ gateway: t.name, reborn: born.has(t.name) }));
      if (opts.json) process.stdout.write(`${JSON.stringify({ results })}\n`);
      else for (const r of results) process.stdout.write(`${r.gateway}  ${r.reborn ? 'NBIRTH received' : 'no NBIRTH within the timeout'}\n`);
      if (results.some((r) => !r.reborn)) process.exitCode = 1;
      await client.endAsync();
    });
}

async function connect(opts: BrokerOptions): Promise<MqttClient> {
  const url = opts.url ?? process.env.BACKWORKS_FLEET_URL ?? DEFAULT_URL;
  const read = (file?: string) => (file ? fs.readFileSync(file) : undefined);
  const options: IClientOptions = {
    protocolVersion: 5,
    clientId: `backworks-fleet-${crypto.randomBytes(4).toString('hex')}`,
    username: opts.username,
    password: process.env.BACKWORKS_FLEET_PASSWORD,
    ca: read(opts.ca), cert: read(opts.cert), key: read(opts.key),
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  };
  try {
    return await mqtt.connectAsync(url, options);
  } catch (err) {
    throw new Error(`cannot reach the fleet broker ${url}: ${(err as Error).message}; give it with --url (or $BACKWORKS_FLEET_URL)`);
  }
}

/** Subscribes to the fleet topics and folds messages in until they stop coming (retained ones come first) or `maxMs` passed. */
async function collect(client: MqttClient, maxMs: number): Promise<FleetView> {
  const view = new FleetView();
  let last = Date.now();
  client.on('message', (topic, payload) => { if (view.receive(topic, payload)) last = Date.now(); });
  await client.subscribeAsync(VIEW_TOPICS, { qos: 0 });
  const started = Date.now();
  await until(() => Date.now() - last > 500 && Date.now() - started > 300, maxMs);
  return view;
}

async function targetsOf(client: MqttClient, opts: TargetOptions): Promise<GatewayView[]> {
  const chosen = [opts.gateway, opts.site, opts.all].filter((x) => x !== undefined).length;
  if (chosen !== 1) {
    process.stderr.write('backworks fleet: choose the gateways with exactly one of --gateway SITE/ID, --site SITE or --all\n');
    process.exit(2);
  }
  if (opts.gateway) {
    const [site, id] = opts.gateway.split('/');
    return [{ name: opts.gateway, site, id, state: 'unknown', version: null, health: null, backlog: null, last_seen: '', via: [] }];
  }
  const seen = (await collect(client, 3000)).list().filter((g) => g.state !== 'offline' && (opts.all || g.site === opts.site));
  if (seen.length === 0) process.stderr.write(`no online gateway${opts.site ? ` of site "${opts.site}"` : ''} seen on the broker\n`);
  return seen;
}

function describeAnswer(answer: unknown): string {
  if (answer === null) return 'no answer within the timeout';
  const a = answer as { ok?: boolean; result?: unknown; error?: { code: string; message: string } };
  return a.ok ? `ok  ${JSON.stringify(a.result)}` : `error ${a.error?.code}: ${a.error?.message}`;
}

async function until(done: () => boolean, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
