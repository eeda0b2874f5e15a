import type { HealthStatus } from '../../sdk/typescript/index.js';
import type { PluginStatus } from './plugins/managed.js';

export interface HealthReport {
  status: HealthStatus;
  version: string;
  uptime_s: number;
  plugins: Record<string, PluginStatus>;
  /** Sections other parts add: buffer, uplinks, ... */
  [section: string]: unknown;
}

/** unhealthy when a critical plugin is down (HTTP 503); degraded when any plugin is not healthy. */
export function overallStatus(plugins: PluginStatus[]): HealthStatus {
  if (plugins.some((p) => p.critical && p.status === 'unhealthy')) return 'unhealthy';
  if (plugins.some((p) => p.status !== 'healthy')) return 'degraded';
  return 'healthy';
}
