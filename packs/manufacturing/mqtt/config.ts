import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration } from '../../../sdk/typescript/typebox.js';
import { NAME_PATTERN } from '../../../sdk/typescript/units.js';

/** The `config:` of a manufacturing/mqtt plugin (TypeBox: JSON Schema for `check`, types here). */

const Optional = <T extends TSchema>(schema: T) => Type.Optional(schema);
const Strict = { additionalProperties: false } as const;

export const MqttPointSchema = Type.Object({
  name: Type.String({ pattern: NAME_PATTERN }),
  path: Type.String({ minLength: 1, description: 'where the value is in the JSON payload: $ (the whole payload), $.a.b, $.list[0], $["key with spaces"]' }),
  type: Optional(Type.Union([Type.Literal('number'), Type.Literal('boolean'), Type.Literal('string'), Type.Literal('any')], { default: 'any', description: 'expected JSON type; anything else is reported with quality bad' })),
  scale: Optional(Type.Number({ description: 'numbers: value = raw * scale + offset' })),
  offset: Optional(Type.Number()),
  unit: Optional(Type.String()),
  writable: Optional(Type.Boolean({ default: false, description: 'accepts writes (published to the device\'s command_topic)' })),
}, Strict);

export const MqttDeviceSchema = Type.Object({
  name: Type.String({ minLength: 1, description: 'device name; {N} is replaced by level N (0-based) of the topic a message came on' }),
  topic: Type.String({ minLength: 1, description: 'topic filter, with + and # wildcards' }),
  timestamp: Optional(Type.String({ description: 'path of the reading time in the payload (ms since the epoch, or ISO 8601 text); default: arrival time' })),
  command_topic: Optional(Type.String({ description: 'where writes are published as {"point": NAME, "value": VALUE}; {N} as in name' })),
  points: Type.Array(MqttPointSchema, { minItems: 1 }),
}, Strict);

export const MqttConfigSchema = Type.Object({
  broker: Type.Object({
    url: Type.String({ pattern: '^(mqtt|mqtts|ws|wss)://', description: 'e.g. mqtt://10.0.0.5:1883' }),
    username: Optional(Type.String()),
    password: Optional(Type.String()),
    client_id: Optional(Type.String()),
    keepalive: Optional(Duration('MQTT keepalive', '30s')),
    reconnect: Optional(Duration('wait between reconnection attempts', '2s')),
  }, Strict),
  qos: Optional(Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], { default: 1 })),
  devices: Type.Array(MqttDeviceSchema, { minItems: 1 }),
}, Strict);

export type MqttPointConfig = Static<typeof MqttPointSchema>;
export type MqttDeviceConfig = Static<typeof MqttDeviceSchema>;
export type MqttConfig = Static<typeof MqttConfigSchema>;
