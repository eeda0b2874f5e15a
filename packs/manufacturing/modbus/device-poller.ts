import type { HostContext, Quality, Reading } from '../../../sdk/typescript/index.js';
import { PluginError } from '../../../sdk/typescript/index.js';
import { applyScale, decodeRegisters, encodeRegisters, toBoolean, type Value } from './codec.js';
import { LinkError, type Client, type Link } from './link.js';
import { planReads, type ReadRequest } from './planner.js';
import type { Device, Point } from './resolve.js';

/**
 * Polls one device: a timer per poll group, the group's coalesced requests sent through the
 * device's link, values decoded and emitted on change (and again every `report_every`). When the
 * device stops answering it is marked unreachable and retried with exponential back-off, so it
 * costs the others nothing. When it answers some reads with an exception it is degraded, and
 * health names each refused request with its exception.
 *
 * Quality per point: good (read this cycle), stale (the device stopped answering: the last value,
 * no longer current), bad (the device refused the read with an exception, or was never read).
 */

interface PointState {
  value: Value | null;
  quality: Quality;
  /** What was last emitted, for report-on-change. */
  emittedValue: Value | null | undefined;
  emittedQuality: Quality | undefined;
  emittedAt: number;
}

export interface DeviceHealth {
  state: 'starting' | 'polling' | 'degraded' | 'unreachable';
  link: string;
  /** Requests sent to this device (its unit id), attempts and writes included. */
  requests: number;
  failures: number;
  overruns: number;
  lastError?: string;
  /** The end of the last cycle in which every request was answered with data. */
  lastGoodPoll?: string;
  nextAttemptInMs?: number;
  /** Requests the device refused in its latest cycle, each with its exception. */
  refused?: Record<string, string>;
}

const BACKOFF_START_MS = 1000;

export class DevicePoller {
  private readonly plans = new Map<string, ReadRequest[]>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<string>();
  private readonly states = new Map<string, PointState>();
  private readonly byName = new Map<string, Point>();
  private down = false;
  private backoffMs = BACKOFF_START_MS;
  private nextAttempt = 0;
  private stopped = false;
  private health: DeviceHealth;
  /** Per poll group, the requests refused in its latest cycle: request -> exception. */
  private readonly refusals = new Map<string, Map<string, string>>();

  constructor(readonly device: Device, private readonly link: Link, private readonly host: HostContext) {
    for (const [group] of device.groups) {
      const points = device.points.filter((p) => p.group === group);
      if (points.length) this.plans.set(group, planReads(points, device));
    }
    for (const p of device.points) {
      this.byName.set(p.name, p);
      this.states.set(p.name, { value: null, quality: 'bad', emittedValue: undefined, emittedQuality: undefined, emittedAt: 0 });
    }
    this.health = { state: 'starting', link: link.label, requests: 0, failures: 0, overruns: 0 };
  }

  /** Read requests one cycle of each group sends. */
  get requestPlan(): ReadonlyMap<string, readonly ReadRequest[]> {
    return this.plans;
  }

  start(): void {
    for (const [group] of this.plans) {
      const interval = this.device.groups.get(group)!;
      void this.poll(group);
      this.timers.push(setInterval(() => void this.poll(group), interval));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  status(): DeviceHealth {
    const h = { ...this.health };
    if (this.down) h.nextAttemptInMs = Math.max(0, this.nextAttempt - Date.now());
    const refused = Object.fromEntries([...this.refusals.values()].flatMap((m) => [...m]));
    if (Object.keys(refused).length) h.refused = refused;
    return h;
  }

  /** One cycle of one poll group. Returns when every request of the cycle has finished. */
  async poll(group: string): Promise<void> {
    if (this.stopped) return;
    if (this.running.has(group)) { this.health.overruns++; return; }
    if (this.down && Date.now() < this.nextAttempt) return;
    this.running.add(group);
    const out: Reading[] = [];
    const refused = new Map<string, string>();
    try {
      for (const request of this.plans.get(group) ?? []) {
        if (this.stopped) return;
        try {
          const words = await this.read(request);
          const ts = Date.now();
          for (const { point, at } of request.points) this.update(point, decode(words, at, point), 'good', ts, out);
          if (this.down) this.recovered();
        } catch (err) {
          const e = err instanceof LinkError ? err : new LinkError(String(err), 'other');
          this.health.failures++;
          this.health.lastError = `${describe(request)}: ${e.message}`;
          const ts = Date.now();
          if (e.kind === 'exception' || e.kind === 'other') {
            // The device is there but refuses this range: only its points are bad.
            for (const { point } of request.points) this.update(point, null, 'bad', ts, out);
            this.refuse(group, describe(request), e.message, refused);
            continue;
          }
          this.unreachable(e, ts, out);
          break;
        }
      }
      if (!this.down && !this.stopped) {
        this.refusals.set(group, refused);
        const anyRefused = [...this.refusals.values()].some((m) => m.size > 0);
        this.health.state = anyRefused ? 'degraded' : 'polling';
        // a cycle with a refused read is not a good poll, even if the device answered the rest
        if (!refused.size) this.health.lastGoodPoll = new Date().toISOString();
      }
    } finally {
      this.running.delete(group);
      if (out.length && !this.stopped) this.host.emit(out);
    }
  }

  /** A refused request, logged when it starts being refused (not at every cycle). */
  private refuse(group: string, request: string, why: string, refused: Map<string, string>): void {
    refused.set(request, why);
    if (this.refusals.get(group)?.get(request) === why) return;
    this.host.log('warn', `device ${this.device.name} refused ${request}: ${why}`, { device: this.device.name, request, exception: why });
  }

  /** Reads one request, retrying a timeout or a dropped connection `retries` times. */
  private async read(request: ReadRequest): Promise<ArrayLike<number>> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.health.requests++;
        return await this.link.run(this.device.unitId, this.device.timeoutMs, (client) => readTable(client, request));
      } catch (err) {
        const retryable = err instanceof LinkError && (err.kind === 'timeout' || err.kind === 'closed');
        if (!retryable || attempt >= this.device.retries || this.stopped) throw err;
      }
    }
  }

  private unreachable(err: LinkError, ts: number, out: Reading[]): void {
    if (!this.down) {
      this.host.log('warn', `device ${this.device.name} is unreachable: ${err.message}`, { device: this.device.name, link: this.link.label });
      this.backoffMs = BACKOFF_START_MS;
    } else {
      this.backoffMs = Math.min(this.backoffMs * 2, this.device.backoffMaxMs);
    }
    this.down = true;
    this.health.state = 'unreachable';
    // A silent TCP device may have a half-open socket: start over. A serial bus is shared, keep it.
    if (this.link.target.kind === 'tcp') this.link.reset();
    this.nextAttempt = ts + this.backoffMs;
    for (const point of this.device.points) {
      const s = this.states.get(point.name)!;
      if (s.quality === 'good') this.update(point, s.value, 'stale', ts, out);
      else if (s.emittedQuality === undefined) this.update(point, null, 'bad', ts, out); // never read: say so once
    }
  }

  private recovered(): void {
    this.down = false;
    this.backoffMs = BACKOFF_START_MS;
    this.health.state = 'polling';
    this.host.log('info', `device ${this.device.name} answers again`, { device: this.device.name });
  }

  private update(point: Point, value: Value | null, quality: Quality, ts: number, out: Reading[]): void {
    const s = this.states.get(point.name)!;
    s.value = value;
    s.quality = quality;
    if (this.device.report === 'change' && s.emittedQuality === quality && !changed(s.emittedValue, value, point.deadband)
      && ts - s.emittedAt < this.device.reportEveryMs) return;
    s.emittedValue = value;
    s.emittedQuality = quality;
    s.emittedAt = ts;
    out.push({ device: this.device.name, point: point.name, value, quality, ts });
  }

  /** The last value of every point (for the API and tests). */
  snapshot(): Record<string, { value: Value | null; quality: Quality }> {
    const out: Record<string, { value: Value | null; quality: Quality }> = {};
    for (const [name, s] of this.states) out[name] = { value: s.value, quality: s.quality };
    return out;
  }

  /** Writes an engineering value to a writable point; refuses with a 4xx what the point cannot take. */
  async write(pointName: string, value: unknown): Promise<void> {
    const point = this.byName.get(pointName);
    if (!point) throw new PluginError(`device "${this.device.name}" has no point "${pointName}"; points: ${[...this.byName.keys()].join(', ')}`, 404);
    if (point.access === 'read') throw new PluginError(`point "${pointName}" of device "${this.device.name}" is read-only (access: read)`, 400);
    if (typeof value === 'number' && ((point.min !== undefined && value < point.min) || (point.max !== undefined && value > point.max))) {
      throw new PluginError(`point "${pointName}": ${value} is outside its allowed range ${point.min ?? '-inf'}..${point.max ?? '+inf'}`, 400);
    }
    let words: number[];
    try {
      words = point.table === 'coil' ? [toBoolean(value) ? 1 : 0] : encodeRegisters(value, point, point.scale, point.offset);
    } catch (err) {
      throw new PluginError(`point "${pointName}" (${point.type}): ${(err as Error).message}`, 400);
    }
    const multiple = this.device.writeMultiple;
    if (this.down) {
      throw new PluginError(`device "${this.device.name}" is unreachable (${this.health.lastError ?? 'no answer'}); retry once it answers`, 503);
    }
    try {
      this.health.requests++;
      await this.link.run(this.device.unitId, this.device.timeoutMs, async (client) => {
        if (point.table === 'coil') {
          if (multiple) await client.writeCoils(point.address, [words[0] === 1]);
          else await client.writeCoil(point.address, words[0] === 1);
        } else if (point.type === 'bit') {
          // Read-modify-write inside the link's queue, so no poll of ours interleaves.
          const current = (await client.readHoldingRegisters(point.address, 1)).data[0];
          const mask = 1 << point.bit!;
          const next = words[0] ? current | mask : current & ~mask;
          if (multiple) await client.writeRegisters(point.address, [next]);
          else await client.writeRegister(point.address, next);
        } else if (words.length === 1 && !multiple) {
          await client.writeRegister(point.address, words[0]);
        } else {
          await client.writeRegisters(point.address, words);
        }
      });
    } catch (err) {
      const e = err instanceof LinkError ? err : new LinkError(String(err), 'other');
      const status = e.kind === 'exception' && (e.modbusCode === 2 || e.modbusCode === 3) ? 400
        : e.kind === 'timeout' ? 504
        : e.kind === 'connect' || e.kind === 'closed' ? 503
        : 502;
      throw new PluginError(`writing ${pointName} of device "${this.device.name}" failed: ${e.message}`, status);
    }
  }
}

function readTable(client: Client, r: ReadRequest): Promise<ArrayLike<number>> {
  switch (r.table) {
    case 'coil': return client.readCoils(r.start, r.count).then((res) => bitsToWords(res.data, r.count));
    case 'discrete': return client.readDiscreteInputs(r.start, r.count).then((res) => bitsToWords(res.data, r.count));
    case 'input': return client.readInputRegisters(r.start, r.count).then((res) => res.data);
    case 'holding': return client.readHoldingRegisters(r.start, r.count).then((res) => res.data);
  }
}

/** Coils come back as booleans (padded to a whole byte); keep one 0/1 per requested bit. */
function bitsToWords(bits: boolean[], count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = bits[i] ? 1 : 0;
  return out;
}

function decode(words: ArrayLike<number>, at: number, point: Point): Value {
  if (point.table === 'coil' || point.table === 'discrete') return words[at] === 1;
  return applyScale(decodeRegisters(words, at, point), point.scale, point.offset);
}

function changed(before: Value | null | undefined, after: Value | null, deadband: number): boolean {
  if (before === undefined) return true;
  if (typeof before === 'number' && typeof after === 'number') {
    if (Number.isNaN(before) || Number.isNaN(after)) return !(Number.isNaN(before) && Number.isNaN(after));
    return deadband > 0 ? Math.abs(after - before) >= deadband : after !== before;
  }
  return before !== after;
}

function describe(r: ReadRequest): string {
  return `read ${r.table} ${r.start}..${r.start + r.count - 1}`;
}
