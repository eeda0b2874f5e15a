import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration } from '../../../sdk/typescript/typebox.js';
import { NAME_PATTERN } from '../../../sdk/typescript/units.js';

/** The `config:` of a manufacturing/opcua plugin (TypeBox: JSON Schema for `check`, types here). */

const Optional = <T extends TSchema>(schema: T) => Type.Optional(schema);
const Strict = { additionalProperties: false } as const;

/** ns=2;s=Name, ns=2;i=42, i=2258, nsu=urn:x;s=Name, g=GUID, b=base64. */
export const NODE_ID_PATTERN = '^((ns=[0-9]+|nsu=[^;]+);)?(i=[0-9]+|s=.+|g=[0-9A-Fa-f-]{36}|b=[A-Za-z0-9+/=]+)$';

export const OpcuaPointSchema = Type.Object({
  name: Type.String({ pattern: NAME_PATTERN }),
  node: Type.String({ pattern: NODE_ID_PATTERN, description: 'NodeId, e.g. ns=2;s=Machine.Temperature or ns=3;i=1001' }),
  mode: Optional(Type.Union([Type.Literal('subscribe'), Type.Literal('poll')], { description: 'monitored item (the server reports changes) or a read every poll_interval' })),
  sampling_interval: Optional(Duration('subscribe: how often the server samples the value (default 1s)')),
  deadband: Optional(Type.Number({ minimum: 0, description: 'subscribe: absolute deadband; smaller changes are not reported' })),
  writable: Optional(Type.Boolean({ default: false })),
  unit: Optional(Type.String()),
}, Strict);

export const OpcuaServerSchema = Type.Object({
  name: Type.String({ pattern: NAME_PATTERN, description: 'device name of this server\'s points' }),
  endpoint: Type.String({ pattern: '^opc\\.tcp://', description: 'e.g. opc.tcp://192.168.1.50:4840' }),
  security_mode: Optional(Type.Union([Type.Literal('None'), Type.Literal('Sign'), Type.Literal('SignAndEncrypt')], { default: 'None' })),
  security_policy: Optional(Type.Union([Type.Literal('None'), Type.Literal('Basic256Sha256')], { description: 'default: None without security, Basic256Sha256 with Sign or SignAndEncrypt' })),
  username: Optional(Type.String({ description: 'without it the session is anonymous' })),
  password: Optional(Type.String()),
  accept_unknown_server_certificate: Optional(Type.Boolean({ default: true, description: 'trust a server certificate on first use; false: only certificates in STATE/pki/trusted/certs' })),
  publishing_interval: Optional(Duration('how often the subscription reports changes', '1s')),
  poll_interval: Optional(Duration('how often points with mode poll are read', '1s')),
  reconnect_max: Optional(Duration('longest wait between reconnection attempts (the back-off starts at 250ms and doubles; each wait is a random point in its upper half)', '30s')),
  keep_alive_count: Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'publishing intervals without data after which the server sends a keep-alive; a subscription silent for 1.5 × publishing_interval × keep_alive_count + 1s is recreated with a new session' })),
  request_timeout: Optional(Duration('how long a connect, read or write may wait for the server; a write that times out answers 504', '10s')),
  points: Type.Array(OpcuaPointSchema, { minItems: 1 }),
}, Strict);

export const OpcuaConfigSchema = Type.Object({
  servers: Type.Array(OpcuaServerSchema, { minItems: 1 }),
}, Strict);

export type OpcuaPointConfig = Static<typeof OpcuaPointSchema>;
export type OpcuaServerConfig = Static<typeof OpcuaServerSchema>;
export type OpcuaConfig = Static<typeof OpcuaConfigSchema>;
