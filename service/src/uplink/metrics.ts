import { Counter, Gauge, type Registry } from 'prom-client';
import type { FleetLink } from './fleet-link.js';

/** The fleet link's Prometheus metrics on the gateway's registry. */
export class FleetMetrics {
  readonly published: Counter;
  readonly commands: Counter<'command' | 'result'>;
  readonly refused: Counter<'reason'>;
  private link: FleetLink | null = null;

  constructor(registry: Registry) {
    this.published = new Counter({
      name: 'backworks_fleet_readings_published_total',
      help: 'Readings the fleet broker acknowledged (PUBACK)',
      registers: [registry],
    });
    this.commands = new Counter({
      name: 'backworks_fleet_commands_total',
      help: 'Fleet commands answered, by command and result (ok, error)',
      labelNames: ['command', 'result'] as const,
      registers: [registry],
    });
    this.refused = new Counter({
      name: 'backworks_fleet_commands_refused_total',
      help: 'Fleet commands refused before running, by reason (response_topic, rate_limited)',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    const metrics = this;
    new Gauge({
      name: 'backworks_fleet_connected',
      help: '1 while the fleet MQTT link is connected',
      registers: [registry],
      collect() { this.set(metrics.link?.linkState === 'online' ? 1 : 0); },
    });
  }

  watch(link: FleetLink): void {
    this.link = link;
  }
}
