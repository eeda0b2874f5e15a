import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { BackworksPlugin, HostContext, PluginHealth, Reading } from '../../../sdk/typescript/index.js';
import { parseDuration } from '../../../sdk/typescript/units.js';
import { Duration } from '../../../sdk/typescript/typebox.js';
import { signals, type Signal } from './signals.js';

const PointSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  signal: Type.Union([Type.Literal('sine'), Type.Literal('ramp'), Type.Literal('random'), Type.Literal('counter')]),
  interval: Type.Optional(Duration('time between readings', '1s')),
  min: Type.Optional(Type.Number({ default: 0 })),
  max: Type.Optional(Type.Number({ default: 100 })),
  period: Type.Optional(Duration('length of one sine or ramp cycle', '60s')),
  writable: Type.Optional(Type.Boolean({ default: false, description: 'accept writes (PUT /api/devices/DEVICE/points/POINT): a written number is held as the point\'s value' })),
}, { additionalProperties: false });

export const SimulatorConfigSchema = Type.Object({
  devices: Type.Array(Type.Object({
    name: Type.String({ minLength: 1 }),
    points: Type.Array(PointSchema, { minItems: 1 }),
  }, { additionalProperties: false }), { minItems: 1 }),
}, { additionalProperties: false });

type SimulatorConfig = Static<typeof SimulatorConfigSchema>;

/**
 * A source of readings without hardware: each point follows a signal (sine, ramp, random, counter)
 * and is emitted at its own interval, exactly as a real connector would.
 */
class Simulator implements BackworksPlugin {
  readonly name = 'simulator';
  readonly version = '0.1.0';
  readonly description = 'Simulated devices emitting sine, ramp, random and counter signals';
  readonly configSchema = SimulatorConfigSchema;
  private timers: NodeJS.Timeout[] = [];
  private emitted = 0;
  /** Writable points by "device\u0000point": the value written, once one was. */
  private readonly held = new Map<string, { value?: number; emitNow: () => void }>();

  initialize(config: unknown, host: HostContext): void {
    // The schema's defaults fill what the file left out (the schema is the one place they are written).
    const { devices } = Value.Default(SimulatorConfigSchema, structuredClone(config)) as SimulatorConfig;
    const started = Date.now();
    for (const device of devices) {
      for (const point of device.points) {
        const signal: Signal = signals[point.signal]({ min: point.min!, max: point.max!, periodMs: parseDuration(point.period!) });
        const key = `${device.name}\u0000${point.name}`;
        const tick = () => {
          const ts = Date.now();
          const value = this.held.get(key)?.value ?? signal(ts - started);
          const reading: Reading = { device: device.name, point: point.name, value, quality: 'good', ts };
          this.emitted++;
          void host.emit([reading]).catch((err: Error) => host.log('warn', 'reading not stored', { err: err.message }));
        };
        if (point.writable) this.held.set(key, { emitNow: tick });
        tick();
        this.timers.push(setInterval(tick, parseDuration(point.interval!)));
      }
    }
  }

  /** A written number replaces the signal of a writable point, and is emitted at once. */
  write(device: string, point: string, value: unknown): void {
    const target = this.held.get(`${device}\u0000${point}`);
    if (!target) throw Object.assign(new Error(`${device}/${point} is not a writable simulated point (set writable: true on it)`), { statusCode: 404 });
    if (typeof value !== 'number' || !Number.isFinite(value)) throw Object.assign(new Error(`${device}/${point} takes a number, got ${JSON.stringify(value)}`), { statusCode: 400 });
    target.value = value;
    target.emitNow();
  }

  healthCheck(): PluginHealth {
    return { status: 'healthy', details: { points: this.timers.length, emitted: this.emitted } };
  }

  shutdown(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }
}

export default function create(): BackworksPlugin {
  return new Simulator();
}
