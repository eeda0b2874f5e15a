import mqtt, { type MqttClient } from 'mqtt';
import { decode, encode, toNumber, type UPayload } from '../../service/src/uplink/sparkplug/payload.js';

/** One Sparkplug message as the host saw it. */
export interface SeenMessage {
  topic: string;
  verb: string;
  group: string;
  node: string;
  device?: string;
  qos: number;
  retain: boolean;
  payload: UPayload;
  at: number;
}

/** One DDATA metric resolved to its device and point through the aliases of its DBIRTH. */
export interface SeenReading {
  device: string;
  point: string;
  value: unknown;
  ts: number;
  historical: boolean;
  quality: number | undefined;
}

interface NodeTrack {
  bdSeq: number | undefined;
  lastSeq: number | undefined;
  lastDeathBdSeq: number | undefined;
  born: boolean;
  aliases: Map<number, { device: string; point: string }>;
  devices: Set<string>;
}

/**
 * A Sparkplug host application for tests: subscribes to spBv1.0/#, decodes every message with the
 * Tahu payload and checks the 3.0 rules an edge node must keep. Each broken rule is a violation
 * named by its TCK id, so a failing test says which rule of the specification was broken.
 */
export class SparkplugHost {
  readonly messages: SeenMessage[] = [];
  readonly readings: SeenReading[] = [];
  readonly violations: string[] = [];
  private readonly nodes = new Map<string, NodeTrack>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.receive(topic, payload, packet.qos, packet.retain));
  }

  static async connect(url: string, hostId?: string): Promise<SparkplugHost> {
    const options: mqtt.IClientOptions = { protocolVersion: 5, clientId: `spb-host-${process.pid}-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 };
    if (hostId) options.will = { topic: `spBv1.0/STATE/${hostId}`, payload: Buffer.from(JSON.stringify({ online: false, timestamp: Date.now() })), qos: 1, retain: true };
    const client = await mqtt.connectAsync(url, options);
    const host = new SparkplugHost(client);
    // Retain-as-published: the retain flag seen is the one the edge node set.
    await client.subscribeAsync('spBv1.0/#', { qos: 1, rap: true });
    return host;
  }

  /** Publishes this host's STATE (3.0 JSON, QoS 1, retained). */
  async state(hostId: string, online: boolean): Promise<void> {
    await this.client.publishAsync(`spBv1.0/STATE/${hostId}`, JSON.stringify({ online, timestamp: Date.now() }), { qos: 1, retain: true });
  }

  async rebirth(group: string, node: string): Promise<void> {
    await this.client.publishAsync(`spBv1.0/${group}/NCMD/${node}`, encode({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] }), { qos: 0 });
  }

  async command(group: string, node: string, metrics: NonNullable<UPayload['metrics']>, device?: string): Promise<void> {
    const topic = device ? `spBv1.0/${group}/DCMD/${node}/${device}` : `spBv1.0/${group}/NCMD/${node}`;
    await this.client.publishAsync(topic, encode({ timestamp: Date.now(), metrics }), { qos: 0 });
  }

  of(verb: string, device?: string): SeenMessage[] {
    return this.messages.filter((m) => m.verb === verb && (device === undefined || m.device === device));
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }

  private violate(id: string, detail: string): void {
    this.violations.push(`[${id}] ${detail}`);
  }

  private receive(topic: string, bytes: Buffer, qos: number, retain: boolean): void {
    const parts = topic.split('/');
    if (parts[1] === 'STATE') return;
    const [, group, verb, node, device] = parts;
    let payload: UPayload;
    try { payload = decode(bytes); } catch (err) { this.violate('tck-id-message-flow-edge-node-birth-publish-nbirth-payload', `${topic}: not a Sparkplug Google Protobuf payload: ${(err as Error).message}`); return; }
    const message: SeenMessage = { topic, verb, group, node, device, qos, retain, payload, at: Date.now() };
    this.messages.push(message);
    if (verb === 'NCMD' || verb === 'DCMD') return;
    const key = `${group}/${node}`;
    let track = this.nodes.get(key);
    if (!track) { track = { bdSeq: undefined, lastSeq: undefined, lastDeathBdSeq: undefined, born: false, aliases: new Map(), devices: new Set() }; this.nodes.set(key, track); }
    const metrics = payload.metrics ?? [];
    const seq = payload.seq === undefined || payload.seq === null ? undefined : toNumber(payload.seq);

    if (verb === 'NDEATH') {
      if (metrics.length !== 1 || metrics[0].name !== 'bdSeq') this.violate('tck-id-topics-ndeath-payload', `${topic}: NDEATH must carry only bdSeq, got ${metrics.map((m) => m.name).join(',')}`);
      if (seq !== undefined) this.violate('tck-id-topics-ndeath-seq', `${topic}: NDEATH carries seq ${seq}`);
      if (qos !== 1) this.violate('tck-id-payloads-ndeath-will-message-qos', `${topic}: NDEATH with QoS ${qos}, must be 1`);
      if (retain) this.violate('tck-id-message-flow-edge-node-birth-publish-will-message-will-retained', `${topic}: NDEATH retained`);
      const bdSeq = toNumber(metrics[0]?.value);
      if (track.bdSeq !== undefined && bdSeq !== track.bdSeq) this.violate('tck-id-payloads-ndeath-bdseq', `${topic}: NDEATH bdSeq ${bdSeq}, NBIRTH had ${track.bdSeq}`);
      track.lastDeathBdSeq = bdSeq;
      track.born = false;
      track.devices.clear();
      return;
    }
    const v = verb.toLowerCase();
    // DDEATH's QoS and retain rule is one id of the topics chapter; the others have one each in the payloads chapter.
    if (qos !== 0) this.violate(v === 'ddeath' ? 'tck-id-topics-ddeath-mqtt' : `tck-id-payloads-${v}-qos`, `${topic}: QoS ${qos}, must be 0`);
    if (retain) this.violate(v === 'ddeath' ? 'tck-id-topics-ddeath-mqtt' : `tck-id-payloads-${v}-retain`, `${topic}: retained, must not be`);
    if (payload.timestamp === undefined || payload.timestamp === null) this.violate(`tck-id-payloads-${v}-timestamp`, `${topic}: no timestamp`);
    if (seq === undefined) { this.violate(v === 'ddeath' ? 'tck-id-payloads-ddeath-seq' : 'tck-id-payloads-sequence-num-always-included', `${topic}: no seq`); return; }

    if (verb === 'NBIRTH') {
      if (seq !== 0) this.violate('tck-id-topics-nbirth-seq-num', `${topic}: seq ${seq}, must be 0`);
      const bdSeqMetric = metrics.find((m) => m.name === 'bdSeq');
      if (!bdSeqMetric) this.violate('tck-id-payloads-nbirth-bdseq', `${topic}: no bdSeq metric`);
      const bdSeq = toNumber(bdSeqMetric?.value);
      if (track.born && track.bdSeq !== bdSeq) this.violate('tck-id-operational-behavior-data-commands-rebirth-action-3', `${topic}: a rebirth changed bdSeq ${track.bdSeq} -> ${bdSeq}`);
      if (!track.born && track.lastDeathBdSeq !== undefined && bdSeq !== (track.lastDeathBdSeq + 1) % 256) this.violate('tck-id-topics-nbirth-bdseq-increment', `${topic}: bdSeq ${bdSeq} after an NDEATH with ${track.lastDeathBdSeq}`);
      const rebirth = metrics.find((m) => m.name === 'Node Control/Rebirth');
      if (!rebirth || rebirth.type !== 'Boolean' || rebirth.value !== false || rebirth.alias !== undefined) this.violate('tck-id-payloads-nbirth-rebirth-req', `${topic}: Node Control/Rebirth must be Boolean false without alias`);
      this.checkBirthMetrics(topic, metrics, track, '');
      track.bdSeq = bdSeq;
      track.born = true;
      track.devices.clear();
      track.lastSeq = seq;
      return;
    }
    if (!track.born) { this.violate('tck-id-message-flow-device-birth-publish-nbirth-wait', `${topic}: ${verb} before any NBIRTH`); return; }
    const expected = ((track.lastSeq ?? 0) + 1) % 256;
    if (seq !== expected) this.violate('tck-id-payloads-sequence-num-incrementing', `${topic}: seq ${seq}, expected ${expected}`);
    track.lastSeq = seq;
    if (verb === 'DBIRTH') {
      this.checkBirthMetrics(topic, metrics, track, device);
      track.devices.add(device);
    } else if (verb === 'DDEATH') {
      track.devices.delete(device);
    } else if (verb === 'DDATA' || verb === 'NDATA') {
      if (verb === 'DDATA' && !track.devices.has(device)) this.violate('tck-id-operational-behavior-data-publish-dbirth', `${topic}: DDATA for a device not born`);
      for (const m of metrics) {
        if (m.name) this.violate('tck-id-payloads-alias-data-cmd-requirement', `${topic}: metric name "${m.name}" sent with its alias`);
        const named = m.alias === undefined || m.alias === null ? undefined : track.aliases.get(toNumber(m.alias));
        if (!named || named.device !== (device ?? '')) { this.violate('tck-id-payloads-alias-birth-requirement', `${topic}: alias ${String(m.alias)} not in the birth`); continue; }
        if (verb === 'DDATA') {
          this.readings.push({
            device, point: named.point, value: m.isNull ? null : m.value, ts: toNumber(m.timestamp),
            historical: m.isHistorical === true, quality: m.properties?.Quality ? toNumber(m.properties.Quality.value) : undefined,
          });
        }
      }
    }
  }

  private checkBirthMetrics(topic: string, metrics: NonNullable<UPayload['metrics']>, track: NodeTrack, device: string): void {
    if (device === '') for (const [alias, named] of [...track.aliases]) if (named.device === '') track.aliases.delete(alias);
    for (const m of metrics) {
      if (!m.type) this.violate('tck-id-payloads-metric-datatype-req', `${topic}: metric ${m.name} has no datatype`);
      if (m.alias === undefined || m.alias === null) continue;
      const alias = toNumber(m.alias);
      const existing = track.aliases.get(alias);
      if (existing && (existing.device !== device || existing.point !== m.name)) this.violate('tck-id-payloads-alias-uniqueness', `${topic}: alias ${alias} is already ${existing.device}/${existing.point}`);
      track.aliases.set(alias, { device, point: m.name! });
    }
  }
}
