import { decode, toNumber } from '../uplink/sparkplug/payload.js';

/** One gateway as the broker shows it, from its Backworks topics, its Sparkplug births, or both. */
export interface GatewayView {
  /** site/id (Backworks) or group/node (Sparkplug); the same when the Sparkplug ids are the defaults. */
  name: string;
  site: string;
  id: string;
  state: 'online' | 'offline' | 'unknown';
  version: string | null;
  health: string | null;
  backlog: number | null;
  last_seen: string;
  via: Array<'backworks' | 'sparkplug'>;
}

/** What `fleet status` subscribes to: retained Backworks status and health, and every Sparkplug node message. */
export const VIEW_TOPICS = ['backworks/+/+/status', 'backworks/+/+/health', 'spBv1.0/+/NBIRTH/+', 'spBv1.0/+/NDEATH/+', 'spBv1.0/+/NDATA/+'];

/**
 * The operator's picture of the fleet, folded from broker messages. A Sparkplug node shows up once
 * it births (births are not retained: `fleet rebirth` asks every node for one).
 */
export class FleetView {
  private readonly gateways = new Map<string, GatewayView>();
  /** Sparkplug aliases of each node's own metrics, from its NBIRTH. */
  private readonly aliases = new Map<string, Map<number, string>>();
  changed = 0;

  list(): GatewayView[] {
    return [...this.gateways.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get size(): number {
    return this.gateways.size;
  }

  /** Folds one message in; false when the topic or payload is not one of ours (ignored). */
  receive(topic: string, payload: Buffer): boolean {
    const parts = topic.split('/');
    try {
      if (parts[0] === 'backworks' && parts.length === 4) return this.backworks(parts[1], parts[2], parts[3], payload);
      if (parts[0] === 'spBv1.0' && parts.length === 4) return this.sparkplug(parts[1], parts[2], parts[3], payload);
    } catch {
      return false;
    }
    return false;
  }

  private entry(site: string, id: string, via: 'backworks' | 'sparkplug'): GatewayView {
    const name = `${site}/${id}`;
    let view = this.gateways.get(name);
    if (!view) {
      view = { name, site, id, state: 'unknown', version: null, health: null, backlog: null, last_seen: new Date().toISOString(), via: [] };
      this.gateways.set(name, view);
    }
    if (!view.via.includes(via)) view.via.push(via);
    view.last_seen = new Date().toISOString();
    this.changed++;
    return view;
  }

  private backworks(site: string, id: string, kind: string, payload: Buffer): boolean {
    if (payload.length === 0) return false; // a cleared retained message
    const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (kind === 'status') {
      const view = this.entry(site, id, 'backworks');
      view.state = body.state === 'online' ? 'online' : 'offline';
      if (typeof body.version === 'string') view.version = body.version;
      return true;
    }
    if (kind === 'health') {
      const view = this.entry(site, id, 'backworks');
      if (typeof body.status === 'string') view.health = body.status;
      const pending = (body.buffer as { pending?: Record<string, number> } | undefined)?.pending;
      if (pending && typeof pending.fleet === 'number') view.backlog = pending.fleet;
      const version = (body.versions as { backworks?: string } | undefined)?.backworks;
      if (version) view.version = version;
      if (typeof body.ts === 'number') view.last_seen = new Date(body.ts).toISOString();
      return true;
    }
    return false;
  }

  private sparkplug(group: string, verb: string, node: string, payload: Buffer): boolean {
    const key = `${group}/${node}`;
    if (verb === 'NDEATH') {
      this.entry(group, node, 'sparkplug').state = 'offline';
      return true;
    }
    const metrics = decode(payload).metrics ?? [];
    if (verb === 'NBIRTH') {
      const aliases = new Map<number, string>();
      for (const m of metrics) if (m.name && m.alias !== undefined && m.alias !== null) aliases.set(toNumber(m.alias), m.name);
      this.aliases.set(key, aliases);
    } else if (verb !== 'NDATA') {
      return false;
    }
    const view = this.entry(group, node, 'sparkplug');
    view.state = 'online';
    for (const m of metrics) {
      const name = m.name ?? (m.alias !== undefined && m.alias !== null ? this.aliases.get(key)?.get(toNumber(m.alias)) : undefined);
      if (name === 'Node Info/Version') view.version = String(m.value);
      else if (name === 'Node Info/Health') view.health = String(m.value);
      else if (name === 'Buffer/Backlog') view.backlog = toNumber(m.value);
    }
    return true;
  }
}

/** The table `fleet status` prints. */
export function formatTable(gateways: GatewayView[]): string {
  const rows = gateways.map((g) => [g.name, g.state, g.version ?? '-', g.health ?? '-', g.backlog === null ? '-' : String(g.backlog), g.last_seen, g.via.join('+')]);
  const header = ['GATEWAY', 'STATE', 'VERSION', 'HEALTH', 'BACKLOG', 'LAST SEEN', 'VIA'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const online = gateways.filter((g) => g.state === 'online').length;
  return [line(header), ...rows.map(line), `${gateways.length} gateways, ${online} online`].join('\n') + '\n';
}
