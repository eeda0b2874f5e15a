import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Duration } from './strings.js';

export const FLEET_COMMANDS = ['ping', 'health', 'reload', 'plugin-restart', 'config', 'buffer-stats'] as const;

/** A Sparkplug B id: one topic level, no `+`, `#` or `/`. */
const SPARKPLUG_ID = '^[^/+#]+$';

/** `fleet:` — the MQTT 5 link to the fleet (service/src/uplink). */
export const FleetSchema = Type.Object({
  mqtt: Type.Object({
    url: Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://', description: 'broker URL, e.g. mqtts://broker.example:8883' }),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String({ description: 'write ${MQTT_PASSWORD} rather than the secret itself' })),
    ca: Type.Optional(Type.String({ description: 'PEM file of the CA that signed the broker certificate, relative to this file' })),
    cert: Type.Optional(Type.String({ description: 'PEM client certificate (mutual TLS), relative to this file' })),
    key: Type.Optional(Type.String({ description: 'PEM private key of `cert`, relative to this file' })),
    client_id: Type.Optional(Type.String({ minLength: 1, description: 'default: backworks-{site}-{id}' })),
    keepalive: Type.Optional(Duration('MQTT keepalive', '30s')),
  }, { additionalProperties: false }),
  health_interval: Type.Optional(Duration('how often health is published', '30s')),
  batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 1000, description: 'readings read from the outbox per batch; one message per device per batch' })),
  max_inflight: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 16, description: 'data messages awaiting PUBACK at once (also capped by the broker\'s receive maximum)' })),
  reconnect: Type.Optional(Type.Object({
    initial: Type.Optional(Duration('first reconnect delay, doubled after each failed attempt', '500ms')),
    max: Type.Optional(Duration('longest reconnect delay', '30s')),
  }, { additionalProperties: false, default: {} })),
  backworks_data: Type.Optional(Type.Boolean({ default: true, description: 'false sends readings only as Sparkplug DDATA (needs fleet.sparkplug); status, health and commands stay on backworks/{site}/{id}/' })),
  sparkplug: Type.Optional(Type.Object({
    group_id: Type.Optional(Type.String({ pattern: SPARKPLUG_ID, description: 'Sparkplug B group; default: gateway.site' })),
    edge_node_id: Type.Optional(Type.String({ pattern: SPARKPLUG_ID, description: 'Sparkplug B edge node; default: gateway.id' })),
    primary_host_id: Type.Optional(Type.String({ pattern: SPARKPLUG_ID, description: 'births wait for spBv1.0/STATE/{this} online; while it is offline the gateway only stores' })),
    reboot: Type.Optional(Type.Boolean({ default: false, description: 'true lets NCMD "Node Control/Reboot" reload the configuration; otherwise it is refused' })),
  }, { additionalProperties: false, description: 'a Sparkplug B 3.0 edge node beside the backworks/{site}/{id} topics, on its own MQTT session' })),
  commands: Type.Optional(Type.Object({
    enabled: Type.Optional(Type.Boolean({ default: true, description: 'false answers every cmd/{name} with an error' })),
    disabled: Type.Optional(Type.Array(Type.Union(FLEET_COMMANDS.map((c) => Type.Literal(c))), { uniqueItems: true, description: 'commands switched off' })),
    response_prefixes: Type.Optional(Type.Array(Type.String({ pattern: '^[^+#$][^+#]*$' }), { description: 'MQTT 5 response topics must start with one of these (e.g. "backworks/_ops/"); default: any topic name without wildcards' })),
    rate_limit: Type.Optional(Type.Object({
      burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 20, description: 'commands one sender (its response topic) may send at once' })),
      per: Type.Optional(Duration('the time in which a sender\'s burst is refilled', '10s')),
    }, { additionalProperties: false, default: {} })),
  }, { additionalProperties: false, default: {} })),
}, { additionalProperties: false });

export type FleetConfig = Static<typeof FleetSchema>;

type Commands = NonNullable<FleetConfig['commands']>;

/** `fleet:` with every default of the schema filled in. */
export type FleetSettings = FleetConfig & {
  mqtt: FleetConfig['mqtt'] & { keepalive: string };
  health_interval: string;
  batch_size: number;
  max_inflight: number;
  reconnect: { initial: string; max: string };
  commands: Commands & { enabled: boolean; rate_limit: { burst: number; per: string } };
};

/**
 * The schema's defaults filled into a `fleet:` section (a loaded file has them already; a link
 * built by hand, as tests do, gets them here), so the link never writes a default of its own.
 */
export function fleetSettings(fleet: FleetConfig): FleetSettings {
  return Value.Default(FleetSchema, structuredClone(fleet)) as FleetSettings;
}
