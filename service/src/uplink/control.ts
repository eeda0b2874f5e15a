/**
 * What the fleet link may ask of the gateway when a command arrives. The gateway implements it in
 * one place (gateway.ts), so the uplink never reaches into the plugin manager or the config loader.
 */
export interface GatewayControl {
  /** The same report as GET /health. */
  health(): unknown | Promise<unknown>;
  /** Re-reads backworks.yaml and applies it; resolves with a summary of what changed. */
  reload(): Promise<unknown>;
  /** Restarts one plugin; rejects when there is no such plugin. */
  restartPlugin(name: string): Promise<unknown>;
  /** Writes a point through the plugin that owns the device (the path of PUT /api/devices/:device/points/:point). */
  write(device: string, point: string, value: unknown): Promise<void>;
  /** The running configuration with every secret replaced. */
  redactedConfig(): unknown;
}
